"""Revenue assurance: re-derive every charge from the uploaded readings and flag any difference.

Two checks, both with the shared metering, rating and money code the gateway bills with:

- from the readings (:mod:`cloud.gateways.rederive`): per meter, the cloud keeps its own register
  baseline, month-to-date and sub-cent carry, derived from the stored readings in journal order,
  and compares each reading's charges with what it derives (a forged quantity, a month-to-date or
  carry that breaks the chain, a reading billed with no charge, a charge with no reading). The
  state is loaded once per batch and saved once, so a batch may end between a reading and its
  charges;
- from the charge's own fields (:func:`rerate`), for every charge the readings did not confirm:
  the interval, quantity, month-to-date and carry it states are rated again and the cents compared.

Any difference is a finding, stored once per (gateway, seq) with every reason found for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.gateways.config import GatewayContext
from cloud.gateways.rederive import Discrepancy, MeterAssurance, MeterTerms, walk
from firmware_profiles import UnknownProfileError
from firmware_profiles.registry import packaged_registry
from shared.journal import Charge, Entry, MeterReplaced, Reading
from shared.metering import RegisterSpec
from shared.metering.limits import MAX_RATE_PER_HOUR
from shared.money import charge_with_carry
from shared.quantities import Utility
from shared.sync.gateway_api import GatewayConfigDocument
from shared.tariffs import (
    CompiledTariff,
    MonthToDate,
    RatingResult,
    TariffError,
    TariffSchedule,
    compile_tariff,
    parse_tariff,
    rate_interval,
)

_STATES = text("""
    SELECT meter_id, state FROM gateway_assurance_meters
    WHERE gateway_id = :gateway
      AND (meter_id IN (SELECT json_array_elements_text(CAST(:meters AS json))) OR open_seq IS NOT NULL)
""")
# Rows as one JSON document: psycopg spells a text[] element by element, and the states are long.
_SAVE_STATES = text("""
    INSERT INTO gateway_assurance_meters (gateway_id, meter_id, state, open_seq)
    SELECT :gateway, r.meter_id, r.state, r.open_seq
    FROM json_to_recordset(CAST(:rows AS json)) AS r(meter_id text, state text, open_seq bigint)
    ON CONFLICT (gateway_id, meter_id) DO UPDATE SET state = excluded.state, open_seq = excluded.open_seq
""")
_FINDINGS = text("""
    INSERT INTO gateway_charge_discrepancies
        (gateway_id, seq, meter_id, tariff_version, charged_cents, rerated_cents, detail)
    SELECT :gateway, * FROM unnest(
        CAST(:seq AS bigint[]), CAST(:meter AS text[]), CAST(:version AS text[]),
        CAST(:charged AS bigint[]), CAST(:rerated AS bigint[]), CAST(:detail AS text[]))
    ON CONFLICT DO NOTHING
""")


@dataclass(frozen=True, slots=True)
class Finding:
    """A charge the cloud rates differently: ``rerated_cents`` is None when it cannot be rated."""

    seq: int
    charge: Charge
    rerated_cents: int | None
    detail: str


#: What rating one interval depends on: a reading's charges (its energy and its standing charge,
#: one per band) share it, so a batch rates each interval once.
RatingKey = tuple[Utility, str, datetime, datetime, Decimal, Decimal]


def rerate(
    tariff: CompiledTariff | None,
    seq: int,
    charge: Charge,
    ratings: dict[RatingKey, RatingResult | str] | None = None,
) -> Finding | None:
    """The finding for one charge, or None when the cloud gets the same cents.

    ``ratings`` remembers intervals already rated (or why they could not be) across the charges
    of one batch; pass the same dict for every charge of the batch.
    """
    if tariff is None:
        return Finding(
            seq, charge, None, f"the estate has no valid {charge.utility.value} tariff to re-rate with"
        )
    key = (
        charge.utility,
        charge.month,
        charge.interval_start,
        charge.interval_end,
        charge.quantity,
        charge.month_to_date_quantity_before,
    )
    ratings = {} if ratings is None else ratings
    result = ratings.get(key)
    if result is None:
        result = ratings[key] = _rate(tariff, charge)
    if isinstance(result, str):
        return Finding(seq, charge, None, result)
    pieces = [
        p for p in result.charges if p.band == charge.band and p.tariff_version == charge.tariff_version
    ]
    if not pieces:
        bands = sorted({f"{p.band}@{p.tariff_version}" for p in result.charges})
        return Finding(
            seq,
            charge,
            None,
            f"band {charge.band} of {charge.tariff_version} not found; the cloud "
            f"rates it as {', '.join(bands) or 'nothing'}",
        )
    exact = sum((piece.amount for piece in pieces), Decimal(0))
    cents = charge_with_carry(exact, charge.carry_before).cents
    if cents == charge.amount_cents:
        return None
    return Finding(seq, charge, cents, f"charged {charge.amount_cents} cents, the tariff gives {cents} cents")


def _rate(tariff: CompiledTariff, charge: Charge) -> RatingResult | str:
    """The rating of the charge's interval from its month-to-date state, or why there is none."""
    try:
        month_start = tariff.plan_at(tariff.instant_us(charge.interval_start)).month_start
        if f"{month_start.year:04}-{month_start.month:02}" != charge.month:
            return f"month {charge.month} is not the month the interval starts in"
        state = MonthToDate(month_start, charge.month_to_date_quantity_before)
        return rate_interval(tariff, charge.interval_start, charge.interval_end, charge.quantity, state)
    except TariffError as error:
        return f"cannot be re-rated: {error}"


