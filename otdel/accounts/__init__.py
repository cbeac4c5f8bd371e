"""Users, roles, departments, phone extensions, working hours."""
