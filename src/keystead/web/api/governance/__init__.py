"""/api/v2/governance/…: Keystead's governance extensions (policy, findings, reviews)."""
