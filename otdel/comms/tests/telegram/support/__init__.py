"""A fake Telegram Bot API server and fixtures for the Telegram channel tests."""
