"""Small D0010 files for tests, built from body lines with a correct header and trailer."""

from datetime import UTC, datetime

from cloud.d0010 import ImportReport, ImportSettings, ValidatedFlow, import_d0010
from tests.support.paths import FIXTURES

D0010_FIXTURES = FIXTURES / "d0010"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
HEADER = "ZHV|QF00000200|D0010002|M|ABCD|X|QNTY|20250401090000||||OPER|"
# Valid MPAN cores (check digits computed) for building groups.
MPAN_A = "1400000000010"
MPAN_B = "1100000000026"
MPAN_C = "1600001234564"


def group(mpan: str = MPAN_A, *readings: str, meter: str = "S95105287") -> list[str]:
    """An 026 group with one 028 and the given 030/032 lines (a default reading if none)."""
    body = list(readings) or ["030|S|20250330000000|100.0|||T|N|", "032|01|T|"]
    return [f"026|{mpan}|V|", f"028|{meter}|C|", *body]


def flow_file(
    *body: str, header: str = HEADER, trailer: str | None = None, ending: str = "\n"
) -> list[bytes]:
    """The file's lines as bytes; the trailer counts the body unless one is given."""
    if trailer is None:
        flows = sum(1 for line in body if line.startswith("026"))
        trailer = f"ZPT|QF00000200|{len(body)}|CK01|{flows}|20250401090500|"
    return [(line + ending).encode() for line in (header, *body, trailer)]


def run(
    lines: list[bytes], *, strict: bool = False, now: datetime = NOW
) -> tuple[list[ValidatedFlow], ImportReport]:
    """Import ``lines`` as a file named ``test.uff``."""
    return import_d0010(lines, file_name="test.uff", now=now, settings=ImportSettings(strict=strict))


def messages(report: ImportReport) -> list[tuple[int, str, str]]:
    """(line, field, message) of every error, in file order."""
    return [(issue.line, issue.field, issue.message) for issue in report.errors]
