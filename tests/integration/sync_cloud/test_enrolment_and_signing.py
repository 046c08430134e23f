"""Enrolment with one-time codes, key rotation, and every reason a signed request is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.journal import AlarmKind
from shared.quantities import Utility
from shared.sync import MAX_BATCH_BYTES
from shared.sync.gateway_api import CONFIG_PATH, ENROL_PATH, JOURNAL_PATH
from tests.integration.sync_cloud.conftest import Site, enrol, issue_code
from tests.integration.sync_cloud.gateway import SimulatedGateway, new_key, public_key_b64, signed_headers

pytestmark = pytest.mark.anyio


async def test_enrolment_answers_with_the_gateway_identity_and_a_config_in_cloud_ids(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site
) -> None:
    _, enrolled = await enrol(client, engine, site.gateway_id)

    assert enrolled.gateway_id == str(site.gateway_id)
    assert enrolled.estate_name == "Oak Park"
    config = enrolled.config
    assert config.version == 1
    assert [(m.id, m.wallet_id, m.pocket.value, m.unit) for m in config.meters] == [
        (str(site.meter_id), str(site.wallet_id), "electricity", "A1")
    ]
    assert [w.id for w in config.wallets] == [str(site.wallet_id)]
    assert "Municipal domestic blocks" in config.tariffs[Utility.ELECTRICITY][0]
    assert config.timezone == "Africa/Johannesburg"


@pytest.mark.parametrize("case", ["reused", "expired", "unknown"])
async def test_a_used_expired_or_unknown_code_is_refused(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, case: str
) -> None:
    if case == "reused":
        code = await issue_code(engine, site.gateway_id)
        first = await client.post(ENROL_PATH, json={"code": code, "public_key": public_key_b64(new_key())})
        assert first.status_code == 200
    elif case == "expired":
        code = await issue_code(
            engine, site.gateway_id, timedelta(minutes=5), now=datetime.now(UTC) - timedelta(hours=1)
        )
    else:
        code = "not-a-code-anyone-issued"

    response = await client.post(ENROL_PATH, json={"code": code, "public_key": public_key_b64(new_key())})

    assert response.status_code == 401
    assert response.json()["reason"] == "bad_enrolment_code"


async def test_enrolling_again_rotates_the_key_and_the_old_key_is_refused_as_revoked(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site
) -> None:
    old, _ = await enrol(client, engine, site.gateway_id)
    new, _ = await enrol(client, engine, site.gateway_id)

    refused = await client.get(CONFIG_PATH, headers=old.headers("GET", CONFIG_PATH))
    accepted = await client.get(CONFIG_PATH, headers=new.headers("GET", CONFIG_PATH))

    assert refused.status_code == 401
    assert refused.json()["reason"] == "revoked_gateway"
    assert accepted.status_code == 200


async def test_each_signing_fault_is_refused_with_its_own_reason(
    client: httpx.AsyncClient, gateway: SimulatedGateway
) -> None:
    body = gateway.batch(1, 1) if gateway.entries else b'{"gateway_id":"x","entries":[]}'
    now = datetime.now(UTC)
    cases = {
        "malformed": {
            k: v for k, v in gateway.headers("POST", JOURNAL_PATH, body).items() if "Signature" not in k
        },
        "stale_timestamp": gateway.headers("POST", JOURNAL_PATH, body, at=now - timedelta(minutes=6)),
        "bad_signature": signed_headers(new_key(), gateway.gateway_id, "POST", JOURNAL_PATH, body),
        "unknown_gateway": signed_headers(gateway.key, "999999", "POST", JOURNAL_PATH, body),
    }
    for reason, headers in cases.items():
        response = await client.post(JOURNAL_PATH, content=body, headers=headers)
        assert response.status_code == 401, reason
        assert response.json()["reason"] == reason

    # A body changed after signing, or a signature for another path, does not verify either.
    tampered = await client.post(
        JOURNAL_PATH, content=body + b" ", headers=gateway.headers("POST", JOURNAL_PATH, body)
    )
    other_path = await client.get(CONFIG_PATH + "?x=1", headers=gateway.headers("GET", CONFIG_PATH))
    assert tampered.json()["reason"] == "bad_signature"
    assert other_path.json()["reason"] == "bad_signature"


async def test_an_oversized_batch_is_refused_before_it_is_read(
    client: httpx.AsyncClient, gateway: SimulatedGateway
) -> None:
    body = b"x" * (MAX_BATCH_BYTES + 1)

    response = await client.post(
        JOURNAL_PATH, content=body, headers=gateway.headers("POST", JOURNAL_PATH, body)
    )

    assert response.status_code == 413


async def test_a_batch_for_another_gateway_id_is_refused(
    client: httpx.AsyncClient, gateway: SimulatedGateway
) -> None:
    gateway.alarm("m", AlarmKind.TAMPER, "lid opened")
    body = gateway.batch(1, 1).replace(f'"gateway_id":"{gateway.gateway_id}"'.encode(), b'"gateway_id":"77"')

    response = await client.post(
        JOURNAL_PATH, content=body, headers=gateway.headers("POST", JOURNAL_PATH, body)
    )

    assert response.status_code == 422
    assert "not the signing gateway" in response.json()["detail"]


async def test_a_signed_body_that_is_not_a_journal_batch_is_answered_400_naming_the_field(
    client: httpx.AsyncClient, gateway: SimulatedGateway
) -> None:
    body = b'{"gateway_id": "1", "entries": []}'

    response = await client.post(
        JOURNAL_PATH, content=body, headers=gateway.headers("POST", JOURNAL_PATH, body)
    )

    assert response.status_code == 400
    assert "entries" in response.json()["detail"]
