"""Governance over each client's life after creation: policy, evidence, findings, reviews,
planned deactivation, deletion approval and the notices that tell people about them."""
