"""Veil's protected services, each with its own costs and metrics (no file I/O, no printing)."""
