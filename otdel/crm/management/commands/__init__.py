"""``manage.py`` commands of the CRM app."""
