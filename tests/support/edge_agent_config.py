"""The gateway agent's config for one site: its store, a TCP bus and the unit's electricity meter.

Tests that run a real ``GatewayAgent`` against a cloud estate start their TOML with this and add the
meter's extra keys (serial, installer readings) and the tariff and credit tables after it.
"""

from pathlib import Path


def agent_meter_toml(store: Path, gateway_id: int, meter_id: int, wallet_id: int) -> str:
    """``[gateway]``, ``[[buses]]`` and the meter's ``[[meters]]`` table, ending on its wallet line."""
    return f"""
[gateway]
id = "gw-{gateway_id}"
store = "{store}"
[[buses]]
id = "bus"
kind = "tcp"
host = "127.0.0.1"
port = 9
[[meters]]
id = "{meter_id}"
unit = "A1"
utility = "electricity"
profile = "eastron-sdm120"
bus = "bus"
address = 1
wallet = "{wallet_id}"
"""
