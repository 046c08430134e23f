"""Mutated D0010 files (byte flips, dropped/duplicated lines, truncation, junk) always yield a report.

Whatever the damage, the importer never raises, every reading it hands out is one the writer
accepts (so each passed every data-item check), and its counts agree with what it handed out.
"""

from datetime import UTC, datetime

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cloud.d0010 import D0010Import, FlowHeader, ImportStatus, Reading, write_d0010
from tests.support.paths import FIXTURES

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SAMPLES = [
    (FIXTURES / "d0010" / name).read_bytes().splitlines(keepends=True)
    for name in ("all_groups.uff", "partial.uff")
]
HEADER = FlowHeader("QX00000001", "X", "QNTY", "M", "ABCD", datetime(2026, 1, 1))


def _flip(data: st.DataObject, lines: list[bytes]) -> None:
    index = data.draw(st.integers(0, len(lines) - 1))
    line = bytearray(lines[index])
    if line:
        at = data.draw(st.integers(0, len(line) - 1))
        line[at] = data.draw(st.sampled_from(b"|0123456789.AZ \r\n\x00\xff"))
    lines[index] = bytes(line)


def _drop(data: st.DataObject, lines: list[bytes]) -> None:
    del lines[data.draw(st.integers(0, len(lines) - 1))]


def _duplicate(data: st.DataObject, lines: list[bytes]) -> None:
    index = data.draw(st.integers(0, len(lines) - 1))
    lines.insert(index, lines[index])


def _junk(data: st.DataObject, lines: list[bytes]) -> None:
    index = data.draw(st.integers(0, len(lines)))
    lines.insert(index, data.draw(st.binary(max_size=60)))


def _truncate(data: st.DataObject, lines: list[bytes]) -> None:
    joined = b"".join(lines)
    cut = data.draw(st.integers(0, len(joined)))
    lines[:] = joined[:cut].splitlines(keepends=True) or [b""]


MUTATIONS = [_flip, _drop, _duplicate, _junk, _truncate]


def _import(lines: list[bytes]) -> tuple[list[Reading], ImportStatus, int]:
    importer = D0010Import("fuzz.uff", now=NOW)
    readings = [reading for flow in importer.flows(lines) for reading in flow.readings]
    report = importer.report()
    assert report.errors_total >= len(report.errors)
    return readings, report.status, report.readings


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_files_always_give_a_report(data: st.DataObject) -> None:
    lines = list(data.draw(st.sampled_from(SAMPLES)))
    for mutation in data.draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=4)):
        if lines:
            mutation(data, lines)

    readings, status, counted = _import(lines)
    event(f"status {status.value}")

    if status is not ImportStatus.REJECTED:
        assert counted == len(readings)
    # Every reading handed out survives the writer's checks and a second import unchanged.
    again, _, _ = _import(list(write_d0010(readings, HEADER, completed_at=datetime(2026, 1, 1))))
    assert [r.register_reading for r in again] == [r.register_reading for r in readings]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=30))
def test_arbitrary_bytes_give_a_rejected_or_empty_report(lines: list[bytes]) -> None:
    readings, status, _ = _import(lines)

    assert status is ImportStatus.REJECTED or readings == []