async def check_batch(
    session: AsyncSession,
    context: GatewayContext,
    config: GatewayConfigDocument,
    entries: Sequence[Entry],
) -> int:
    """Check an accepted batch's readings and charges; store the findings and return how many."""
    check = await BatchCheck.load(session, context, config, entries)
    check.run()
    return await check.save(session)


class BatchCheck:
    """:func:`check_batch` in three steps, so the caller can overlap the pure middle one with a
    statement of its own: :meth:`load` the meters' states, :meth:`run` (no I/O), :meth:`save`."""

    def __init__(
        self,
        gateway_id: int,
        config: GatewayConfigDocument,
        entries: Sequence[Entry],
        states: dict[str, MeterAssurance],
    ) -> None:
        self._gateway_id = gateway_id
        self._config = config
        self._entries = entries
        self._states = states
        self._outcome: tuple[dict[str, MeterAssurance], list[Discrepancy]] | None = None

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        context: GatewayContext,
        config: GatewayConfigDocument,
        entries: Sequence[Entry],
    ) -> BatchCheck:
        """Read the states of the batch's meters (and any with an open reading)."""
        meters = {e.body.meter_id for e in entries if isinstance(e.body, (Reading, Charge, MeterReplaced))}
        states = await _load_states(session, context.gateway_id, meters)
        return cls(context.gateway_id, config, entries, states)

    def run(self) -> None:
        """Walk the batch and re-rate what the readings did not confirm (pure)."""
        terms, tariffs = meter_terms(self._config)
        outcome = walk(((entry.seq, entry.body) for entry in self._entries), self._states, terms)
        found = {d.seq: d for d in outcome.discrepancies}
        ratings: dict[RatingKey, RatingResult | str] = {}
        for seq, charge in outcome.unconfirmed:
            own = rerate(tariffs.get(charge.utility), seq, charge, ratings)
            if own is not None:
                found[seq] = _merge(found.get(seq), own)
        changed = {m: outcome.states[m] for m in outcome.changed}
        self._outcome = (changed, list(found.values()))

    async def save(self, session: AsyncSession) -> int:
        """Save the changed states and store the findings; returns how many findings."""
        if self._outcome is None:
            raise RuntimeError("BatchCheck.save before run")
        changed, findings = self._outcome
        await _save_states(session, self._gateway_id, changed)
        await _store_findings(session, self._gateway_id, findings)
        return len(findings)


def _merge(derived: Discrepancy | None, own: Finding) -> Discrepancy:
    """One finding per entry: what the readings say first, then what its own fields re-rate to."""
    charge = own.charge
    if derived is None:
        return Discrepancy(
            own.seq,
            charge.meter_id,
            charge.tariff_version,
            charge.amount_cents,
            own.rerated_cents,
            own.detail,
        )
    rerated = own.rerated_cents if derived.rerated_cents is None else derived.rerated_cents
    return Discrepancy(
        own.seq,
        charge.meter_id,
        charge.tariff_version,
        charge.amount_cents,
        rerated,
        f"{derived.detail}; re-rated from its own fields: {own.detail}",
    )


