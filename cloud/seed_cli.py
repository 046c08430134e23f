"""``quantify-cloud seed-demo``: migrate, then create the demo estate and print its logins (idempotent)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from typing import TYPE_CHECKING

from cloud.settings import Settings

if TYPE_CHECKING:
    from cloud.seed import DemoEstate


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``seed-demo`` to ``quantify-cloud``."""
    seed = subparsers.add_parser(
        "seed-demo",
        help="create the demo estate (12 units, tenants, meters, tariffs) and print its logins",
        description="Migrate, then create the demo estate; running it again changes nothing.",
    )
    seed.set_defaults(handler=run_seed)


def run_seed(args: argparse.Namespace) -> int:
    """Resolve the database, migrate it, seed the demo estate and print the logins."""
    from cloud.database.cli import upgrade_to_head
    from cloud.database.server import database_url

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    url = database_url(Settings.from_env(os.environ))
    upgrade_to_head(url)
    print_logins(asyncio.run(seed(url)))
    return 0


async def seed(url: str) -> DemoEstate:
    """Seed the demo estate through a short-lived engine."""
    from cloud.database.session import create_engine
    from cloud.seed import seed_demo

    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        return await seed_demo(engine)
    finally:
        await engine.dispose()


def print_logins(demo: DemoEstate) -> None:
    """Tell the person running the demo how to sign in."""
    print(f"demo estate {demo.estate_id}: {len(demo.unit_ids)} units, {len(demo.wallet_ids)} wallets")
    for login in demo.logins:
        print(f"  {login.role:<15} {login.email}  password: {login.password}")
    print("  sign in: POST /api/v1/auth/login {email, password}; see docs/api.md")
