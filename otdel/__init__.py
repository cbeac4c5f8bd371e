"""Otdel: a self-hosted system for running a sales department."""
