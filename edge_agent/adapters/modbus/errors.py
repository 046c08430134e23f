"""What can go wrong on a Modbus bus, as one error type with a subclass per kind of failure.

pymodbus' exceptions, pyserial's and the OS's never leave :mod:`edge_agent.adapters.modbus`: the
link turns each into one of these, and the coordinator turns these into a reading's failure.
"""

from __future__ import annotations

import enum

from edge_agent.errors import EdgeError


class FailureKind(enum.StrEnum):
    """Why a meter could not be read or switched, as the daemon journals it."""

    TIMEOUT = "timeout"  # the meter did not answer in time
    EXCEPTION = "exception"  # the meter answered with a Modbus exception code
    CORRUPT = "corrupt"  # bytes came back that were not a valid answer (CRC, framing, contents)
    BUS_UNAVAILABLE = "bus_unavailable"  # the serial device or TCP peer is not there


class BusError(EdgeError):
    """A Modbus transaction failed; ``kind`` says how."""

    kind: FailureKind = FailureKind.CORRUPT


class BusTimeout(BusError):
    """No answer within the response timeout."""

    kind = FailureKind.TIMEOUT


class ExceptionAnswer(BusError):
    """The meter answered with a Modbus exception code (e.g. 0x02 illegal address)."""

    kind = FailureKind.EXCEPTION

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class CorruptAnswer(BusError):
    """An answer arrived but was not valid: bad CRC or framing, wrong unit, function or length."""

    kind = FailureKind.CORRUPT


class BusUnavailable(BusError):
    """The bus cannot be reached right now; reconnection is attempted with bounded backoff."""

    kind = FailureKind.BUS_UNAVAILABLE
