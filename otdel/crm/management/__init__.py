"""Management commands of the CRM app."""
