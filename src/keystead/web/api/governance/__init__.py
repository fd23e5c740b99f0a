"""/api/v2/governance/...: Keystead's governance extensions, one module per resource."""
