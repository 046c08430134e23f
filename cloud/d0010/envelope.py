"""The ZHV header and ZPT trailer records that wrap every DTC flow file."""

from datetime import datetime

from cloud.d0010.errors import FieldError
from cloud.d0010.items import DateTimes, free_text, record_fields
from cloud.d0010.model import FlowHeader, TrailerCheck

FLOW_VERSION = b"D0010002"
HEADER_FIELDS = 12
TRAILER_FIELDS = 6

_ALNUM_UPPER = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def parse_header(fields: list[bytes], dates: DateTimes) -> FlowHeader:
    """The ZHV record of a D0010 version 002 file."""
    f = record_fields(fields, HEADER_FIELDS)
    if f[2] != FLOW_VERSION:
        shown = f[2][:20].decode("ascii", "backslashreplace")
        raise FieldError("ZHV flow id", f"expected D0010002 (D0010 version 002), got '{shown}'")
    free_text(f[8], "ZHV sending application", 5)
    free_text(f[9], "ZHV receiving application", 5)
    free_text(f[10], "ZHV broadcast", 1)
    free_text(f[11], "ZHV test flag", 4)
    return FlowHeader(
        file_id=_identifier(f[1], "ZHV file id", 10),
        from_role=_identifier(f[3], "ZHV from role", 1),
        from_participant=_identifier(f[4], "ZHV from participant", 4),
        to_role=_identifier(f[5], "ZHV to role", 1),
        to_participant=_identifier(f[6], "ZHV to participant", 4),
        created_at=dates.anytime(f[7], "ZHV file created date & time"),
        sending_application=f[8].decode(),
        receiving_application=f[9].decode(),
        broadcast=f[10].decode(),
        test_flag=f[11].decode(),
    )


class TrailerRecord:
    """The values a ZPT record declares, before they are compared with the file."""

    __slots__ = ("checksum", "completed_at", "file_id", "flow_count", "group_count")

    def __init__(self, fields: list[bytes], dates: DateTimes) -> None:
        f = record_fields(fields, TRAILER_FIELDS)
        self.file_id = _identifier(f[1], "ZPT file id", 10)
        self.group_count = _count(f[2], "ZPT total group count")
        free_text(f[3], "ZPT checksum", 20)
        self.checksum = f[3].decode()
        self.flow_count = _count(f[4], "ZPT flow count")
        self.completed_at: datetime = dates.anytime(f[5], "ZPT file completed date & time")

    def check(self, group_count_found: int, flow_count_found: int) -> TrailerCheck:
        """The declared counts set against the counted ones."""
        return TrailerCheck(
            group_count_declared=self.group_count,
            group_count_found=group_count_found,
            flow_count_declared=self.flow_count,
            flow_count_found=flow_count_found,
            checksum=self.checksum,
            completed_at=self.completed_at,
            ok=self.group_count == group_count_found and self.flow_count == flow_count_found,
        )


def _identifier(raw: bytes, field: str, length_max: int) -> str:
    if not raw or len(raw) > length_max or raw.upper().translate(None, _ALNUM_UPPER):
        shown = raw[:20].decode("ascii", "backslashreplace")
        raise FieldError(field, f"expected 1 to {length_max} letters or digits, got '{shown}'")
    return raw.decode()


def _count(raw: bytes, field: str) -> int:
    if not raw.isdigit() or len(raw) > 10:
        shown = raw[:20].decode("ascii", "backslashreplace")
        raise FieldError(field, f"expected a whole number of up to 10 digits, got '{shown}'")
    return int(raw)
