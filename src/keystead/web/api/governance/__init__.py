"""/api/v2/governance/...: Keystead's governance extensions to the Genesys-shaped API."""
