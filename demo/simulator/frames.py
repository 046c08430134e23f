"""Damage an outgoing Modbus frame the way a bad line or a broken gateway does.

RTU frames carry a CRC, so a corrupt RTU answer is the full frame with its CRC broken: the
client's framer must reject it. Modbus TCP has no CRC (TCP checks the bytes); what a client sees
there from a faulty RS485-to-TCP gateway is a well-formed frame with the wrong contents, so a
corrupt TCP answer to a read is one register short, and to a write echoes the wrong address.
"""

from __future__ import annotations

from collections.abc import Callable

#: MBAP header: transaction (2), protocol (2), length (2), unit (1).
_MBAP_LENGTH = 7
_READ_FUNCTIONS = frozenset({0x03, 0x04})


def unit_of(packet: bytes, rtu: bool) -> int | None:
    """The unit address a frame is from/to, or ``None`` if it is too short to tell."""
    index = 0 if rtu else _MBAP_LENGTH - 1
    return packet[index] if len(packet) > index else None


def corrupt_rtu(packet: bytes) -> bytes:
    """The frame with its CRC's last byte inverted."""
    return packet[:-1] + bytes([packet[-1] ^ 0xFF])


def corrupt_tcp(packet: bytes) -> bytes:
    """A read answer one register short, or a write answer echoing the wrong address."""
    if len(packet) < _MBAP_LENGTH + 2:
        return packet
    header, pdu = packet[:_MBAP_LENGTH], packet[_MBAP_LENGTH:]
    function_code = pdu[0]
    if function_code in _READ_FUNCTIONS and len(pdu) >= 4:
        pdu = bytes([function_code, pdu[1] - 2]) + pdu[2:-2]
    elif len(pdu) >= 3:
        pdu = bytes([function_code, pdu[1] ^ 0xFF]) + pdu[2:]
    length = (len(pdu) + 1).to_bytes(2, "big")
    return header[:4] + length + header[6:] + pdu


def corrupting_tracer(
    rtu: bool, corrupt_units: Callable[[], frozenset[int]]
) -> Callable[[bool, bytes], bytes]:
    """A pymodbus ``trace_packet`` hook that damages answers sent by the units named."""

    def trace(sending: bool, packet: bytes) -> bytes:
        if not sending or unit_of(packet, rtu) not in corrupt_units():
            return packet
        return corrupt_rtu(packet) if rtu else corrupt_tcp(packet)

    return trace
