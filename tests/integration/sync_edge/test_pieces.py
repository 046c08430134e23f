"""The small pure pieces of sync: backoff bounds, the test clock, the ``[cloud]`` section, the
document checks that name what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from edge_agent.config import load_config
from edge_agent.config.document import config_from_document
from edge_agent.config.test_clock import (
    TEST_CLOCK_EPOCH_ENV,
    TEST_CLOCK_RATE_ENV,
    accelerated_clock,
    clock_from_environment,
)
from edge_agent.errors import ConfigError
from edge_agent.sync.backoff import Backoff
from firmware_profiles import packaged_registry
from tests.integration.sync_edge.helpers import cloud_meter, document, edge_toml


def test_backoff_grows_to_its_cap_and_resets() -> None:
    backoff = Backoff(first_s=0.5, max_s=8.0)
    delays = [backoff.next_delay_s() for _ in range(12)]
    assert 0.4 <= delays[0] <= 0.6 and all(d <= 8.0 for d in delays) and delays[-1] >= 6.4
    assert backoff.failing
    backoff.reset()
    assert not backoff.failing and backoff.next_delay_s() <= 0.6


def test_the_test_clock_runs_fast_from_a_shared_epoch_and_is_off_by_default() -> None:
    epoch = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
    real = [epoch + timedelta(seconds=10)]
    clock = accelerated_clock(3600, epoch, real=lambda: real[0])
    assert clock() == epoch + timedelta(hours=10)
    assert clock_from_environment({}) is None
    assert clock_from_environment({TEST_CLOCK_RATE_ENV: "7200", TEST_CLOCK_EPOCH_ENV: "0"}) is not None
    with pytest.raises(ConfigError, match=TEST_CLOCK_RATE_ENV):
        clock_from_environment({TEST_CLOCK_RATE_ENV: "0.5"})


def test_the_cloud_section_is_read_and_checked(tmp_path: Path) -> None:
    text = edge_toml(tmp_path, "https://cloud.example/", 502, [])
    config = load_config(text, source=tmp_path / "edge.toml", registry=packaged_registry())
    assert config.cloud is not None and config.cloud.url == "https://cloud.example"
    assert config.cloud.key_file == tmp_path / "gateway.key" and config.cloud.enabled
    bad = text.replace('url = "https://cloud.example/"', 'url = "cloud.example"')
    with pytest.raises(ConfigError, match=r"cloud\.url: expected the cloud's base URL"):
        load_config(bad, source=tmp_path / "edge.toml", registry=packaged_registry())
    plain = "\n".join(
        line for line in text.splitlines() if not line.startswith(("[cloud]", "url", "key_file", "sync"))
    )
    assert load_config(plain, source=tmp_path / "edge.toml", registry=packaged_registry()).cloud is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gateway_id": "someone-else"}, "gateway_id: expected this gateway's id"),
        ({"timezone": "Mars/Olympus"}, "timezone: expected an IANA time zone"),
        ({"tariffs": {}}, "meter m1 is electricity but no tariff is given"),
        ({"credit": {"electricity": {"reconnect_threshold_cents": "lots"}}}, "credit"),
        ({"meters": [cloud_meter("m1"), cloud_meter("m1")]}, "meters[1].id: 'm1' is used twice"),
    ],
)
def test_a_document_is_refused_naming_the_field(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    local = load_config(edge_toml(tmp_path, "https://c.example", 502, []), source=tmp_path / "e.toml",
                        registry=packaged_registry())  # fmt: skip
    bad = msgspec.structs.replace(document(7, [cloud_meter("m1")]), **change)
    with pytest.raises(ConfigError, match="cloud config version 7") as raised:
        config_from_document(local, bad, packaged_registry())
    assert message in str(raised.value)


def test_an_agent_with_a_cloud_section_but_no_key_does_not_start(tmp_path: Path) -> None:
    from edge_agent.daemon import GatewayAgent
    from edge_agent.sync.errors import SyncClientError

    config = load_config(edge_toml(tmp_path, "https://c.example", 502, []), source=tmp_path / "edge.toml",
                         registry=packaged_registry())  # fmt: skip
    with pytest.raises(SyncClientError, match="enrol the gateway first"):
        GatewayAgent(config)
    assert not (tmp_path / "gw.sqlite3").exists(), "nothing was opened"
