"""Persistence: SQLAlchemy Core tables, repositories that implement the domain's ports, migrations."""
