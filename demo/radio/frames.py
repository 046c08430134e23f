"""The radio meters' frames and ChirpStack's event around a LoRaWAN one, encoded. Pure.

Each encoder is the inverse of a firmware profile's codec (``firmware_profiles/codecs``), checked by
decoding what it makes (``tests/unit/demo``):

- Axioma Qalcosonic W1 "enhanced 24 h" frame (fPort 100): version, meter time, status, the volume
  logged 23 hours before the last whole hour, then 23 hourly deltas of 14 bits each.
- Adeunis Pulse NB-IoT: the NB-IoT header (BCD IMEI, signal quality, frame counter) before the
  Pulse's 0x46 frame (both inputs' counters).
- ChirpStack v4's ``up`` event as its MQTT integration publishes it (JSON).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime

W1_F_PORT = 100
_W1_DELTAS = 23
_W1_DELTA_BITS = 14
_W1_STATUS_OK = 0x00
_PULSE_STATUS_CONFIGURED = 0x20
_SIGNAL_QUALITY = 0x03


def qalcosonic_w1_frame(meter_time_unix_s: int, hourly_volumes_l: Sequence[int]) -> bytes:
    """A W1 frame for 24 whole-hour volumes, oldest first, the last at the hour of ``meter_time``."""
    if len(hourly_volumes_l) != _W1_DELTAS + 1:
        raise ValueError(f"a W1 frame carries {_W1_DELTAS + 1} hourly volumes, got {len(hourly_volumes_l)}")
    packed = 0
    for index in range(_W1_DELTAS):
        delta = hourly_volumes_l[index + 1] - hourly_volumes_l[index]
        if not 0 <= delta < 1 << _W1_DELTA_BITS:
            raise ValueError(f"hour {index + 1}: {delta} L does not fit the frame's 14-bit delta")
        packed |= delta << (index * _W1_DELTA_BITS)
    return (
        bytes([0x01])
        + meter_time_unix_s.to_bytes(4, "little")
        + bytes([_W1_STATUS_OK])
        + hourly_volumes_l[0].to_bytes(4, "little")
        + packed.to_bytes(41, "little")  # 23 × 14 bits and a 6-bit history multiplier of 0
    )


def adeunis_pulse_nbiot_frame(imei: str, frame_counter: int, count_a: int, count_b: int = 0) -> bytes:
    """An NB-IoT Pulse's counters frame (0x46) behind Adeunis' NB-IoT header."""
    header = bytes.fromhex(imei.rjust(16, "0")) + bytes([_SIGNAL_QUALITY]) + frame_counter.to_bytes(4, "big")
    return (
        header
        + bytes([0x46, _PULSE_STATUS_CONFIGURED])
        + count_a.to_bytes(4, "big")
        + count_b.to_bytes(4, "big")
    )


def chirpstack_up_event(
    application_id: str, dev_eui: str, payload: bytes, *, f_cnt: int, f_port: int, at: datetime
) -> bytes:
    """ChirpStack v4's ``up`` event for one frame heard by one gateway."""
    event = {
        "deduplicationId": str(uuid.uuid4()),
        "time": at.isoformat(),
        "deviceInfo": {
            "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
            "tenantName": "Protea Gardens",
            "applicationId": application_id,
            "applicationName": "Water meters",
            "deviceProfileId": "5e3c8d0a-1f7b-4c2e-9a6d-0b4f8e2c7a15",
            "deviceProfileName": "Axioma Qalcosonic W1",
            "deviceName": f"water-{dev_eui[-4:]}",
            "devEui": dev_eui,
            "tags": {},
        },
        "devAddr": f"0{dev_eui[-7:]}",
        "dr": 5,
        "fCnt": f_cnt,
        "fPort": f_port,
        "confirmed": False,
        "data": base64.b64encode(payload).decode(),
        "rxInfo": [{"gatewayId": "0016c001f153a14c", "uplinkId": f_cnt, "rssi": -87, "snr": 7.5}],
        "txInfo": {
            "frequency": 868100000,
            "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7, "codeRate": "CR_4_5"}},
        },
    }
    return json.dumps(event).encode()
