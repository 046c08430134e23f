"""The gateway's one error hierarchy: every failure a person must act on says what and where."""


class EdgeError(Exception):
    """Base of every error the gateway agent raises on purpose."""


class ConfigError(EdgeError):
    """The agent's configuration is wrong: the message names the file, the key and what was expected."""


class StoreError(EdgeError):
    """The local store cannot be opened, migrated or written."""
