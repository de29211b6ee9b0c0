"""The chat app: the ``Message`` model and the consumers."""
