"""The one error hierarchy of the D0010 package.

Bad *input files* never raise: they become issues in the import report. These exceptions are for
callers that misuse the API (a naive clock, a report asked for before the file was read) and for
the writer, which refuses readings it cannot encode as a valid flow.
"""


class D0010Error(Exception):
    """Base of every error this package raises."""


class ImportUsageError(D0010Error):
    """The caller used the importer out of order or with an argument it cannot work with."""


class WriteError(D0010Error):
    """A reading or header cannot be written as a valid D0010 record; the message names which."""


class FieldError(D0010Error):
    """One data item broke its rule. Internal: the parser turns it into a report issue, never lets it out."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
