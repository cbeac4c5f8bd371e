"""Companies, contacts, identities, leads, deals, pipelines, stages, lost reasons, notes."""
