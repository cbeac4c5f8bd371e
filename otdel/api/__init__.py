"""The REST API: routers, pagination, the error shape of CONTRACTS.md."""
