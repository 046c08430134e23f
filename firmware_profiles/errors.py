"""The one error hierarchy of ``firmware_profiles``.

Callers catch :class:`FirmwareProfileError` to handle anything this package refuses; the
subclasses say whether a profile file, a lookup or a meter's answer was at fault.
"""

from __future__ import annotations


class FirmwareProfileError(Exception):
    """Anything this package refuses: a bad profile file, an unknown model, undecodable registers."""


class ProfileFileError(FirmwareProfileError, ValueError):
    """A profile file that cannot be used, with the file, the key path and what was expected."""

    def __init__(self, source: str, key_path: str | None, problem: str) -> None:
        self.source = source
        self.key_path = key_path
        self.problem = problem
        where = f"{source}: at {key_path}" if key_path else source
        super().__init__(f"{where}: {problem}")


class DuplicateProfileError(FirmwareProfileError):
    """Two profile files declare the same model id."""

    def __init__(self, model_id: str, first_source: str, second_source: str) -> None:
        self.model_id = model_id
        self.sources = (first_source, second_source)
        super().__init__(
            f"model id {model_id!r} is declared twice: in {first_source} and in {second_source}; "
            "model ids must be unique, rename one of them"
        )


class UnknownProfileError(FirmwareProfileError, LookupError):
    """A model id that no loaded profile declares."""

    def __init__(self, model_id: str, known_ids: tuple[str, ...]) -> None:
        self.model_id = model_id
        self.known_ids = known_ids
        known = ", ".join(known_ids) or "(none loaded)"
        super().__init__(f"no firmware profile for model id {model_id!r}; known model ids: {known}")


class UnsupportedMeasurementError(FirmwareProfileError, LookupError):
    """A measurement, or a relay, asked of a meter model that does not provide it."""


class DecodeError(FirmwareProfileError, ValueError):
    """Registers or a payload from a meter that cannot be turned into values.

    For registers: a wrong count, NaN, a value out of range. For payloads: the message names the
    model, the fPort and the byte offset where decoding stopped.
    """


class WrongTransportError(FirmwareProfileError, LookupError):
    """A Modbus map asked of a meter that sends frames, or a payload codec asked of a Modbus meter."""


class InvalidOptionError(FirmwareProfileError, ValueError):
    """A per-meter decode option that cannot be right (a zero pulse weight, an input that is not there)."""
