"""``quantify-cloud gateway enrolment-code``: the code an installer gets works once, on the gateway named."""

from __future__ import annotations

import argparse
import asyncio
import json

import pytest
from sqlalchemy import text

from cloud.database.session import create_engine, transaction
from cloud.gateways import cli
from cloud.gateways.enrolment import code_digest
from tests.integration.sync_cloud.conftest import make_site


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="quantify-cloud")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


async def _make_gateway(url: str) -> int:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        return (await make_site(engine)).gateway_id
    finally:
        await engine.dispose()


async def _stored_code_hashes(url: str) -> list[bytes]:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with transaction(engine) as session:
            hashes = (
                await session.execute(text("SELECT code_sha256 FROM gateway_enrolment_codes"))
            ).scalars()
            return [bytes(h) for h in hashes]
    finally:
        await engine.dispose()


def test_enrolment_code_prints_a_code_stored_only_as_its_hash(
    migrated_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway_id = asyncio.run(_make_gateway(migrated_url))
    monkeypatch.setenv("DATABASE_URL", migrated_url)

    args = parse(["gateway", "enrolment-code", "--gateway", str(gateway_id), "--ttl-min", "30", "--json"])
    status = args.handler(args)

    printed = json.loads(capsys.readouterr().out)
    hashes = asyncio.run(_stored_code_hashes(migrated_url))

    assert status == 0 and printed["gateway_id"] == gateway_id
    assert hashes == [code_digest(printed["code"])]


def test_enrolment_code_for_an_unknown_gateway_fails_with_a_message(
    migrated_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", migrated_url)
    args = parse(["gateway", "enrolment-code", "--gateway", "4040"])

    assert args.handler(args) == 1
    assert "gateway 4040 not found" in capsys.readouterr().err
