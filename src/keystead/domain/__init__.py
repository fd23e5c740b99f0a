"""Pure rules of client management: no I/O, no frameworks."""
