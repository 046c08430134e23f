"""Kamstrup MULTICAL 21 / flowIQ water meter telegrams (wireless M-Bus, mode C1).

The meter sends full frames (CI 0x78: every record with its DIF/VIF) and, in between, compact
frames (CI 0x79) that carry only the data, a 2-byte *format signature* (the EN 13757-4 CRC of the
full frame's DIF/VIF bytes) and a 2-byte CRC of the full frame they stand for. A compact frame is
decoded only when its signature is one of the layouts below, and then only when the rebuilt full
frame matches the CRC it carries: an unknown layout is a decode error, not a guess.

Kamstrup's info codes are record 02 FF 20 (manufacturer-specific VIF 0x20, 16 bits): bit 0 DRY,
bit 1 REVERSE, bit 2 LEAK, bit 3 BURST are the conditions now; bits 4–6, 7–9, 10–12 and 13–15 say
for how long each has lasted (the wmbusmeters project's multical21 driver documents both, with the
telegrams our tests use).
"""

from __future__ import annotations

from decimal import Decimal

from firmware_profiles.codecs import wmbus
from firmware_profiles.codecs.base import Alarm, Bytes, Frame, MeterAlarm
from shared.quantities import Measurement

#: "KAM" as the three-letter manufacturer code packs into 16 bits (EN 13757-3).
MANUFACTURER_KAMSTRUP = 0x2C2D
#: wM-Bus device types of water meters: warm water, water, hot water, cold water.
WATER_DEVICE_TYPES = frozenset({0x06, 0x07, 0x15, 0x16})
#: DIF/VIF layouts of MULTICAL 21 full frames seen in published telegrams (wmbusmeters tests).
KNOWN_LAYOUTS = (
    bytes.fromhex("02FF2004134413615B6167"),
    bytes.fromhex("02FF20041392013BA1015B8101E7FF0F"),
)
#: Record headers and data lengths of each known layout, by format signature; built at import so a
#: mistyped layout fails at once.
_LAYOUTS = {wmbus.crc16(layout): wmbus.layout_headers(layout) for layout in KNOWN_LAYOUTS}
_INFO_CODES = b"\x02\xff\x20"
_CONDITIONS = (
    (0x0001, 4, MeterAlarm.DRY, "dry"),
    (0x0002, 7, MeterAlarm.REVERSE_FLOW, "reverse flow"),
    (0x0004, 10, MeterAlarm.LEAK, "leak"),
    (0x0008, 13, MeterAlarm.BURST, "burst"),
)
_DURATIONS = ("", "1-8 hours", "9-24 hours", "2-3 days", "4-7 days", "8-14 days", "15-21 days", "22-31 days")
_VOLUME_VIFS = range(0x10, 0x18)


def decode(telegram: Bytes) -> Frame:
    """Volume (litres) and info-code alarms of one decrypted Kamstrup water meter telegram."""
    header = wmbus.link_header(telegram)
    if header.manufacturer != MANUFACTURER_KAMSTRUP:
        raise telegram.error(2, f"manufacturer 0x{header.manufacturer:04X} is not Kamstrup (KAM)")
    if header.device_type not in WATER_DEVICE_TYPES:
        raise telegram.error(9, f"device type 0x{header.device_type:02X} is not a water meter")
    data, access_number = wmbus.application_data(telegram)
    ci = data.uint(0, 1, "application CI")
    if ci == wmbus.CI_COMPACT_FRAME:
        data = _expand_compact(data)
    elif ci != wmbus.CI_FULL_FRAME:
        raise data.error(0, f"application CI 0x{ci:02X} is neither a full (0x78) nor a compact (0x79) frame")
    measurements: dict[Measurement, Decimal] = {}
    alarms: tuple[Alarm, ...] = ()
    for record in wmbus.records(data, 1):
        if record.dif_vif == _INFO_CODES:
            alarms = info_code_alarms(wmbus.integer_value(record, data))
        elif _is_current_volume(record):
            if Measurement.VOLUME_L in measurements:
                raise data.error(record.offset, "a second current volume record")
            measurements[Measurement.VOLUME_L] = _litres(record, data)
    return Frame(
        measurements=measurements,
        alarms=alarms,
        device_id=header.identification,
        frame_counter=access_number,
    )


def info_code_alarms(code: int) -> tuple[Alarm, ...]:
    """One alarm per condition present now, with how long it has lasted."""
    alarms = []
    for bit, shift, condition, name in _CONDITIONS:
        if code & bit:
            lasted = _DURATIONS[(code >> shift) & 0x07]
            alarms.append(Alarm(condition, f"{name} for {lasted}" if lasted else name))
    return tuple(alarms)


def _is_current_volume(record: wmbus.Record) -> bool:
    # Instantaneous value (function 0), storage 0, no tariff or subunit, volume VIF, no VIFE.
    return (
        record.function == 0
        and record.storage == 0
        and record.tariff == 0
        and record.subunit == 0
        and len(record.vifs) == 1
        and record.vifs[0] in _VOLUME_VIFS
    )


def _litres(record: wmbus.Record, data: Bytes) -> Decimal:
    value = wmbus.integer_value(record, data)
    if value < 0:
        raise data.error(record.offset, f"volume {value} is negative")
    # VIF 0x10–0x17: volume in 10^(n-6) m³, which is 10^(n-3) litres.
    exponent = (record.vifs[0] & 0x07) - 3
    return Decimal(value).scaleb(exponent) if exponent < 0 else Decimal(value * 10**exponent)


def _expand_compact(data: Bytes) -> Bytes:
    """The full frame a compact frame stands for, checked against the CRC it carries."""
    signature = data.uint(1, 2, "format signature", little=True)
    full_crc = data.uint(3, 2, "full frame CRC", little=True)
    layout = _LAYOUTS.get(signature)
    if layout is None:
        raise data.error(1, f"compact frame with unknown format signature 0x{signature:04X}")
    full = bytearray()
    offset = 5
    for header, length in layout:
        full += header + data.need(offset, length, "compact frame data")
        offset += length
    if offset != len(data) or wmbus.crc16(bytes(full)) != full_crc:
        raise data.error(3, "compact frame does not rebuild the full frame its CRC names")
    return Bytes(bytes([wmbus.CI_FULL_FRAME]) + bytes(full), data.context, base=data.base)
