"""Wireless M-Bus (EN 13757-3/-4) pieces a meter codec needs: link header, ELL, CRC, records.

The codec takes a telegram as the wM-Bus receiver hands it over once decrypted: the link layer
without its block CRCs (L, C, M, A), the extended link layer (CI 0x8D: CC, ACC, session number,
payload CRC) and the now-plain application data, which starts with its own CI (0x78 full frame,
0x79 compact frame). The payload CRC is checked: with a wrong key, decryption yields noise, and
noise must never become a reading.

Records are DIF [DIFE…] VIF [VIFE…] data. Only what billing needs is interpreted; every other
record is skipped by its declared length, so an unknown record costs nothing and never shifts the
decoding of the next one.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_profiles.codecs.base import Bytes

#: EN 13757-4 CRC-16: polynomial 0x3D65, initial value 0, result inverted.
_CRC_POLY = 0x3D65
CI_ELL_LONG = 0x8D
CI_FULL_FRAME = 0x78
CI_COMPACT_FRAME = 0x79
#: Link header (L, C, M×2, A×6) and the ELL fields after CI 0x8D (CC, ACC, SN×4).
_LINK_HEADER_LENGTH = 10
_ELL_LENGTH = 6
#: Bytes of data for each DIF data field code; 0x0D is variable, 0x0F/0x1F end the records.
_DATA_LENGTHS = {0x0: 0, 0x1: 1, 0x2: 2, 0x3: 3, 0x4: 4, 0x5: 4, 0x6: 6, 0x7: 8, 0x8: 0}
_BCD_LENGTHS = {0x9: 1, 0xA: 2, 0xB: 3, 0xC: 4, 0xE: 6}
_IDLE_FILLER = 0x2F
_MAX_EXTENSIONS = 10  # EN 13757-3 allows at most 10 DIFEs and 10 VIFEs


def crc16(data: bytes) -> int:
    """The EN 13757-4 CRC of ``data``."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ _CRC_POLY) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc ^ 0xFFFF


@dataclass(frozen=True, slots=True)
class LinkHeader:
    """The telegram's sender: manufacturer code, identification number, version, device type."""

    manufacturer: int
    identification: str
    version: int
    device_type: int


@dataclass(frozen=True, slots=True)
class Record:
    """One data record: where its data starts, its DIF/VIF bytes and what they say."""

    offset: int
    dif_vif: bytes
    data_code: int
    function: int
    storage: int
    tariff: int
    subunit: int
    vifs: bytes
    data: bytes


def link_header(telegram: Bytes) -> LinkHeader:
    """Check L against the telegram's length and read who sent it."""
    length = telegram.uint(0, 1, "L field")
    if length != len(telegram) - 1:
        raise telegram.error(0, f"L field says {length} bytes follow, the telegram has {len(telegram) - 1}")
    telegram.need(0, _LINK_HEADER_LENGTH + 1, "link header and CI")
    identification = telegram.data[4:8][::-1].hex()
    if not identification.isdigit():
        raise telegram.error(4, f"identification number {identification} is not BCD")
    return LinkHeader(
        manufacturer=telegram.uint(2, 2, "manufacturer", little=True),
        identification=identification,
        version=telegram.uint(8, 1, "version"),
        device_type=telegram.uint(9, 1, "device type"),
    )


def application_data(telegram: Bytes) -> tuple[Bytes, int | None]:
    """The application data from its CI on, and the ELL access number when there is an ELL.

    With an ELL (CI 0x8D), the payload CRC after the session number must match the data after
    it; otherwise the data starts at the CI right after the link header.
    """
    ci = telegram.uint(_LINK_HEADER_LENGTH, 1, "CI field")
    if ci in (CI_FULL_FRAME, CI_COMPACT_FRAME):
        return telegram.tail(_LINK_HEADER_LENGTH), None
    if ci != CI_ELL_LONG:
        raise telegram.error(_LINK_HEADER_LENGTH, f"CI 0x{ci:02X} is neither an ELL (0x8D) nor 0x78/0x79")
    access_number = telegram.uint(_LINK_HEADER_LENGTH + 2, 1, "ELL access number")
    crc_at = _LINK_HEADER_LENGTH + 1 + _ELL_LENGTH
    stated = telegram.uint(crc_at, 2, "payload CRC", little=True)
    data = telegram.tail(crc_at + 2)
    if len(data) == 0 or crc16(data.data) != stated:
        raise telegram.error(crc_at, "payload CRC does not match: not decrypted, wrong key, or corrupted")
    return data, access_number


