"""UK DTC D0010 meter-reading flows: streaming import with validation, a per-file report, and export.

Pure: lines come in as bytes and the current time is a parameter; the storage layer opens files,
reads the clock and writes the database. See ``docs/d0010.md``.
"""

from collections.abc import Iterable
from datetime import datetime

from cloud.d0010.errors import D0010Error, ImportUsageError, WriteError
from cloud.d0010.model import (
    FlowHeader,
    GroupCounts,
    ImportReport,
    ImportSettings,
    ImportStatus,
    Issue,
    MeterGroup,
    Reading,
    TrailerCheck,
    ValidatedFlow,
)
from cloud.d0010.parser import D0010Import
from cloud.d0010.writer import write_d0010


def import_d0010(
    lines: Iterable[bytes], *, file_name: str, now: datetime, settings: ImportSettings | None = None
) -> tuple[list[ValidatedFlow], ImportReport]:
    """Import a whole file at once: every valid 026 group, then the report.

    Holds all groups in memory; for large files iterate ``D0010Import(...).flows(lines)`` instead.
    """
    importer = D0010Import(file_name, now=now, settings=settings)
    flows = list(importer.flows(lines))
    return flows, importer.report()


__all__ = [
    "D0010Error",
    "D0010Import",
    "FlowHeader",
    "GroupCounts",
    "ImportReport",
    "ImportSettings",
    "ImportStatus",
    "ImportUsageError",
    "Issue",
    "MeterGroup",
    "Reading",
    "TrailerCheck",
    "ValidatedFlow",
    "WriteError",
    "import_d0010",
    "write_d0010",
]
