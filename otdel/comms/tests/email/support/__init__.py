"""Real mail servers on loopback for the e-mail tests: pymap (IMAP), aiosmtpd (SMTP), a cuttable proxy."""
