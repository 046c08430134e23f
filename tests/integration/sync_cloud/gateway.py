"""A simulated gateway for the cloud's sync tests: a real Ed25519 key, a real hash-chained journal,
charges rated by the shared tariff code exactly as the edge rates them, and signed requests."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.journal import (
    GENESIS,
    Alarm,
    AlarmKind,
    Body,
    ChainHead,
    Charge,
    Pocket,
    Reading,
    ReadingSource,
    RelayStateConfirmed,
    seal_entry,
)
from shared.money import ZERO, charge_with_carry
from shared.quantities import Measurement, Utility
from shared.sync import (
    HEADER_GATEWAY_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    encode_message,
    encode_signature,
    journal_batch,
    signing_payload,
    timestamp_header,
)
from shared.tariffs import (
    CompiledTariff,
    MonthToDate,
    TariffSchedule,
    compile_tariff,
    parse_tariff,
    rate_interval,
)

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def new_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def signed_headers(
    key: Ed25519PrivateKey,
    gateway_id: str,
    method: str,
    path: str,
    body: bytes,
    *,
    at: datetime | None = None,
) -> dict[str, str]:
    """The three signing headers for one request, signed at ``at`` (now by default)."""
    timestamp = timestamp_header(at or datetime.now(UTC))
    payload = signing_payload(gateway_id=gateway_id, method=method, path=path, timestamp=timestamp, body=body)
    return {
        HEADER_GATEWAY_ID: gateway_id,
        HEADER_TIMESTAMP: timestamp,
        HEADER_SIGNATURE: encode_signature(key.sign(payload)),
        "Content-Type": "application/json",
    }


def compiled(toml_text: str) -> CompiledTariff:
    return compile_tariff(TariffSchedule.of([parse_tariff(toml_text, "test tariff")]))


@dataclass
class MeterState:
    """What the edge keeps per meter between readings."""

    register: Decimal
    read_at: datetime
    month_to_date: MonthToDate | None = None
    carry: Decimal = ZERO


@dataclass
class SimulatedGateway:
    """A gateway's journal and key; every appended entry is sealed onto the chain like the edge does."""

    gateway_id: str
    key: Ed25519PrivateKey
    entries: list[bytes] = field(default_factory=list)
    head: ChainHead = GENESIS
    clock: datetime = T0

    def append(self, body: Body) -> int:
        self.clock += timedelta(seconds=1)
        entry, encoded = seal_entry(self.head, body, recorded_at=self.clock)
        self.entries.append(encoded)
        self.head = entry.head
        return entry.seq

    def batch(self, first_seq: int, last_seq: int) -> bytes:
        """The JSON body of a batch of seqs first..last (1-based, inclusive)."""
        return encode_message(journal_batch(self.gateway_id, self.entries[first_seq - 1 : last_seq]))

    def headers(self, method: str, path: str, body: bytes = b"", **kwargs: Any) -> dict[str, str]:
        return signed_headers(self.key, self.gateway_id, method, path, body, **kwargs)

    def read_and_bill(
        self,
        tariff: CompiledTariff,
        meter: MeterState,
        *,
        meter_id: str,
        wallet_id: str,
        pocket: Pocket,
        register: Decimal,
        read_at: datetime,
        utility: Utility = Utility.ELECTRICITY,
    ) -> list[Charge]:
        """Journal a reading and the charges the edge's billing would journal for it."""
        reading_seq = self.append(
            Reading(
                meter_id=meter_id,
                read_at=read_at,
                source=ReadingSource.MODBUS,
                measurements={Measurement.ENERGY_IMPORT_WH: register},
                billing_register=register,
            )
        )
        result = rate_interval(tariff, meter.read_at, read_at, register - meter.register, meter.month_to_date)
        month_to_date, carry, charges = meter.month_to_date, meter.carry, []
        for piece in result.charges:
            month_start = tariff.plan_at(tariff.instant_us(piece.start)).month_start
            before = (
                month_to_date
                if month_to_date and month_to_date.month_start == month_start
                else MonthToDate(month_start, ZERO)
            )
            carried = charge_with_carry(piece.amount, carry)
            charge = Charge(
                meter_id=meter_id,
                wallet_id=wallet_id,
                utility=utility,
                pocket=pocket,
                reading_seq=reading_seq,
                interval_start=piece.start,
                interval_end=piece.end,
                quantity=piece.quantity,
                band=piece.band,
                tariff_version=piece.tariff_version,
                amount_cents=carried.cents,
                month=before.month_start.strftime("%Y-%m"),
                month_to_date_quantity_before=before.consumed,
                carry_before=carry,
            )
            charges.append(charge)
            self.append(charge)
            month_to_date = MonthToDate(before.month_start, before.consumed + piece.quantity)
            carry = carried.carry
        meter.register, meter.read_at = register, read_at
        meter.month_to_date, meter.carry = result.state, carry
        return charges

    def alarm(self, meter_id: str, kind: AlarmKind, detail: str) -> int:
        return self.append(Alarm(meter_id=meter_id, kind=kind, detail=detail))

    def relay_state(self, meter_id: str, *, closed: bool) -> int:
        return self.append(
            RelayStateConfirmed(meter_id=meter_id, command_id=None, closed=closed, observed_at=self.clock)
        )


def decode_json(data: bytes) -> Any:
    return msgspec.json.decode(data)
