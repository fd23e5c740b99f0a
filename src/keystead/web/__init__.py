"""The ASGI app: protocol routes (/oauth/...), management API (/api/v2/...)."""
