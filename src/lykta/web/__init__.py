"""Pages, static files, security headers and locale negotiation."""
