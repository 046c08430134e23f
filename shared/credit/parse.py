"""Read credit policies from TOML/JSON documents, naming the key path of anything wrong.

A policy document (TOML shown; JSON has the same shape, with ``null`` allowed for ``false``)::

    utility = "electricity"
    timezone = "Africa/Johannesburg"
    disconnect_threshold_cents = 0
    emergency_credit_cents = 1000
    reconnect_threshold_cents = 2000
    low_credit_warning_cents = 5000        # false turns the warning off
    friendly_windows = [
      { days = ["weekday", "saturday", "sunday", "holiday"], from = "18:00", to = "07:00" },
      { days = ["saturday", "sunday", "holiday"], from = "00:00", to = "24:00" },
    ]

Water and hot water take ``water_debt_cap_cents`` (false: never flag) and refuse the keys that
only make sense for a supply that can be switched off.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import TypeVar

from shared.credit.errors import CreditPolicyError
from shared.credit.policy import DISCONNECTABLE, CreditPolicy
from shared.credit.windows import MINUTES_PER_DAY, DayType, FriendlyWindow
from shared.quantities import Utility

_SWITCH_KEYS = frozenset(
    {"disconnect_threshold_cents", "emergency_credit_cents", "reconnect_threshold_cents", "friendly_windows"}
)
_WATER_KEYS = frozenset({"water_debt_cap_cents"})
_COMMON_KEYS = frozenset({"utility", "timezone", "currency", "low_credit_warning_cents"})
_WINDOW_KEYS = frozenset({"days", "from", "to"})
_HHMM = re.compile(r"(\d{2}):(\d{2})")
_Enum = TypeVar("_Enum", bound=enum.StrEnum)


def parse_credit_policy(
    data: Mapping[str, object], *, utility: Utility | None = None, where: str = "credit_policy"
) -> CreditPolicy:
    """Build a :class:`CreditPolicy` from a TOML/JSON table; unknown keys are refused.

    ``utility`` is taken from the table's ``utility`` key unless given (then the key may be
    omitted). Errors are :class:`CreditPolicyError` starting with the key path, e.g.
    ``credit_policy.friendly_windows[1].to``.
    """
    _require_table(data, where)
    utility = _utility(data, utility, where)
    allowed = _COMMON_KEYS | (_SWITCH_KEYS if utility in DISCONNECTABLE else _WATER_KEYS)
    _refuse_unknown(data, allowed, utility, where)
    fields: dict[str, object] = {"utility": utility}
    for key in ("timezone", "currency"):
        if key in data:
            fields[key] = _text(data[key], f"{where}.{key}")
    for key in ("disconnect_threshold_cents", "emergency_credit_cents", "reconnect_threshold_cents"):
        if key in data:
            fields[key] = _cents(data[key], f"{where}.{key}")
    for key in ("low_credit_warning_cents", "water_debt_cap_cents"):
        if key in data:
            fields[key] = _optional_cents(data[key], f"{where}.{key}")
    if "friendly_windows" in data:
        fields["friendly_windows"] = _windows(data["friendly_windows"], f"{where}.friendly_windows")
    try:
        return CreditPolicy(**fields)  # type: ignore[arg-type]  # each field was checked above
    except CreditPolicyError as error:
        raise CreditPolicyError(f"{where}.{error}") from None


def parse_credit_policies(
    data: Mapping[str, object], *, where: str = "credit"
) -> dict[Utility, CreditPolicy]:
    """Parse a table of policies keyed by utility (``[credit.electricity]``, ``[credit.water]``)."""
    _require_table(data, where)
    policies: dict[Utility, CreditPolicy] = {}
    for key, table in data.items():
        utility = _enum(Utility, key, f"{where}.{key}")
        if not isinstance(table, Mapping):
            raise CreditPolicyError(f"{where}.{key}: expected a table of policy keys, got {table!r}")
        policies[utility] = parse_credit_policy(table, utility=utility, where=f"{where}.{key}")
    return policies


def parse_friendly_window(data: object, *, where: str = "friendly_window") -> FriendlyWindow:
    """Build a :class:`FriendlyWindow` from ``{days = [...], from = "HH:MM", to = "HH:MM"}``."""
    data = _require_table(data, where)
    unknown = sorted(set(data) - _WINDOW_KEYS)
    if unknown:
        raise CreditPolicyError(f"{where}.{unknown[0]}: unknown key; expected days, from and to")
    missing = sorted(_WINDOW_KEYS - set(data))
    if missing:
        raise CreditPolicyError(f"{where}.{missing[0]}: missing; a window needs days, from and to")
    days = data["days"]
    if not isinstance(days, list) or not days:
        raise CreditPolicyError(f"{where}.days: expected a non-empty list such as ['saturday', 'sunday']")
    day_types = frozenset(_enum(DayType, day, f"{where}.days[{i}]") for i, day in enumerate(days))
    start = _minute(data["from"], f"{where}.from", latest=MINUTES_PER_DAY - 1)
    end = _minute(data["to"], f"{where}.to", latest=MINUTES_PER_DAY)
    if end == 0:
        end = MINUTES_PER_DAY  # "to = 00:00" means the coming midnight, the same as "24:00"
    return FriendlyWindow(days=day_types, start_minute=start, end_minute=end)


def _windows(value: object, where: str) -> tuple[FriendlyWindow, ...]:
    if not isinstance(value, list):
        raise CreditPolicyError(f"{where}: expected a list of windows, got {value!r}")
    return tuple(parse_friendly_window(item, where=f"{where}[{i}]") for i, item in enumerate(value))


def _utility(data: Mapping[str, object], given: Utility | None, where: str) -> Utility:
    if "utility" not in data:
        if given is None:
            raise CreditPolicyError(f"{where}.utility: missing; expected one of {_names(Utility)}")
        return given
    named = _enum(Utility, data["utility"], f"{where}.utility")
    if given is not None and named is not given:
        raise CreditPolicyError(f"{where}.utility: {named} does not match the table it is in ({given})")
    return named


def _refuse_unknown(
    data: Mapping[str, object], allowed: frozenset[str], utility: Utility, where: str
) -> None:
    for key in data:
        if key in allowed:
            continue
        if key in _SWITCH_KEYS:
            hint = f"{utility} is never disconnected; use water_debt_cap_cents"
        elif key in _WATER_KEYS:
            hint = f"only water and hot water have a debt cap; {utility} is disconnected instead"
        else:
            hint = f"unknown key; expected one of {', '.join(sorted(allowed))}"
        raise CreditPolicyError(f"{where}.{key}: {hint}")


def _cents(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CreditPolicyError(
            f"{where}: expected a whole number of cents such as 2000 (R20.00), got {value!r}"
        )
    return value


def _optional_cents(value: object, where: str) -> int | None:
    if value is None or value is False:
        return None
    return _cents(value, where)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise CreditPolicyError(f"{where}: expected a string, got {value!r}")
    return value


def _minute(value: object, where: str, *, latest: int) -> int:
    match = _HHMM.fullmatch(value) if isinstance(value, str) else None
    minute = int(match[1]) * 60 + int(match[2]) if match and int(match[2]) < 60 else None
    if minute is None or minute > latest:
        last = "24:00" if latest == MINUTES_PER_DAY else "23:59"
        raise CreditPolicyError(f'{where}: expected a local time "HH:MM" from 00:00 to {last}, got {value!r}')
    return minute


def _enum(kind: type[_Enum], value: object, where: str) -> _Enum:
    if isinstance(value, str) and value in kind._value2member_map_:
        return kind(value)
    raise CreditPolicyError(f"{where}: expected one of {_names(kind)}, got {value!r}")


def _names(kind: type[enum.StrEnum]) -> str:
    return ", ".join(member.value for member in kind)


def _require_table(data: object, where: str) -> Mapping[str, object]:
    if not isinstance(data, Mapping):
        raise CreditPolicyError(f"{where}: expected a table of keys, got {data!r}")
    return data
