"""Retention: purging what a team no longer keeps, and the statistics that survive it."""
