"""``quantify-provision gateway enrol`` against the peer: key, config the agent loads, re-enrolment."""

from __future__ import annotations

import argparse
import asyncio
import stat
from pathlib import Path

import msgspec
import pytest

from edge_agent.config import load_config_file
from edge_agent.sync.errors import BadSignature
from edge_agent.sync.keys import load_key
from edge_agent.sync.transport import CloudTransport
from provisioning import enrol
from shared.sync.gateway_api import CONFIG_PATH
from tests.integration.sync_edge.helpers import GATEWAY_ID, cloud_meter, document
from tests.integration.sync_edge.peer import PeerState, serving

pytestmark = pytest.mark.anyio

ON_SITE = """
[gateway]
id = "not-yet-enrolled"
store = "var/site.sqlite3"
[web]
host = "127.0.0.1"
port = 8099
[[buses]]
id = "bus"
kind = "tcp"
host = "127.0.0.1"
[[meters]]
id = "m1"
unit = "Unit 1"
utility = "electricity"
profile = "eastron-sdm120"
bus = "bus"
address = 7
[tariffs]
electricity = "tariffs/none.toml"
"""


def enrol_args(url: str, code: str, config: Path) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    enrol.register(parser.add_subparsers())
    return parser.parse_args(["gateway", "enrol", "--cloud", url, "--code", code, "--config", str(config)])


async def test_enrolment_writes_a_private_key_and_a_config_the_agent_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meters = [
        msgspec.structs.replace(cloud_meter("m1"), bus=None, address=None),
        cloud_meter("m2", address=2),
        msgspec.structs.replace(cloud_meter("m3"), bus="far"),
        cloud_meter("m4", profile="acme-9000", address=4),
    ]
    state = PeerState(document=document(1, meters), enrolment_codes={"CODE-0001", "CODE-0002"})
    config = tmp_path / "site" / "edge.toml"
    config.parent.mkdir()
    config.write_text(ON_SITE)
    async with serving(state) as url:
        assert await asyncio.to_thread(enrol.run, enrol_args(url, "WRONG-CODE", config)) == 1
        assert "bad_enrolment_code" in capsys.readouterr().err
        assert not (tmp_path / "site" / "gateway.key").exists(), "no key is kept for a refused code"

        assert await asyncio.to_thread(enrol.run, enrol_args(url, "CODE-0001", config)) == 0
        printed = capsys.readouterr().out
        key_file = tmp_path / "site" / "gateway.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert "PRIVATE" not in printed and "meter m3 left out" in printed
        assert "meter m4 left out: firmware profile 'acme-9000' is unknown" in printed
        loaded = load_config_file(config)
        assert loaded.gateway_id == GATEWAY_ID and loaded.web.port == 8099
        assert loaded.store_path == tmp_path / "site" / "var" / "site.sqlite3"
        assert loaded.cloud is not None and loaded.cloud.url == url and loaded.cloud.key_file == key_file
        assert [(m.id, m.bus, m.address) for m in loaded.meters] == [("m1", "bus", 7), ("m2", "bus", 2)]
        assert loaded.credit["electricity"].reconnect_threshold_cents == 2000  # type: ignore[index]
        assert (tmp_path / "site" / "edge.toml.bak").read_text() == ON_SITE

        first_key = load_key(key_file)
        transport = CloudTransport(url, GATEWAY_ID, first_key)
        try:
            assert await transport.request("GET", CONFIG_PATH)
            # Re-enrolment makes a new key; the cloud no longer takes the old one.
            assert await asyncio.to_thread(enrol.run, enrol_args(url, "CODE-0002", config)) == 0
            assert load_key(key_file).public_key_b64 != first_key.public_key_b64
            with pytest.raises(BadSignature):
                await transport.request("GET", CONFIG_PATH)
        finally:
            await transport.aclose()


RADIO_SITE = """
[gateway]
id = "not-yet-enrolled"
store = "var/site.sqlite3"
[lorawan]
host = "127.0.0.1"
application_ids = ["17c82e96-be03-4f38-aef3-f83d48582d97"]
[[meters]]
id = "r1"
unit = "Unit 1"
utility = "electricity"
profile = "dragino-lt22222-l"
dev_eui = "a84041000181abcd"
pulse_weight = "0.5"
uplink_interval_s = 600
[tariffs]
electricity = "tariffs/none.toml"
"""


async def test_enrolment_keeps_the_radio_sections_and_the_sites_radio_details(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    radio = msgspec.structs.replace(cloud_meter("r1", profile="dragino-lt22222-l"), bus=None, address=None)
    meters = [
        radio,  # its DevEUI, pulse weight and uplink interval are the site's
        msgspec.structs.replace(cloud_meter("r2", profile="milesight-ws52x"), bus=None, address=None,
                                dev_eui="24e124148b123456"),
        msgspec.structs.replace(cloud_meter("r3", profile="milesight-em300-di"), bus=None, address=None,
                                dev_eui="24e124128c000001"),
        msgspec.structs.replace(cloud_meter("n1", profile="adeunis-pulse-nbiot"), bus=None, address=None,
                                imei="356938035643809"),
    ]  # fmt: skip
    state = PeerState(document=document(1, meters), enrolment_codes={"CODE-0001"})
    config = tmp_path / "site" / "edge.toml"
    config.parent.mkdir()
    config.write_text(RADIO_SITE)
    async with serving(state) as url:
        assert await asyncio.to_thread(enrol.run, enrol_args(url, "CODE-0001", config)) == 0
    printed = capsys.readouterr().out
    assert "meter r3 left out: a pulse counter: give its pulse_weight" in printed
    assert "meter n1 left out: a radio meter, and this edge.toml has no [nbiot] section" in printed
    loaded = load_config_file(config)
    assert loaded.lorawan is not None and loaded.lorawan.application_ids == (
        "17c82e96-be03-4f38-aef3-f83d48582d97",
    )
    by_id = {m.id: m for m in loaded.meters}
    assert (by_id["r1"].dev_eui, str(by_id["r1"].pulse_weight), by_id["r1"].poll_interval_s) == (
        "a84041000181abcd", "0.5", 600,
    )  # fmt: skip
    assert (by_id["r2"].dev_eui, by_id["r2"].bus) == ("24e124148b123456", None)
