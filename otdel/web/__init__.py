"""Base templates, vendored static files and navigation of the web UI."""
