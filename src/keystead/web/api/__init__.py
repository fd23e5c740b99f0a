"""The Genesys-shaped management API (/api/v2/...)."""
