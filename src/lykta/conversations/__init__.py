"""Anonymous conversations and their messages."""
