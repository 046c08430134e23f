"""The packaged profile files, one TOML file per meter model (loaded with importlib.resources)."""
