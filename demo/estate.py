"""The demo estate's simulated meters, and the gateway's local configuration around enrolment.

The cloud's seed (``cloud/seed.py``, :func:`~cloud.seed.demo_meters`) puts every unit's DDS238-2 on
the bus ``demo-bus`` at the unit's number and the bulk SDM630 at 100, gives every unit and the
estate's bulk supply an Axioma W1 water meter on LoRaWAN, and unit 1 an NB-IoT hot-water meter. The
simulators serve exactly those, with loads that differ from unit to unit. What the gateway reads
and bills comes from the cloud once it is enrolled: here we write only what stays on site (the
store, the page, the bus, the radio sections, the OSCORE keys, a pulse meter's pulse weight).
"""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from pathlib import Path

from cloud.seed import (
    BULK_ADDRESS,
    DEMO_BUS,
    DEMO_LORAWAN_APPLICATION,
    HOT_WATER_IMEI,
    UNIT_COUNT,
    DemoMeter,
    demo_meters,
)
from shared.quantities import Utility

#: Average load per unit (W), before the daily shape; unit n uses LOADS_W[n % len(LOADS_W)].
LOADS_W = (1800, 900, 2400, 1200, 3000, 600)
BULK_LOAD_W = 18_000
#: Average water flow per unit (L/h), before the daily shape; unit 6 is filling its pool, so it
#: soon uses up the month's free 6 kL and pays the next block.
WATER_FLOWS_L_PER_H = (35, 45, 25, 30, 20, 400, 40, 30, 35, 25, 15, 15)
#: The bulk water meter also sees the common areas' use (garden, pool, leaks).
COMMON_WATER_FACTOR = Decimal("1.1")
HOT_WATER_L_PER_H = 15
#: The NB-IoT meter counts one litre a pulse on input A (a site detail: the cloud does not hold it).
HOT_WATER_PULSE_WEIGHT = "1"


def simulator_arguments() -> list[str]:
    """``--meter UNIT:MODEL:WATTS`` options for ``python -m demo.simulator``."""
    arguments = []
    for number in range(1, UNIT_COUNT + 1):
        arguments += ["--meter", f"{number}:hiking-dds238-2:{LOADS_W[number % len(LOADS_W)]}"]
    return [*arguments, "--meter", f"{BULK_ADDRESS}:eastron-sdm630:{BULK_LOAD_W}"]


def local_gateway_config(store: Path, modbus_port: int, page_port: int) -> str:
    """``edge.toml`` before enrolment: the settings that stay on site (store, page, buses)."""
    return f"""# Written by `make demo`; enrolment adds the gateway id, [cloud] and the cloud's meters.
[gateway]
id = "not-enrolled-yet"
name = "Demo estate gateway"
store = "{store}"

[web]
host = "127.0.0.1"
port = {page_port}

[[buses]]
id = "{DEMO_BUS}"
kind = "tcp"
host = "127.0.0.1"
port = {modbus_port}
"""


def radio_arguments(mqtt_port: int, coap_port: int, meter_keys: Path) -> list[str]:
    """``--lorawan`` and ``--nbiot`` options (and where to send) for ``python -m demo.radio``."""
    arguments = ["--mqtt", f"127.0.0.1:{mqtt_port}", "--application", DEMO_LORAWAN_APPLICATION,
                 "--coap", f"127.0.0.1:{coap_port}"]  # fmt: skip
    for meter in demo_meters():
        if meter.dev_eui is not None:
            arguments += ["--lorawan", f"{meter.dev_eui}:{_water_flow(meter)}"]
        elif meter.imei is not None:
            arguments += ["--nbiot", f"{meter.imei}:{HOT_WATER_L_PER_H}:{meter_keys}"]
    return arguments


def _water_flow(meter: DemoMeter) -> Decimal:
    if meter.unit is not None:
        return Decimal(WATER_FLOWS_L_PER_H[meter.unit - 1])
    return sum((Decimal(flow) for flow in WATER_FLOWS_L_PER_H), Decimal(0)) * COMMON_WATER_FACTOR


def make_oscore_keys(gateway_dir: Path, meter_dir: Path) -> None:
    """A fresh OSCORE context for the NB-IoT meter, as commissioning provisions it on both sides.

    The gateway keeps its copy under ``[nbiot] oscore_dir``/IMEI; the meter sends with id 07 and
    the gateway with 00 (aiocoap's ``settings.json``; each side then keeps its sequence numbers).
    """
    secret, salt = secrets.token_bytes(16), secrets.token_bytes(8)
    for folder, sender, recipient in ((gateway_dir, "00", "07"), (meter_dir, "07", "00")):
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        settings = {"sender-id_hex": sender, "recipient-id_hex": recipient,
                    "secret_hex": secret.hex(), "salt_hex": salt.hex()}  # fmt: skip
        (folder / "settings.json").write_text(json.dumps(settings))


def radio_gateway_config(mqtt_port: int, coap_port: int, oscore_dir: Path, hot_water: tuple[str, int]) -> str:
    """What an installer adds to ``edge.toml`` after enrolment for the radio meters.

    ``hot_water`` is the NB-IoT meter's cloud id and how often it sends (seconds of the agent's
    clock): its pulse weight and input are site details the cloud does not hold.
    """
    meter_id, uplink_interval_s = hot_water
    return f"""
# Added by `make demo` after enrolment: the radio meters' site settings.
[lorawan]
host = "127.0.0.1"
port = {mqtt_port}
application_ids = ["{DEMO_LORAWAN_APPLICATION}"]

[nbiot]
host = "127.0.0.1"
port = {coap_port}
oscore_dir = "{oscore_dir}"

[[meters]]
id = "{meter_id}"
unit = "Unit 1"
utility = "{Utility.HOT_WATER.value}"
profile = "adeunis-pulse-nbiot"
imei = "{HOT_WATER_IMEI}"
pulse_weight = "{HOT_WATER_PULSE_WEIGHT}"
pulse_input = "A"
uplink_interval_s = {uplink_interval_s}
"""
