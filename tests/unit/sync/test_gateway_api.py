"""The gateway API's messages round-trip, refuse what does not belong, and digest stably."""

from __future__ import annotations

import msgspec
import pytest

from shared.sync import CreditChanged, PocketBalance
from shared.sync.gateway_api import (
    ConfigMeter,
    ConfigWallet,
    EnrolRequest,
    GatewayConfigDocument,
    PushBatch,
    config_digest,
)


def document(version: int = 3) -> GatewayConfigDocument:
    return GatewayConfigDocument(
        version=version, gateway_id="gw-1", estate_id="est-1", timezone="Africa/Johannesburg",
        holiday_country="ZA",
        meters=[ConfigMeter(id="m1", unit="Unit 1", utility="electricity", profile="hiking-dds238-2",  # type: ignore[arg-type]
                            wallet_id="w1", pocket="electricity", bus="rs485-a", address=1)],  # type: ignore[arg-type]
        wallets=[ConfigWallet(id="w1", credit_limit_cents=500)],
        tariffs={"electricity": ['[tariff]\nname = "x"\n']},  # type: ignore[dict-item]
        credit={"electricity": {"reconnect_threshold_cents": 2000}},  # type: ignore[dict-item]
    )  # fmt: skip


def test_the_config_document_round_trips_and_its_digest_depends_only_on_content() -> None:
    encoded = msgspec.json.encode(document())
    again = msgspec.json.decode(encoded, type=GatewayConfigDocument)
    assert again == document()
    assert config_digest(again) == config_digest(document())
    assert config_digest(document(version=4)) != config_digest(document())


def test_a_push_batch_carries_typed_messages_and_a_cursor() -> None:
    balance = PocketBalance(wallet_id="w1", pocket="electricity", balance_cents=5000, posted_through_seq=17)  # type: ignore[arg-type]
    batch = PushBatch(messages=[CreditChanged(balance=balance)], cursor=9)
    assert msgspec.json.decode(msgspec.json.encode(batch), type=PushBatch) == batch


@pytest.mark.parametrize(
    "body",
    [
        b'{"code": "short", "public_key": "' + b"A" * 43 + b'="}',
        b'{"code": "ABCD-EFGH-1234", "public_key": "too-short"}',
        b'{"code": "ABCD-EFGH-1234", "public_key": "' + b"A" * 43 + b'=", "extra": 1}',
    ],
)
def test_an_enrolment_request_out_of_shape_is_refused(body: bytes) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(body, type=EnrolRequest)
