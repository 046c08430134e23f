"""Closing accounting periods through the API and the command line: who may, what is refused, and
that the ledger then refuses money dated inside them, end to end."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.audit.models import AuditRecord
from cloud.database.session import transaction
from cloud.ledger import cli
from cloud.seed import DemoEstate
from tests.integration.api.conftest import Caller
from tests.integration.api.test_access import create_key
from tests.integration.api.test_api_flows import electricity_pocket

pytestmark = [pytest.mark.postgres]
Client = AsyncTestClient[Litestar]
PERIODS = "/api/v1/ledger/closed-periods"


def last_month() -> tuple[datetime, datetime]:
    """The previous calendar month in UTC: over, so closable."""
    first_of_this = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first_of_this - timedelta(days=1)).replace(day=1), first_of_this


def period_body(starts: datetime, ends: datetime, reason: str = "books signed off") -> dict[str, str]:
    return {"starts_at": starts.isoformat(), "ends_at": ends.isoformat(), "reason": reason}


@pytest.mark.anyio
async def test_a_super_admin_closes_last_month_and_money_dated_in_it_is_refused(
    client: Client, root: Caller, admin: Caller, demo: DemoEstate, engine: AsyncEngine
) -> None:
    starts, ends = last_month()
    pocket = await electricity_pocket(client, admin, demo.wallet_ids[0])
    adjust = f"/api/v1/pockets/{pocket}/adjustments"
    inside = {
        "amount_cents": 700,
        "reason": "meter misread",
        "effective_at": (starts + timedelta(days=3)).isoformat(),
    }

    by_agent = await client.post(PERIODS, json=period_body(starts, ends), headers=admin.headers)
    closed = await client.post(PERIODS, json=period_body(starts, ends), headers=root.headers)
    refused = await client.post(adjust, json=inside, headers=admin.headers | {"Idempotency-Key": "in-closed"})
    allowed = await client.post(
        adjust, json=inside | {"effective_at": None}, headers=admin.headers | {"Idempotency-Key": "dated-now"}
    )
    listed = await client.get(PERIODS, headers=admin.headers)

    assert by_agent.status_code == 403 and "ledger:close" in by_agent.json()["detail"]
    assert closed.status_code == 201, closed.text
    assert refused.status_code == 409 and "inside the closed period" in refused.json()["detail"]
    assert allowed.status_code == 201 and allowed.json()["amount_cents"] == 700
    assert [(p["id"], p["reason"]) for p in listed.json()] == [(closed.json()["id"], "books signed off")]
    assert datetime.fromisoformat(listed.json()[0]["starts_at"]) == starts
    async with transaction(engine) as session:
        audit = await session.scalar(select(AuditRecord).where(AuditRecord.action == "ledger.close_period"))
    assert audit is not None
    assert (audit.actor_user_id, audit.reason, audit.before) == (root.user_id, "books signed off", None)
    assert audit.source_address and audit.after == {
        "starts_at": starts.isoformat(),
        "ends_at": ends.isoformat(),
    }


@pytest.mark.anyio
async def test_overlapping_repeated_unfinished_and_backwards_periods_are_refused_by_name(
    client: Client, root: Caller, demo: DemoEstate
) -> None:
    starts, ends = last_month()
    first = await client.post(PERIODS, json=period_body(starts, ends), headers=root.headers)
    answers = {
        "repeat": await client.post(PERIODS, json=period_body(starts, ends), headers=root.headers),
        "inside": await client.post(
            PERIODS,
            json=period_body(starts + timedelta(days=1), ends - timedelta(days=1)),
            headers=root.headers,
        ),
        "overlap": await client.post(
            PERIODS,
            json=period_body(starts - timedelta(days=5), starts + timedelta(days=1)),
            headers=root.headers,
        ),
        "unfinished": await client.post(
            PERIODS, json=period_body(ends, datetime.now(UTC) + timedelta(days=1)), headers=root.headers
        ),
        "backwards": await client.post(PERIODS, json=period_body(ends, starts), headers=root.headers),
        "ancient": await client.post(
            PERIODS,
            json=period_body(datetime(1, 1, 1, tzinfo=UTC), datetime(1, 2, 1, tzinfo=UTC)),
            headers=root.headers,
        ),
    }
    adjacent = await client.post(
        PERIODS, json=period_body(starts - timedelta(days=5), starts), headers=root.headers
    )

    period_id = first.json()["id"]
    assert first.status_code == 201 and adjacent.status_code == 201
    statuses = {name: (r.status_code, r.json()["detail"]) for name, r in answers.items()}
    assert statuses["repeat"][0] == 409 and f"already closed (#{period_id}" in statuses["repeat"][1]
    assert statuses["inside"][0] == 409 and f"already closed (#{period_id}" in statuses["inside"][1]
    assert (
        statuses["overlap"][0] == 409 and f"overlaps the closed period #{period_id}" in statuses["overlap"][1]
    )
    assert statuses["unfinished"][0] == 422 and "still ahead" in statuses["unfinished"][1]
    assert statuses["backwards"][0] == 422 and "must be after start" in statuses["backwards"][1]
    assert statuses["ancient"][0] == 422 and "before 1970-01-01" in statuses["ancient"][1]


@pytest.mark.anyio
async def test_a_period_over_366_days_without_a_zone_or_by_an_api_key_is_refused(
    client: Client, root: Caller, admin: Caller, demo: DemoEstate
) -> None:
    starts, ends = last_month()
    key = await create_key(client, admin, demo.estate_id)

    too_long = await client.post(
        PERIODS, json=period_body(ends - timedelta(days=367), ends), headers=root.headers
    )
    zoneless = await client.post(
        PERIODS,
        json={"starts_at": "2025-01-01T00:00:00", "ends_at": "2025-02-01T00:00:00", "reason": "no zone"},
        headers=root.headers,
    )
    by_key = await client.post(
        PERIODS, json=period_body(starts, ends), headers={"Authorization": f"Bearer {key['key']}"}
    )
    a_full_year = await client.post(
        PERIODS, json=period_body(ends - timedelta(days=366), ends), headers=root.headers
    )

    assert too_long.status_code == 422 and "366" in too_long.json()["detail"]
    assert zoneless.status_code == 422, zoneless.text
    assert by_key.status_code == 403, by_key.text
    assert a_full_year.status_code == 201, a_full_year.text


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="quantify-cloud")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_the_command_line_closes_a_period_prints_it_and_refuses_it_twice(
    migrated_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", migrated_url)
    close = ["ledger", "close-period", "--from", "2026-09-01", "--to", "2026-10-01"]
    close += ["--time-zone", "Africa/Johannesburg", "--reason", "September audited", "--json"]

    first = parse(close)
    status = first.handler(first)
    printed = json.loads(capsys.readouterr().out)
    again = parse(close[:-1])
    refused = again.handler(again)
    error = capsys.readouterr().err
    listing = parse(["ledger", "periods"])
    listed = listing.handler(listing)
    lines = capsys.readouterr().out.splitlines()

    assert status == 0 and refused == 1 and listed == 0
    johannesburg = ZoneInfo("Africa/Johannesburg")
    assert datetime.fromisoformat(printed["starts_at"]) == datetime(2026, 9, 1, tzinfo=johannesburg)
    assert datetime.fromisoformat(printed["ends_at"]) == datetime(2026, 10, 1, tzinfo=johannesburg)
    assert printed["reason"] == "September audited" and printed["closed_by_user_id"] is None
    assert f"already closed (#{printed['id']}" in error
    assert lines == [
        f"#{printed['id']}  {printed['starts_at']} to {printed['ends_at']}  "
        f"closed {printed['closed_at']}  September audited"
    ]


def test_the_command_line_names_a_malformed_date(
    migrated_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", migrated_url)
    args = parse(["ledger", "close-period", "--from", "September", "--to", "2026-10-01", "--reason", "x"])

    assert args.handler(args) == 2
    assert "expected a date such as 2026-10-01" in capsys.readouterr().err
