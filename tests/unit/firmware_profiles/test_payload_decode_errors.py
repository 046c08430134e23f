"""A bad payload is a DecodeError naming model, fPort and byte offset: never a guess, never a crash."""

from __future__ import annotations

import pytest

from firmware_profiles import DecodeError, MeterAlarm, decode_uplink, packaged_registry
from firmware_profiles.codecs.axioma_w1 import status_alarms
from firmware_profiles.codecs.kamstrup_wmbus import info_code_alarms
from firmware_profiles.codecs.wmbus import crc16

W1 = "01aeac986a003217000000000000000000008003800054000e4005100048000240020000200000000000000000000000000000"
KAMSTRUP_FULL = "2A442D2C998734761B168D2091D37CAC21576C7802FF207100041308190000441308190000615B7F616713"
KAMSTRUP_COMPACT = "23442D2C998734761B168D2087D19EAD217F1779EDA86AB6710008190000081900007F13"


def _flip(hex_text: str, index: int) -> str:
    raw = bytearray.fromhex(hex_text)
    raw[index] ^= 0x01
    return raw.hex()


BAD = [
    # (case, model, fPort, payload hex, words the message must contain)
    ("empty Milesight frame", "milesight-ws52x", 85, "", ["fPort 85: byte 0", "empty"]),
    (
        "Milesight channel the model lacks",
        "milesight-ws52x",
        85,
        "0374ed080567aa",
        ["byte 4", "0x05 type 0x67"],
    ),
    ("Milesight value cut short", "milesight-ws52x", 85, "0374ed", ["byte 2", "needs 2 byte(s)"]),
    ("Milesight relay state not 0 or 1", "milesight-ws52x", 85, "087002", ["byte 2", "relay state 2"]),
    ("Milesight measurement twice", "milesight-ws52x", 85, "0374ed080374ed08", ["byte 4", "twice"]),
    (
        "EM300-DI newer pulse format",
        "milesight-em300-di",
        85,
        "05e1" + "00" * 8,
        ["byte 0", "0x05 type 0xE1"],
    ),
    ("wrong fPort", "milesight-em300-di", 10, "01755c", ["milesight-em300-di: fPort 10", "expected 85"]),
    ("LoRaWAN frame without fPort", "milesight-em300-di", None, "01755c", ["no fPort", "needs the fPort"]),
    ("LT-22222-L short frame", "dragino-lt22222-l", 2, "04ab04ac", ["fPort 2: byte 4", "11 bytes, got 4"]),
    ("LT-22222-L mode 0", "dragino-lt22222-l", 2, "04ab04ac13101300aaff00", ["byte 10", "working mode 0"]),
    (
        "LT-22222-L hardware 3",
        "dragino-lt22222-l",
        2,
        "04ab04ac13101300aaffc1",
        ["byte 10", "hardware variant 3"],
    ),
    ("W1 short frame", "axioma-qalcosonic-w1", 100, W1[:-2], ["fPort 100: byte 50", "51 bytes, got 50"]),
    ("W1 other version", "axioma-qalcosonic-w1", 100, "02" + W1[2:], ["byte 0", "frame version 0x02"]),
    ("W1 history multiplier", "axioma-qalcosonic-w1", 100, W1[:-2] + "04", ["byte 50", "multiplier 1"]),
    ("Adeunis unknown frame", "adeunis-pulse", 1, "9900", ["fPort 1: byte 0", "frame code 0x99"]),
    ("Adeunis counters cut short", "adeunis-pulse", 1, "46000000", ["byte 4", "0x46 counters frame"]),
    ("Adeunis odd differences", "adeunis-pulse", 1, "5a0000000127000100", ["byte 9", "whole uint16"]),
    ("Adeunis counter below zero", "adeunis-pulse", 1, "5a00000000010002", ["byte 6", "below zero"]),
    ("Adeunis missing timestamp", "adeunis-pulse", 1, "4604", ["byte 2", "timestamp"]),
    (
        "NB-IoT IMEI not BCD",
        "adeunis-pulse-nbiot",
        None,
        "1A22334455667788030000002646",
        ["no fPort: byte 0", "IMEI"],
    ),
    (
        "NB-IoT header only",
        "adeunis-pulse-nbiot",
        None,
        "11223344556677880300000026",
        ["byte 13", "frame code"],
    ),
    (
        "NB-IoT inner error keeps offsets",
        "adeunis-pulse-nbiot",
        None,
        "112233445566778803000000269900",
        ["byte 13"],
    ),
    ("NB-IoT frame with an fPort", "adeunis-pulse-nbiot", 1, "1122334455667788", ["fPort 1", "no fPort"]),
    (
        "wM-Bus L field wrong",
        "kamstrup-multical-21",
        None,
        "2B" + KAMSTRUP_FULL[2:],
        ["byte 0", "L field says 43"],
    ),
    (
        "wM-Bus not Kamstrup",
        "kamstrup-multical-21",
        None,
        KAMSTRUP_FULL[:4] + "2D2D" + KAMSTRUP_FULL[8:],
        ["byte 2"],
    ),
    (
        "wM-Bus not water",
        "kamstrup-multical-21",
        None,
        KAMSTRUP_FULL[:18] + "04" + KAMSTRUP_FULL[20:],
        ["byte 9"],
    ),
    ("wM-Bus wrong key", "kamstrup-multical-21", None, _flip(KAMSTRUP_FULL, 30), ["byte 17", "payload CRC"]),
    (
        "wM-Bus compact mismatch",
        "kamstrup-multical-21",
        None,
        _flip(KAMSTRUP_COMPACT, 30),
        ["byte 17", "CRC"],
    ),
    ("oversized payload", "milesight-ws52x", 85, "00" * 1025, ["byte 1024", "longer than any frame"]),
]


