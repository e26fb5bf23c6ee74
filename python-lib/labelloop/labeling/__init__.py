"""The labeling webapp: the service behind it, its serving order, HTTP routes, media files and
the DSS backend's core (DESIGN.md sections 4 to 6)."""
