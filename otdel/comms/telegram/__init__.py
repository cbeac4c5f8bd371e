"""The Telegram channel: bot registration, the webhook, incoming messages and files, replies."""
