"""Lykta's benchmark (``lykta bench``, or ``python -m bench``): see bench/README.md."""
