"""OAuth protocol logic, framework-free, cut by RFC."""