_JSON = msgspec.json.Encoder(decimal_format="string")
_STATE_DECODER = msgspec.json.Decoder(MeterAssurance)


async def _load_states(session: AsyncSession, gateway_id: int, meters: set[str]) -> dict[str, MeterAssurance]:
    params = {"gateway": gateway_id, "meters": _JSON.encode(sorted(meters)).decode()}
    rows = await (await session.connection()).execute(_STATES, params)
    return {meter_id: _STATE_DECODER.decode(state) for meter_id, state in rows}


async def _save_states(session: AsyncSession, gateway_id: int, states: dict[str, MeterAssurance]) -> None:
    if not states:
        return
    rows = [
        {
            "meter_id": meter,
            "state": _JSON.encode(state).decode(),
            "open_seq": None if state.open is None else state.open.seq,
        }
        for meter, state in sorted(states.items())
    ]
    params = {"gateway": gateway_id, "rows": _JSON.encode(rows).decode()}
    await (await session.connection()).execute(_SAVE_STATES, params)


async def _store_findings(session: AsyncSession, gateway_id: int, findings: list[Discrepancy]) -> None:
    if not findings:
        return
    await (await session.connection()).execute(
        _FINDINGS,
        {
            "gateway": gateway_id,
            "seq": [f.seq for f in findings],
            "meter": [f.meter_id for f in findings],
            "version": [f.tariff_version for f in findings],
            "charged": [f.charged_cents for f in findings],
            "rerated": [f.rerated_cents for f in findings],
            "detail": [f.detail[:2000] for f in findings],
        },
    )


#: Per config document (kept alive with its terms, so its id is not reused while cached).
_TERMS: dict[
    int, tuple[GatewayConfigDocument, dict[str, MeterTerms], dict[Utility, CompiledTariff | None]]
] = {}
_TERMS_MAX = 256


def meter_terms(
    config: GatewayConfigDocument,
) -> tuple[dict[str, MeterTerms], dict[Utility, CompiledTariff | None]]:
    """Each billed meter's register spec and tariff, and each utility's tariff, from the config.

    Only meters with a wallet are billed (as on the gateway). A pulse counter's register is in
    litres or Wh scaled by a weight only the gateway holds, so the cloud does not know where it
    rolls over: a backwards step of one is never taken for a rollover here.
    """
    cached = _TERMS.get(id(config))
    if cached is not None and cached[0] is config:
        return cached[1], cached[2]
    tariffs = {utility: compiled_tariff(tuple(texts)) for utility, texts in config.tariffs.items()}
    terms = {}
    for meter in config.meters:
        if meter.wallet_id is not None:
            spec = _register_spec(meter.profile, meter.utility)
            terms[meter.id] = MeterTerms(spec=spec, tariff=tariffs.get(meter.utility))
    if len(_TERMS) >= _TERMS_MAX:
        _TERMS.clear()
    _TERMS[id(config)] = (config, terms, tariffs)
    return terms, tariffs


#: The register of a meter whose profile the cloud does not know (its gateway would refuse the
#: config): one base unit per step and no declared maximum, so a backwards step is never a rollover.
_UNKNOWN_PROFILE_RESOLUTION = Decimal(1)


@lru_cache(maxsize=256)
def _register_spec(profile_id: str, utility: Utility) -> RegisterSpec:
    rate = MAX_RATE_PER_HOUR[utility]
    try:
        profile = packaged_registry().get(profile_id)
    except UnknownProfileError:
        return RegisterSpec(resolution=_UNKNOWN_PROFILE_RESOLUTION, max_rate_per_h=rate)
    pulses = profile.payload is not None and profile.payload.pulses_become is not None
    maximum = None if pulses else profile.billing.declared_maximum
    return RegisterSpec(resolution=profile.billing.resolution, maximum=maximum, max_rate_per_h=rate)


@lru_cache(maxsize=64)
def compiled_tariff(texts: tuple[str, ...]) -> CompiledTariff | None:
    """The compiled schedule of a utility's stored tariff texts (cached: compiling is the slow part)."""
    try:
        versions = [
            parse_tariff(toml, f"stored tariff version {index + 1}") for index, toml in enumerate(texts)
        ]
        return compile_tariff(TariffSchedule.of(versions))
    except TariffError:
        return None
