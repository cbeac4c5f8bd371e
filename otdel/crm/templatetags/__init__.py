"""Template tags and filters of the CRM pages."""
