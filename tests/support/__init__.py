"""What tests build on: apps and their clock, clients, tokens, the management API, the CLI and
servers on loopback ports. Modules by topic; fixtures stay in the conftest.py files."""
