"""Credit policies from TOML/JSON: what an operator writes, and the errors they get back."""

from __future__ import annotations

import tomllib

import pytest

from shared.credit import (
    CreditPolicy,
    CreditPolicyError,
    DayType,
    FriendlyWindow,
    parse_credit_policies,
    parse_credit_policy,
)
from shared.quantities import Utility

ESTATE_TOML = """
[credit.electricity]
timezone = "Africa/Johannesburg"
disconnect_threshold_cents = 0
emergency_credit_cents = 1000
reconnect_threshold_cents = 2500
low_credit_warning_cents = 6000
friendly_windows = [
  { days = ["weekday", "saturday", "sunday", "holiday"], from = "18:00", to = "07:00" },
  { days = ["saturday", "sunday", "holiday"], from = "00:00", to = "24:00" },
]

[credit.water]
water_debt_cap_cents = 50000
low_credit_warning_cents = false
"""


def test_estate_document_parses_into_one_policy_per_utility() -> None:
    policies = parse_credit_policies(tomllib.loads(ESTATE_TOML)["credit"])
    electricity = policies[Utility.ELECTRICITY]
    assert (electricity.emergency_credit_cents, electricity.reconnect_threshold_cents) == (1000, 2500)
    assert electricity.low_credit_warning_cents == 6000
    assert electricity.friendly_windows[1] == FriendlyWindow(
        days=frozenset({DayType.SATURDAY, DayType.SUNDAY, DayType.HOLIDAY}), start_minute=0, end_minute=1440
    )
    water = policies[Utility.WATER]
    assert (water.water_debt_cap_cents, water.low_credit_warning_cents) == (50000, None)


def test_defaults_match_the_design() -> None:
    policy = parse_credit_policy({"utility": "electricity"})
    assert policy == CreditPolicy(utility=Utility.ELECTRICITY)
    assert (policy.disconnect_threshold_cents, policy.reconnect_threshold_cents) == (0, 2000)
    assert (policy.emergency_credit_cents, policy.friendly_windows, policy.timezone) == (
        0,
        (),
        "Africa/Johannesburg",
    )


def test_json_null_turns_the_warning_off_and_to_midnight_means_24_00() -> None:
    policy = parse_credit_policy(
        {
            "utility": "solar",
            "low_credit_warning_cents": None,
            "friendly_windows": [{"days": ["weekday"], "from": "20:00", "to": "00:00"}],
        }
    )
    assert policy.low_credit_warning_cents is None
    assert policy.friendly_windows[0].end_minute == 1440


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "credit_policy.utility: missing; expected one of electricity, water, hot_water, solar"),
        ({"utility": "gas"}, "credit_policy.utility: expected one of electricity"),
        (
            {"utility": "electricity", "reconect_threshold_cents": 2000},
            "reconect_threshold_cents: unknown key",
        ),
        (
            {"utility": "electricity", "reconnect_threshold_cents": 0},
            "credit_policy.reconnect_threshold_cents: expected more than disconnect_threshold_cents (0)",
        ),
        (
            {"utility": "electricity", "reconnect_threshold_cents": 20.5},
            "credit_policy.reconnect_threshold_cents: expected a whole number of cents",
        ),
        (
            {"utility": "electricity", "emergency_credit_cents": True},
            "emergency_credit_cents: expected a whole",
        ),
        (
            {"utility": "electricity", "emergency_credit_cents": -1},
            "credit_policy.emergency_credit_cents: expected ≥ 0",
        ),
        ({"utility": "electricity", "timezone": "Mars/Olympus"}, "credit_policy.timezone: expected an IANA"),
        ({"utility": "electricity", "currency": "rand"}, "credit_policy.currency: expected an ISO 4217"),
        (
            {"utility": "water", "emergency_credit_cents": 100},
            "emergency_credit_cents: water is never disconnected",
        ),
        (
            {"utility": "hot_water", "friendly_windows": []},
            "friendly_windows: hot_water is never disconnected",
        ),
        ({"utility": "electricity", "water_debt_cap_cents": 100}, "water_debt_cap_cents: only water"),
        (
            {"utility": "water", "water_debt_cap_cents": -5},
            "credit_policy.water_debt_cap_cents: expected ≥ 0",
        ),
        (
            {"utility": "electricity", "friendly_windows": {}},
            "credit_policy.friendly_windows: expected a list",
        ),
    ],
)
def test_bad_policy_documents_name_the_key_path(document: dict[str, object], message: str) -> None:
    with pytest.raises(CreditPolicyError) as raised:
        parse_credit_policy(document)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (
            {"days": ["weekday"], "from": "18:00", "to": "25:00"},
            "friendly_windows[0].to: expected a local time",
        ),
        (
            {"days": ["weekday"], "from": "24:00", "to": "06:00"},
            "friendly_windows[0].from: expected a local time",
        ),
        (
            {"days": ["weekday"], "from": "6:00", "to": "07:00"},
            "friendly_windows[0].from: expected a local time",
        ),
        (
            {"days": ["weekday"], "from": "18:60", "to": "07:00"},
            "friendly_windows[0].from: expected a local time",
        ),
        (
            {"days": ["weekday", "funday"], "from": "18:00", "to": "07:00"},
            "friendly_windows[0].days[1]: expected",
        ),
        ({"days": [], "from": "18:00", "to": "07:00"}, "friendly_windows[0].days: expected a non-empty list"),
        ({"days": ["weekday"], "from": "18:00"}, "friendly_windows[0].to: missing"),
        (
            {"days": ["weekday"], "from": "18:00", "to": "07:00", "until": 1},
            "friendly_windows[0].until: unknown",
        ),
        ("18:00-07:00", "friendly_windows[0]: expected a table"),
    ],
)
def test_bad_windows_name_the_window_and_key(window: object, message: str) -> None:
    with pytest.raises(CreditPolicyError) as raised:
        parse_credit_policy({"utility": "electricity", "friendly_windows": [window]})
    assert f"credit_policy.{message}" in str(raised.value)


def test_estate_document_errors_name_the_utility_table() -> None:
    with pytest.raises(CreditPolicyError, match=r"^credit\.water\.emergency_credit_cents: water is never"):
        parse_credit_policies({"water": {"emergency_credit_cents": 100}})
    with pytest.raises(CreditPolicyError, match=r"^credit\.gas: expected one of"):
        parse_credit_policies({"gas": {}})
    with pytest.raises(CreditPolicyError, match=r"^credit\.water\.utility: electricity does not match"):
        parse_credit_policies({"water": {"utility": "electricity"}})
