"""The admin console: server-rendered pages over the same use cases as the management API."""
