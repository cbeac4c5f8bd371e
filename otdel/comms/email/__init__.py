"""The e-mail channel: mailboxes polled over IMAP, mail sent over SMTP, all on the client timeline."""
