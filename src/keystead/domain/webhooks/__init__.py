"""Webhooks (Standard Webhooks): the declared events, endpoints and their subscriptions, fan-out
through the transactional outbox, and the delivery channel's rules (log, disable)."""