def records(data: Bytes, start: int) -> list[Record]:
    """Every data record from ``start`` to the end (or to a manufacturer-specific tail)."""
    found: list[Record] = []
    offset = start
    while offset < len(data):
        dif = data.uint(offset, 1, "DIF")
        if dif == _IDLE_FILLER:
            offset += 1
            continue
        if dif & 0x0F == 0x0F:
            break  # 0x0F/0x1F: the rest is manufacturer-specific data
        record, offset = _record(data, offset)
        found.append(record)
    return found


def layout_headers(layout: bytes) -> list[tuple[bytes, int]]:
    """Split a compact-frame layout (DIF/VIF bytes only) into record headers and data lengths.

    Layouts are constants from meter documentation; one with a variable-length record cannot
    describe a compact frame and is refused.
    """
    headers: list[tuple[bytes, int]] = []
    offset = 0
    while offset < len(layout):
        start = offset
        for _ in range(2):  # the DIF chain, then the VIF chain
            while layout[offset] & 0x80:
                offset += 1
            offset += 1
        code = layout[start] & 0x0F
        assert code in _DATA_LENGTHS or code in _BCD_LENGTHS, f"{layout.hex()}: record of no fixed length"
        headers.append((layout[start:offset], _DATA_LENGTHS.get(code, _BCD_LENGTHS.get(code, 0))))
    return headers


def _extensions(data: Bytes, offset: int, what: str) -> int:
    """The offset after a byte and its chain of extension bytes (bit 7 set means one more)."""
    for count in range(_MAX_EXTENSIONS + 1):
        if not data.uint(offset, 1, what) & 0x80:
            return offset + 1
        offset += 1
        what = f"{what} extension {count + 1}"
    raise data.error(offset, f"{what}: more than {_MAX_EXTENSIONS} extension bytes")


def _record(data: Bytes, start: int) -> tuple[Record, int]:
    dif = data.uint(start, 1, "DIF")
    vif_at = _extensions(data, start, "DIF")
    storage, tariff, subunit = (dif >> 6) & 1, 0, 0
    for index, dife in enumerate(data.data[start + 1 : vif_at]):
        storage |= (dife & 0x0F) << (1 + 4 * index)
        tariff |= ((dife >> 4) & 0x03) << (2 * index)
        subunit |= ((dife >> 6) & 0x01) << index
    vif_end = _extensions(data, vif_at, "VIF")
    code = dif & 0x0F
    length = _data_length(data, code, vif_end)
    data_at = vif_end + 1 if code == 0x0D else vif_end
    record = Record(
        offset=data_at,
        dif_vif=data.data[start:vif_end],
        data_code=code,
        function=(dif >> 4) & 0x03,
        storage=storage,
        tariff=tariff,
        subunit=subunit,
        vifs=data.data[vif_at:vif_end],
        data=data.need(data_at, length, f"data of the record at byte {data.base + start}"),
    )
    return record, data_at + length


def _data_length(data: Bytes, code: int, data_at: int) -> int:
    if code in _DATA_LENGTHS:
        return _DATA_LENGTHS[code]
    if code in _BCD_LENGTHS:
        return _BCD_LENGTHS[code]
    # 0x0D: variable length; the first data byte gives it. Only plain lengths (LVAR 0x00–0xBF).
    lvar = data.uint(data_at, 1, "LVAR")
    if lvar > 0xBF:
        raise data.error(data_at, f"LVAR 0x{lvar:02X} is not a plain length")
    return lvar


def integer_value(record: Record, data: Bytes) -> int:
    """A record's data as an integer: signed little-endian binary or packed BCD."""
    if record.data_code in _BCD_LENGTHS:
        digits = record.data[::-1].hex()
        if not digits.isdigit():
            raise data.error(record.offset, f"BCD value {digits} has a non-decimal digit")
        return int(digits)
    if record.data_code in (0x1, 0x2, 0x3, 0x4, 0x6, 0x7):
        return int.from_bytes(record.data, "little", signed=True)
    raise data.error(record.offset, f"data field code 0x{record.data_code:X} is not an integer")
