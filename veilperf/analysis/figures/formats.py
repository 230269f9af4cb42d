"""File formats figures can be written in (kept free of matplotlib so the CLI can list them cheaply)."""

FORMATS = ("png", "pdf", "svg")
