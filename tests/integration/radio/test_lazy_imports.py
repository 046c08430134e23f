"""A gateway without radio meters never loads the radio bridges' libraries (resident memory)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO_ROOT

FLAT = REPO_ROOT / "examples" / "tariffs" / "flat.toml"
PROBE = """
import asyncio, sys
from pathlib import Path
from edge_agent.config import load_config_file
from edge_agent.daemon import GatewayAgent

async def main():
    agent = GatewayAgent(load_config_file(Path(sys.argv[1])))
    stop = asyncio.Event()
    run = asyncio.create_task(agent.run(stop))
    await asyncio.sleep(1.0)  # started: polling, the page, the radio watch
    stop.set()
    await run

asyncio.run(main())
print(sorted(m for m in ("aiomqtt", "paho", "aiocoap", "cryptography") if m in sys.modules))
"""


def test_a_modbus_only_agent_runs_without_importing_mqtt_coap_or_cryptography(tmp_path: Path) -> None:
    config = tmp_path / "edge.toml"
    config.write_text(f"""
[gateway]
id = "gw-modbus-only"
store = "gw.sqlite3"
[web]
host = "127.0.0.1"
port = 0
[[buses]]
id = "bus-1"
kind = "tcp"
host = "127.0.0.1"
port = 1
[[meters]]
id = "m1"
unit = "Unit 1"
utility = "electricity"
profile = "eastron-sdm120"
bus = "bus-1"
address = 1
wallet = "w1"
[tariffs]
electricity = "{FLAT}"
""")
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(config)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip().splitlines()[-1] == "[]", probe.stdout
