"""What the agent loads into memory: only what a gateway without a cloud uses (the 64 MB budget).

A fresh interpreter imports the daemon and rates a day for its country, as a gateway does at its
first reading. The cloud client's libraries (httpx, cryptography) must wait for a ``[cloud]``
section, the local page needs no web framework, and of the ~250 holiday calendars only the
gateway's own country may be loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.paths import REPO_ROOT

PROBE = """
import json, sys
import edge_agent.daemon
from shared.tariffs.calendar_days import public_holidays, supported_countries
public_holidays("ZA", 2026)
countries = [m for m in sys.modules if m.startswith("holidays.countries.")]
print(json.dumps({"modules": sorted(sys.modules), "countries": countries,
                  "supported": len(supported_countries())}))
"""


def _probe() -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def test_an_agent_without_cloud_loads_no_cloud_client_no_web_framework_and_one_calendar() -> None:
    loaded = _probe()
    modules = set(loaded["modules"])  # type: ignore[call-overload]

    assert not {"httpx", "cryptography", "litestar", "uvicorn", "pydantic"} & modules
    assert loaded["countries"] == ["holidays.countries.south_africa"]
    assert loaded["supported"] > 200  # every country is still accepted in the config
