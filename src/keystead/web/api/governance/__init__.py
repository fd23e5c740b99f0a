"""Keystead's governance API (/api/v2/governance/...): one module per resource."""
