"""The tenant's balance endpoint per API worker: ``GET /api/v1/wallets/{id}`` signed in as a tenant.

One uvicorn worker serves the app on loopback against the machine's PostgreSQL (a scratch database
with the seeded demo estate, dropped at the end); a load generator in a second process holds a
fixed number of keep-alive connections: ``wrk`` when installed, else a small asyncio/httpx client.
Every request pays the full price: session lookup, the tenant's scope (tenancies and wallets),
the scoped wallet and pocket balances (one prepared statement, ``cloud.api.balances``), JSON.
Reports the median of runs and that run's p99, and the worker's CPU time per request, the figure
least disturbed by whatever else the machine runs.

Run directly (``python -m tests.bench.bench_api``) or through ``python -m tests.bench.run``.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx

from cloud.database.session import create_engine
from cloud.seed import TENANT_PASSWORD, seed_demo, tenant_email
from tests.bench.bench_ledger import scratch_database
from tests.bench.figures import Figure
from tests.integration.api.served import Server, served

TARGET_RPS = 1_500
RUNS = 3
DURATION_S = 8
CONNECTIONS = 32
WARMUP_S = 2


def run() -> list[Figure]:
    """Seed, serve, sign in as a tenant and hammer their balance; the figures of the median run."""
    with scratch_database() as url, tempfile.TemporaryDirectory() as work:
        wallet_id = anyio.run(_seed, url)
        with served(url, Path(work) / "uvicorn.log") as server:
            endpoint = f"{server.base_url}/api/v1/wallets/{wallet_id}"
            cookie = _tenant_cookie(server.base_url, endpoint)
            _load(endpoint, cookie, WARMUP_S)
            runs = sorted((_measured(server, endpoint, cookie) for _ in range(RUNS)), key=lambda r: r.rps)
    median = runs[len(runs) // 2]
    note = f"1 uvicorn worker; {CONNECTIONS} connections via {median.generator}; median of {RUNS} x {DURATION_S}s"
    return [
        Figure("tenant balance throughput", median.rps, "requests/s", target=TARGET_RPS, note=note),
        Figure("tenant balance p99 latency", median.p99_ms, "ms", higher_is_better=False, note=note),
        Figure(
            "tenant balance worker CPU per request",
            statistics.median(r.cpu_ms_per_request for r in runs),
            "ms",
            higher_is_better=False,
            note="API process CPU only (excludes PostgreSQL and the load generator); 1000 / this = one core's ceiling",
        ),
        Figure(
            "tenant balance spread", runs[-1].rps - runs[0].rps, "requests/s", note="max - min of the runs"
        ),
    ]


@dataclass(frozen=True)
class Run:
    rps: float
    p99_ms: float
    cpu_ms_per_request: float
    generator: str


def _measured(server: Server, endpoint: str, cookie: str) -> Run:
    cpu_before = server.cpu_s()
    rps, p99_ms, generator = _load(endpoint, cookie, DURATION_S)
    cpu_ms = (server.cpu_s() - cpu_before) * 1000
    return Run(rps, p99_ms, cpu_ms / (rps * DURATION_S), generator)


async def _seed(url: str) -> int:
    engine = create_engine(url)
    try:
        demo = await seed_demo(engine)
    finally:
        await engine.dispose()
    return demo.wallet_ids[0]


def _tenant_cookie(base_url: str, endpoint: str) -> str:
    login = httpx.post(
        f"{base_url}/api/v1/auth/login", json={"email": tenant_email(1), "password": TENANT_PASSWORD}
    )
    login.raise_for_status()
    cookie = f"quantify_session={login.cookies['quantify_session']}"
    check = httpx.get(endpoint, headers={"Cookie": cookie})
    assert check.status_code == 200 and check.json()["pockets"], check.text
    return cookie


def _load(endpoint: str, cookie: str, duration_s: int) -> tuple[float, float, str]:
    """Requests per second and p99 latency (ms) of one run, and which generator made them."""
    if shutil.which("wrk"):
        return (*_wrk(endpoint, cookie, duration_s), "wrk")
    command = [
        sys.executable,
        "-m",
        "tests.bench.api_load",
        endpoint,
        cookie,
        str(duration_s),
        str(CONNECTIONS),
    ]
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=duration_s + 60).stdout
    rps, p99_ms = out.split()
    return float(rps), float(p99_ms), "python load generator"


def _wrk(endpoint: str, cookie: str, duration_s: int) -> tuple[float, float]:
    command = [
        "wrk",
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{duration_s}s",
        "--latency",
        "-H",
        f"Cookie: {cookie}",
        endpoint,
    ]
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=duration_s + 60).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert errors is None, f"wrk saw error responses:\n{out}"
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


if __name__ == "__main__":
    for figure in run():
        print(f"{figure.name}: {figure.value:,.1f} {figure.unit}  {figure.note}")