@pytest.mark.parametrize(
    ("model_id", "f_port", "payload", "words"), [c[1:] for c in BAD], ids=[c[0] for c in BAD]
)
def test_bad_payload_is_a_decode_error_saying_where(
    model_id: str, f_port: int | None, payload: str, words: list[str]
) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_uplink(packaged_registry().get(model_id), f_port, bytes.fromhex(payload))
    message = str(caught.value)
    assert message.startswith(f"{model_id}: ")
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (20, "byte 20: compact frame with unknown format signature"),
        (30, "byte 22: compact frame does not rebuild the full frame its CRC names"),
    ],
    ids=["unknown layout", "data that does not match its full-frame CRC"],
)
def test_kamstrup_compact_frame_is_decoded_only_when_it_checks_out(index: int, message: str) -> None:
    # Change one byte, then fix the ELL payload CRC so that only the compact frame's own checks
    # stand between the change and a reading.
    raw = bytearray.fromhex(KAMSTRUP_COMPACT)
    raw[index] ^= 0xFF
    raw[17:19] = crc16(bytes(raw[19:])).to_bytes(2, "little")
    with pytest.raises(DecodeError, match=message):
        decode_uplink(packaged_registry().get("kamstrup-multical-21"), None, bytes(raw))


@pytest.mark.parametrize(
    ("status", "conditions"),
    [
        (0x00, []),
        (0x04, [MeterAlarm.LOW_BATTERY]),
        (0x08, [MeterAlarm.METER_FAULT]),
        (0x10, [MeterAlarm.DRY]),
        (0x14, [MeterAlarm.LOW_BATTERY, MeterAlarm.METER_FAULT]),
        (0x20, [MeterAlarm.LEAK]),
        (0x60, [MeterAlarm.REVERSE_FLOW]),
        (0xA0, [MeterAlarm.BURST]),
        (0x80, [MeterAlarm.FROST]),
    ],
)
def test_w1_status_bits_become_alarms(status: int, conditions: list[MeterAlarm]) -> None:
    assert [alarm.condition for alarm in status_alarms(status)] == conditions


def test_kamstrup_info_codes_become_alarms_with_their_duration() -> None:
    alarms = info_code_alarms(0x000C | (0x3 << 10) | (0x1 << 13))
    assert [(a.condition, a.detail) for a in alarms] == [
        (MeterAlarm.LEAK, "leak for 2-3 days"),
        (MeterAlarm.BURST, "burst for 1-8 hours"),
    ]


def test_adeunis_keep_alive_reports_the_meters_input_only() -> None:
    profile = packaged_registry().get("adeunis-pulse")
    # Alarm bits: tamper A (0x04), leak B (0x20).
    payload = bytes.fromhex("300024" + "00" * 8)
    decoded = decode_uplink(profile, 1, payload)
    assert [alarm.condition for alarm in decoded.alarms] == [MeterAlarm.TAMPER]
    assert decoded.measurements == {}
