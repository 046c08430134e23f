"""The agent's configuration: ``edge.toml`` read once at start, checked, and handed down."""

from edge_agent.config.loader import load_config, load_config_file
from edge_agent.config.model import BusConfig, BusKind, CloudConfig, EdgeConfig, MeterConfig, SerialLine

__all__ = [
    "BusConfig",
    "BusKind",
    "CloudConfig",
    "EdgeConfig",
    "MeterConfig",
    "SerialLine",
    "load_config",
    "load_config_file",
]
