"""One ``[[meters]]`` entry of ``edge.toml``: a Modbus, LoRaWAN or NB-IoT meter, checked.

A meter has exactly one connection, and its key says which: ``bus`` (with ``address``) for Modbus,
``dev_eui`` for LoRaWAN, ``imei`` for NB-IoT. The connection must fit the meter's firmware profile
and the protocol's section (``[lorawan]``, ``[nbiot]``) must be there. Radio meters are not polled:
``uplink_interval_s`` says how often they send, which is what a communication-lost alarm is judged
against. Pulse counters need the meter's own ``pulse_weight``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal

from edge_agent.config.meter_replacement import REPLACEMENT_KEYS, replacement_readings
from edge_agent.config.model import MeterConfig
from edge_agent.config.reader import Section
from firmware_profiles import FirmwareProfileError, Profile, ProfileRegistry, Transport
from shared.journal import Pocket
from shared.quantities import Utility

COMMON_KEYS = {"id", "unit", "utility", "profile", "wallet", "pocket", "serial", *REPLACEMENT_KEYS}
#: Each connection key and the keys only a meter with that connection may have.
CONNECTION_KEYS: dict[str, tuple[Transport, set[str]]] = {
    "bus": (Transport.MODBUS, {"address", "poll_interval_s"}),
    "dev_eui": (Transport.LORAWAN, {"uplink_interval_s", "pulse_weight", "pulse_input", "history_period_s"}),
    "imei": (Transport.NBIOT, {"uplink_interval_s", "pulse_weight", "pulse_input", "history_period_s"}),
}
#: How often a radio meter is expected to send when its entry does not say.
DEFAULT_UPLINK_INTERVAL_S = 3600
_MONTH_S = 31 * 86_400
_DEV_EUI = re.compile(r"[0-9a-f]{16}")
_IMEI = re.compile(r"[0-9]{15,16}")
_SECTION = {Transport.LORAWAN: "[lorawan]", Transport.NBIOT: "[nbiot]"}


@dataclass(frozen=True, slots=True)
class MeterContext:
    """What a meter entry is checked against: the buses, profiles, wallets and radio sections."""

    bus_ids: Collection[str]
    registry: ProfileRegistry
    credit_limits: Mapping[str, int]
    #: The radio protocols whose section the file has.
    radio_sections: Collection[Transport]


def parse_meter(section: Section, context: MeterContext) -> MeterConfig:
    """The meter at ``section``; :class:`ConfigError` naming the file and key when it is wrong."""
    connection = _connection_key(section)
    transport, own_keys = CONNECTION_KEYS[connection]
    section.check_keys(COMMON_KEYS | {connection} | own_keys)
    utility = section.choice("utility", Utility)
    profile = _profile(section, context.registry, transport)
    wallet = section.optional_text("wallet")
    old_final, new_first = replacement_readings(section)
    meter = MeterConfig(
        id=section.text("id"), unit=section.text("unit"), utility=utility, profile=profile.model_id,
        bus=None, address=None, poll_interval_s=DEFAULT_UPLINK_INTERVAL_S, wallet_id=wallet,
        pocket=section.choice("pocket", Pocket, Pocket.for_utility(utility)),
        credit_limit_cents=context.credit_limits.get(wallet, 0) if wallet else 0,
        serial=section.optional_text("serial"), old_meter_final_register=old_final,
        new_meter_first_register=new_first,
    )  # fmt: skip
    if transport is Transport.MODBUS:
        return _modbus(section, context, meter)
    if transport not in context.radio_sections:
        raise section.fail(
            connection, f"a {_SECTION[transport]} section in the file, since this is a {transport} meter"
        )
    weight, pulse_input = _pulse_options(section, profile)
    return dataclasses.replace(
        meter,
        poll_interval_s=section.integer("uplink_interval_s", DEFAULT_UPLINK_INTERVAL_S, low=1, high=_MONTH_S),
        dev_eui=_dev_eui(section) if transport is Transport.LORAWAN else None,
        imei=_imei(section) if transport is Transport.NBIOT else None,
        pulse_weight=weight,
        pulse_input=pulse_input,
        history_period_s=section.integer("history_period_s", low=1, high=_MONTH_S)
        if "history_period_s" in section.table
        else None,
    )


def _modbus(section: Section, context: MeterContext, meter: MeterConfig) -> MeterConfig:
    bus = section.text("bus")
    if bus not in context.bus_ids:
        known = ", ".join(context.bus_ids) or "none"
        raise section.fail("bus", f"the id of a configured bus ({known})", bus)
    return dataclasses.replace(
        meter,
        bus=bus,
        address=section.integer("address", low=1, high=247),
        poll_interval_s=section.integer("poll_interval_s", 60, low=1, high=86_400),
    )


def _connection_key(section: Section) -> str:
    given = [key for key in CONNECTION_KEYS if key in section.table]
    if len(given) != 1:
        found = ", ".join(given) if given else "none of them"
        raise section.fail(
            None, f"exactly one of bus (Modbus), dev_eui (LoRaWAN) or imei (NB-IoT), got {found}"
        )
    return given[0]


def _profile(section: Section, registry: ProfileRegistry, transport: Transport) -> Profile:
    name = section.text("profile")
    try:
        profile = registry.get(name)
    except FirmwareProfileError as error:
        raise section.fail("profile", f"a known firmware profile ({error})", name) from None
    if profile.transport is not transport:
        raise section.fail(
            "profile", f"a {transport} meter's profile ({name} is a {profile.transport} meter)", name
        )
    return profile


def _dev_eui(section: Section) -> str:
    dev_eui = section.text("dev_eui").lower()
    if not _DEV_EUI.fullmatch(dev_eui):
        raise section.fail("dev_eui", "16 hexadecimal digits", section.table["dev_eui"])
    return dev_eui


def _imei(section: Section) -> str:
    imei = section.text("imei")
    if not _IMEI.fullmatch(imei):
        raise section.fail("imei", "15 or 16 decimal digits", imei)
    return imei


def _pulse_options(section: Section, profile: Profile) -> tuple[Decimal | None, str | None]:
    """The pulse weight and input, checked against the model."""
    codec, model = profile.codec, profile.model_id
    weight = section.positive_decimal("pulse_weight")
    if codec.pulses_become is not None and weight is None:
        raise section.fail(
            "pulse_weight", f'the litres or Wh one pulse stands for, e.g. "10" ({model} counts pulses)'
        )
    if codec.pulses_become is None and weight is not None:
        raise section.fail("pulse_weight", f"no pulse weight: {model} does not count pulses", str(weight))
    pulse_input = section.optional_text("pulse_input")
    if pulse_input is not None and pulse_input not in codec.pulse_inputs:
        inputs = ", ".join(codec.pulse_inputs) or "none"
        raise section.fail("pulse_input", f"one of {model}'s inputs ({inputs})", pulse_input)
    return weight, pulse_input
