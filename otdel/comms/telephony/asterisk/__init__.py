"""Asterisk over the Manager Interface: the asyncio AMI client, the call tracker and its runner."""
