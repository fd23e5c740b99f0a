"""Delivery channels of the outbox (domain/outbox.py ``Channel``): e-mail over SMTP today;
webhooks join as another module and another entry in the runtime's channel map."""
