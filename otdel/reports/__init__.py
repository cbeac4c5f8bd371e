"""Reports: selectors for every report, and their API."""
