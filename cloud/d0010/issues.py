"""Collects the errors and warnings of one import, keeping a bounded number of each.

A file with a million bad lines must not grow the report without limit, so past the configured
maximum an issue is only counted. The raw line kept with each issue is shortened for the same
reason.
"""

from cloud.d0010.model import Issue

RAW_CHARS_MAX = 300


class IssueLog:
    """Errors and warnings in file order, with totals that include the ones not kept."""

    __slots__ = ("errors", "errors_total", "kept_max", "warnings", "warnings_total")

    def __init__(self, kept_max: int) -> None:
        self.kept_max = kept_max
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.errors_total = 0
        self.warnings_total = 0

    def error(self, line: int, field: str, message: str, raw: bytes) -> None:
        """Record an error on ``line``."""
        self.errors_total += 1
        if len(self.errors) < self.kept_max:
            self.errors.append(Issue(line, field, message, _text(raw)))

    def warning(self, line: int, field: str, message: str, raw: bytes) -> None:
        """Record a warning on ``line``."""
        self.warnings_total += 1
        if len(self.warnings) < self.kept_max:
            self.warnings.append(Issue(line, field, message, _text(raw)))


def _text(raw: bytes) -> str:
    """The raw line as text for the report; undecodable bytes are shown, not dropped."""
    text = raw[:RAW_CHARS_MAX].decode("utf-8", "backslashreplace")
    return text + "…" if len(raw) > RAW_CHARS_MAX else text
