"""Persistence: SQLAlchemy Core tables, repositories implementing the domain's ports, migrations."""
