"""The bytes a gateway signs, the headers they travel in, and the clock-skew window."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.sync import (
    CLOCK_SKEW_WINDOW_S,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    SyncError,
    decode_signature,
    encode_signature,
    parse_timestamp_header,
    signing_payload,
    timestamp_header,
    within_clock_skew,
)

SIGNED_AT = datetime(2026, 11, 22, 5, 21, 26, tzinfo=timezone(timedelta(hours=2)))
BODY = b'{"gateway_id":"gw-estate-01","entries":[]}'


def payload(**changes: object) -> bytes:
    fields: dict[str, object] = {
        "gateway_id": "gw-estate-01",
        "method": "POST",
        "path": "/api/v1/gateways/gw-estate-01/journal",
        "timestamp": timestamp_header(SIGNED_AT),
        "body": BODY,
    } | changes
    return signing_payload(**fields)  # type: ignore[arg-type]


def test_the_signed_bytes_are_six_fixed_lines() -> None:
    assert payload() == (
        b"quantify-gateway-ed25519-v1\n"
        b"gw-estate-01\n"
        b"POST\n"
        b"/api/v1/gateways/gw-estate-01/journal\n"
        b"2026-11-22T03:21:26.000000Z\n" + hashlib.sha256(BODY).hexdigest().encode()
    )


def test_a_request_without_body_signs_the_digest_of_nothing() -> None:
    assert payload(method="GET", body=b"").endswith(
        b"\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"method": "post"}, "method: expected an HTTP method in upper case"),
        ({"path": "api/v1"}, "path: expected a path starting with /"),
        ({"path": "/a\nPOST"}, "path: expected a path starting with /"),
        ({"path": "/a b"}, "path: expected a path starting with /"),
        ({"gateway_id": "gw\n1"}, "X-Quantify-Gateway-Id: expected 1-128 printable ASCII"),
        (
            {"timestamp": "2026-11-22T03:21:26Z"},
            f"{HEADER_TIMESTAMP}: expected RFC 3339 UTC with microseconds",
        ),
    ],
)
def test_parts_that_could_make_two_requests_sign_alike_are_refused(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(SyncError, match=message):
        payload(**changes)


def test_any_change_to_the_request_changes_what_is_signed() -> None:
    variants = [
        payload(),
        payload(gateway_id="gw-estate-02"),
        payload(method="PUT"),
        payload(path="/api/v1/gateways/gw-estate-01/journal?x=1"),
        payload(timestamp=timestamp_header(SIGNED_AT + timedelta(microseconds=1))),
        payload(body=BODY + b" "),
    ]
    assert len(set(variants)) == len(variants)


def test_an_ed25519_signature_over_the_payload_verifies_and_a_changed_body_does_not() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    header = encode_signature(key.sign(payload()))
    signature = decode_signature(header)
    key.public_key().verify(signature, payload())
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, payload(body=b"{}"))


def test_signature_header_values_are_checked() -> None:
    with pytest.raises(SyncError, match=f"{HEADER_SIGNATURE}: expected standard base64"):
        decode_signature("not base64!")
    with pytest.raises(SyncError, match=f"{HEADER_SIGNATURE}: expected 64 bytes, got 3"):
        decode_signature("AAAA")
    with pytest.raises(SyncError, match="signature: expected 64 bytes, got 10"):
        encode_signature(bytes(10))


def test_timestamp_header_round_trips_to_the_same_instant() -> None:
    assert parse_timestamp_header(timestamp_header(SIGNED_AT)) == SIGNED_AT


@pytest.mark.parametrize(
    "text", ["2026-11-22T03:21:26+00:00", "2026-11-22 03:21:26.000000Z", "2026-02-30T00:00:00.000000Z"]
)
def test_timestamps_not_in_the_signed_form_are_refused(text: str) -> None:
    with pytest.raises(SyncError, match=HEADER_TIMESTAMP):
        parse_timestamp_header(text)


def test_a_naive_signing_time_is_refused() -> None:
    with pytest.raises(SyncError, match=f"{HEADER_TIMESTAMP}: expected a timezone-aware datetime"):
        timestamp_header(datetime(2026, 11, 22))


@pytest.mark.parametrize(
    ("skew_s", "accepted"),
    [
        (0, True),
        (CLOCK_SKEW_WINDOW_S, True),
        (-CLOCK_SKEW_WINDOW_S, True),
        (CLOCK_SKEW_WINDOW_S + 1, False),
        (-CLOCK_SKEW_WINDOW_S - 1, False),
    ],
)
def test_requests_are_accepted_only_within_the_clock_skew_window(skew_s: int, accepted: bool) -> None:
    now = datetime(2026, 11, 22, 3, 21, 26, tzinfo=UTC)
    assert within_clock_skew(now + timedelta(seconds=skew_s), now) is accepted
