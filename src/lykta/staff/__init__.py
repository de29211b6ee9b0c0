"""Staff accounts, login and sessions."""
