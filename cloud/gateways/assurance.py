"""Revenue assurance: re-rate every uploaded charge with the shared rating code and flag differences.

A charge carries everything rating needs: the interval, the quantity, the month and month-to-date
quantity before it, the meter's sub-cent carry before it, and the tariff version and band it was
priced in. The cloud rates the same interval from the estate's stored tariff texts (compiled once
per set of texts), takes the piece in the same band and version, applies the same carry rule and
compares cents. Any difference, or a charge that cannot be re-rated at all, is a finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.gateways.config import GatewayContext
from shared.journal import Charge
from shared.money import charge_with_carry
from shared.quantities import Utility
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

_TEXTS = text("""
    SELECT t.utility, v.toml_text FROM tariffs t JOIN tariff_versions v ON v.tariff_id = t.id
    WHERE t.estate_id = :estate ORDER BY t.utility, v.effective_from
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


async def check_charges(
    session: AsyncSession, context: GatewayContext, charges: Sequence[tuple[int, Charge]]
) -> int:
    """Re-rate the charges of an accepted batch and store the findings; returns how many."""
    if not charges:
        return 0
    tariffs = await _tariffs(session, context.estate.id)
    ratings: dict[RatingKey, RatingResult | str] = {}
    findings = [
        f for seq, charge in charges if (f := rerate(tariffs.get(charge.utility), seq, charge, ratings))
    ]
    if findings:
        await (await session.connection()).execute(
            _FINDINGS,
            {
                "gateway": context.gateway_id,
                "seq": [f.seq for f in findings],
                "meter": [f.charge.meter_id for f in findings],
                "version": [f.charge.tariff_version for f in findings],
                "charged": [f.charge.amount_cents for f in findings],
                "rerated": [f.rerated_cents for f in findings],
                "detail": [f.detail for f in findings],
            },
        )
    return len(findings)


async def _tariffs(session: AsyncSession, estate_id: int) -> dict[Utility, CompiledTariff | None]:
    texts: dict[Utility, list[str]] = {}
    for utility, toml_text in await (await session.connection()).execute(_TEXTS, {"estate": estate_id}):
        texts.setdefault(Utility(utility), []).append(toml_text)
    return {utility: compiled_tariff(tuple(versions)) for utility, versions in texts.items()}


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
