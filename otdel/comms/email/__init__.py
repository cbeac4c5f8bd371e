"""The e-mail channel: mailboxes polled over IMAP, mail sent over SMTP, all on the client timeline."""

from otdel.comms.models import Mailbox

# The mailbox password must never reach the change log. Until Mailbox.changelog_exclude lists it in
# models.py, it is added here: this package is imported with the API URLs, before any mailbox is saved.
if "password" not in Mailbox.changelog_exclude:
    Mailbox.changelog_exclude = (*Mailbox.changelog_exclude, "password")
