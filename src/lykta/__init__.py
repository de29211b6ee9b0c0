"""Lykta: anonymous chat between young people and outreach social workers."""

__version__ = "0.1.0"
