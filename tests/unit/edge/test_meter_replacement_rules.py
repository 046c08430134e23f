"""Which reading reveals a meter replacement, and what it journals: pure, from the billing state."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest

from edge_agent.billing.decide import MeterBilling
from edge_agent.billing.meters import build_meter_billing
from edge_agent.billing.replacement import close_old_meter, revealed_replacement
from edge_agent.billing.state import MeterBillingState
from edge_agent.config import load_config_file
from firmware_profiles import packaged_registry
from shared.journal import Alarm, AlarmKind, Charge
from shared.metering import start_register
from tests.support.paths import REPO_ROOT

T0 = datetime(2026, 8, 3, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=2)


def billing(**meter_changes: object) -> MeterBilling:
    config = load_config_file(REPO_ROOT / "examples" / "edge" / "edge.toml")
    meter = next(m for m in config.meters if m.id == "unit-01-electricity")
    meter = dataclasses.replace(meter, **meter_changes)  # type: ignore[arg-type]
    return build_meter_billing(meter, config, packaged_registry())


def old_state(b: MeterBilling, serial: str | None = "OLD") -> MeterBillingState:
    return MeterBillingState(register=start_register(b.register_spec, Decimal(1_000_000), T0), serial=serial)


@pytest.mark.parametrize(
    ("configured", "stored"),
    [(None, "OLD"), ("OLD", "OLD"), ("NEW", None)],
    ids=["no serial configured", "same serial", "serial never stored (adopted instead)"],
)
def test_no_replacement_without_a_new_serial_for_a_known_one(
    configured: str | None, stored: str | None
) -> None:
    b = billing(serial=configured)
    assert revealed_replacement(b, old_state(b, stored), Decimal(500), T1) is None


def test_the_last_reading_and_the_first_are_taken_when_the_installer_gave_none() -> None:
    b = billing(serial="NEW")
    replaced = revealed_replacement(b, old_state(b), Decimal(500), T1)
    assert replaced is not None
    assert (replaced.old_serial, replaced.new_serial) == ("OLD", "NEW")
    assert (replaced.old_final_register, replaced.new_first_register) == (Decimal(1_000_000), Decimal(500))
    assert replaced.replaced_at == T0 + timedelta(hours=1), "halfway between the two readings"


def test_the_installers_readings_are_billed_up_to_and_from() -> None:
    b = billing(
        serial="NEW", old_meter_final_register=Decimal(1_002_000), new_meter_first_register=Decimal(100)
    )
    state = old_state(b)
    replaced = revealed_replacement(b, state, Decimal(500), T1)
    assert replaced is not None and replaced.new_first_register == Decimal(100)
    after, bodies = close_old_meter(b, state, replaced, replaced_seq=41)
    energy = [body for body in bodies if isinstance(body, Charge) and body.band != "fixed:service"]
    assert sum(c.quantity for c in energy) == Decimal(2000) and {c.reading_seq for c in energy} == {41}
    assert after.register is not None and after.serial == "NEW"
    assert (after.register.value, after.register.read_at) == (Decimal(100), replaced.replaced_at)


def test_a_first_reading_above_the_new_meters_display_is_ignored() -> None:
    b = billing(serial="NEW", new_meter_first_register=Decimal(900))
    replaced = revealed_replacement(b, old_state(b), Decimal(500), T1)
    assert replaced is not None and replaced.new_first_register == Decimal(500)


def test_a_final_reading_below_the_last_one_read_is_alarmed_not_billed() -> None:
    b = billing(serial="NEW", old_meter_final_register=Decimal(999_000))
    state = old_state(b)
    replaced = revealed_replacement(b, state, Decimal(500), T1)
    assert replaced is not None
    after, bodies = close_old_meter(b, state, replaced, replaced_seq=7)
    assert [type(body) for body in bodies] == [Alarm]
    assert msgspec.structs.asdict(bodies[0])["kind"] is AlarmKind.REVERSE_REGISTER
    assert after.register is not None and after.register.value == Decimal(500)


@pytest.mark.parametrize(
    ("replaced_serial", "expected"),
    [("OLD", (Decimal(1_002_000), Decimal(100))), ("MIDDLE", (Decimal(1_000_000), Decimal(500)))],
    ids=["the cloud's swap from the meter last read", "a later swap's readings (two swaps seen as one)"],
)
def test_the_clouds_readings_apply_only_to_the_meter_they_replaced(
    replaced_serial: str, expected: tuple[Decimal, Decimal]
) -> None:
    b = billing(
        serial="NEW", replaced_serial=replaced_serial, old_meter_final_register=Decimal(1_002_000),
        new_meter_first_register=Decimal(100),
    )  # fmt: skip
    replaced = revealed_replacement(b, old_state(b), Decimal(500), T1)
    assert replaced is not None and (replaced.old_serial, replaced.new_serial) == ("OLD", "NEW")
    assert (replaced.old_final_register, replaced.new_first_register) == expected
