"""Personal data under 152-FZ: consents per purpose with their text versions."""
