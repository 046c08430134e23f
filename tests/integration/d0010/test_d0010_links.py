"""MPAN cores linked to an estate's bulk supply, and who may see their readings and imports."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.d0010.links import link_mpan, readings_for_mpan
from cloud.d0010.service import get_import, import_file, list_imports
from cloud.database.session import transaction
from cloud.errors import Conflict, NotFound, ValidationFailed
from cloud.estates.metering import add_meter
from cloud.estates.metering_models import MeterRole
from cloud.estates.models import WalletMode
from cloud.estates.scope import Scope
from cloud.estates.services import create_estate
from shared.quantities import Utility
from tests.integration.d0010.conftest import IMPORTER
from tests.unit.d0010.flowfiles import D0010_FIXTURES, NOW

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

EVERYTHING = Scope.everything()
MPAN = "1600001234564"  # in all_groups.uff
MARCH = (datetime(2025, 3, 1), datetime(2025, 4, 1))


async def _estate(engine: AsyncEngine, name: str) -> tuple[int, int]:
    """An estate with one bulk electricity meter: (estate id, meter id)."""
    async with transaction(engine) as session:
        estate = await create_estate(
            session, IMPORTER, name=name, time_zone="Europe/London",
            wallet_mode=WalletMode.PER_UTILITY, utilities=[Utility.ELECTRICITY],
        )  # fmt: skip
        meter = await add_meter(
            session, EVERYTHING, IMPORTER, estate.id, utility=Utility.ELECTRICITY,
            serial=f"BULK-{name}", firmware_profile_id="eastron_sdm630", role=MeterRole.BULK,
        )  # fmt: skip
    return estate.id, meter.id


async def test_linked_mpan_readings_are_visible_to_its_estate_only(engine: AsyncEngine) -> None:
    oak, bulk = await _estate(engine, "Oak Park")
    elm, _ = await _estate(engine, "Elm Court")
    await import_file(engine, D0010_FIXTURES / "all_groups.uff", now=NOW, actor=IMPORTER)
    async with transaction(engine) as session:
        link = await link_mpan(session, EVERYTHING, IMPORTER, MPAN, oak, bulk_meter_id=bulk)
    assert (link.estate_id, link.bulk_meter_id) == (oak, bulk)

    async with transaction(engine) as session:
        mine = await readings_for_mpan(session, Scope.estates(oak), MPAN, *MARCH)
        assert [r.register_id for r in mine] == ["DY", "NT", "S"]
        with pytest.raises(NotFound):
            await readings_for_mpan(session, Scope.estates(elm), MPAN, *MARCH)
        assert [i.file_name for i in await list_imports(session, Scope.estates(oak))] == ["all_groups.uff"]
        assert await list_imports(session, Scope.estates(elm)) == []
        detail = await get_import(session, Scope.estates(oak), 1)
        assert detail.report["status"] == "imported"
        with pytest.raises(NotFound):
            await get_import(session, Scope.estates(elm), 1)


async def test_link_refuses_bad_input(engine: AsyncEngine) -> None:
    oak, _ = await _estate(engine, "Oak Park")
    elm, elm_bulk = await _estate(engine, "Elm Court")
    async with transaction(engine) as session:
        await link_mpan(session, EVERYTHING, IMPORTER, MPAN, oak)  # an MPAN not yet seen in any flow
    async with transaction(engine) as session:
        with pytest.raises(ValidationFailed, match="check digit"):
            await link_mpan(session, EVERYTHING, IMPORTER, "1600001234565", oak)
        with pytest.raises(NotFound):
            await link_mpan(session, EVERYTHING, IMPORTER, MPAN, oak, bulk_meter_id=elm_bulk)
        with pytest.raises(Conflict):
            await link_mpan(session, EVERYTHING, IMPORTER, MPAN, elm)
        with pytest.raises(NotFound):
            await link_mpan(session, Scope.estates(elm), IMPORTER, MPAN, oak)
