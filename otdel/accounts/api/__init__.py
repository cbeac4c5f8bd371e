"""REST API of accounts: API tokens and user administration."""
