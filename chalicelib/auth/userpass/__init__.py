"""The userpass auth method: users with a bcrypt-hashed password log in by name."""
