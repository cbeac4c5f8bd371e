"""REST API of the CRM: contacts, companies, leads, deals, pipelines, notes."""
