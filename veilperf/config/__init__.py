"""Configuration layer: YAML files to validated, typed objects (never imports SimPy)."""
