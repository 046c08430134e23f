"""``quantify-provision decode``: show an installer what a meter's payload decodes to.

The installer pastes the payload a LoRaWAN network server, NB-IoT platform or wM-Bus receiver
shows (hex, or base64 as in ChirpStack's ``data``) and sees, as JSON, the measurements in our
vocabulary, alarms, relay state, history and meter time, exactly as the gateway will decode it.
A payload that does not decode prints the decode error (model, fPort, byte offset) and exits 1.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from firmware_profiles import (
    DecodedUplink,
    DecodeError,
    DecodeOptions,
    FirmwareProfileError,
    Profile,
    Transport,
    decode_uplink,
    packaged_registry,
)

EXIT_OK = 0
EXIT_DECODE_ERROR = 1
EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    """Add the ``decode`` sub-command to ``quantify-provision``."""
    parser = subparsers.add_parser(
        "decode",
        help="show what a LoRaWAN/NB-IoT/wM-Bus payload decodes to",
        description="Decode one meter payload with a firmware profile and print the result as JSON.",
    )
    parser.add_argument("--profile", required=True, metavar="NAME", help="model id, e.g. milesight-ws52x")
    parser.add_argument("--fport", type=int, metavar="N", help="LoRaWAN fPort the payload came on")
    parser.add_argument("--base64", action="store_true", help="PAYLOAD is base64 (ChirpStack's data field)")
    parser.add_argument("--pulse-weight", metavar="UNITS", help="litres or Wh per pulse, e.g. 10")
    parser.add_argument("--pulse-input", metavar="NAME", help="input of a multi-input pulse device, e.g. B")
    parser.add_argument("--history-period-s", type=int, metavar="S", help="seconds between logged samples")
    parser.add_argument("payload", metavar="PAYLOAD", help="the payload as hex (spaces allowed) or base64")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Decode ``args.payload`` and print the outcome; the exit status says which it was."""
    try:
        profile = packaged_registry().get(args.profile)
        if profile.transport is Transport.MODBUS:
            return _usage(
                f"{profile.model_id} is a Modbus meter; decode takes LoRaWAN, NB-IoT or wM-Bus payloads"
            )
        payload = _payload_bytes(args.payload, as_base64=args.base64)
        options = DecodeOptions(
            pulse_weight=_decimal(args.pulse_weight),
            pulse_input=args.pulse_input,
            history_period_s=args.history_period_s,
        )
    except (FirmwareProfileError, ValueError) as error:
        return _usage(str(error))
    try:
        decoded = decode_uplink(profile, args.fport, payload, options=options)
    except DecodeError as error:
        _print(
            {"profile": profile.model_id, "fport": args.fport, "payload": payload.hex(), "error": str(error)}
        )
        return EXIT_DECODE_ERROR
    except FirmwareProfileError as error:
        return _usage(str(error))
    _print(as_json(profile, args.fport, payload, decoded))
    return EXIT_OK


def as_json(profile: Profile, f_port: int | None, payload: bytes, decoded: DecodedUplink) -> dict[str, Any]:
    """The decoded uplink as plain JSON values: decimals as exact strings, times as UTC ISO 8601."""
    return {
        "profile": profile.model_id,
        "fport": f_port,
        "payload": payload.hex(),
        "measurements": {str(m): str(value) for m, value in decoded.measurements.items()},
        "alarms": [
            {"kind": str(alarm.kind), "condition": str(alarm.condition), "detail": alarm.detail}
            for alarm in decoded.alarms
        ],
        "relay_closed": decoded.relay_closed,
        "relay_states": dict(decoded.relay_states),
        "history": [
            {"at": _iso(point.at_unix_s), "measurement": str(point.measurement), "value": str(point.value)}
            for point in decoded.history
        ],
        "device_time": None if decoded.device_time_unix_s is None else _iso(decoded.device_time_unix_s),
        "device_id": decoded.device_id,
        "frame_counter": decoded.frame_counter,
    }


def _payload_bytes(text: str, *, as_base64: bool) -> bytes:
    if as_base64:
        try:
            return base64.b64decode(text.strip(), validate=True)
        except binascii.Error as error:
            raise ValueError(f"PAYLOAD is not base64: {error}") from None
    digits = "".join(text.split()).removeprefix("0x").removeprefix("0X")
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise ValueError(f"PAYLOAD {text!r} is not hex: expected pairs of 0-9/a-f digits") from None


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"--pulse-weight {text!r} is not a decimal number such as 10 or 0.5") from None


def _iso(unix_s: int) -> str:
    return datetime.fromtimestamp(unix_s, UTC).isoformat().replace("+00:00", "Z")


def _print(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _usage(message: str) -> int:
    sys.stderr.write(f"quantify-provision decode: {message}\n")
    return EXIT_USAGE
