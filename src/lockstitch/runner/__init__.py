"""Singer execution: plugin virtualenvs, tap/target config files, connection checks and discovery."""
