"""``edge.toml``: the documented example loads; every mistake names the file, the key and the expectation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edge_agent.config import BusKind, load_config_file
from edge_agent.errors import ConfigError
from shared.journal import Pocket
from shared.quantities import Utility
from tests.support.paths import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "edge" / "edge.toml"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of the documented example and the tariff it points at, to break one key at a time."""
    (tmp_path / "edge").mkdir()
    shutil.copytree(REPO_ROOT / "examples" / "tariffs", tmp_path / "tariffs")
    shutil.copy(EXAMPLE, tmp_path / "edge" / "edge.toml")
    return tmp_path / "edge"


def test_the_documented_example_loads_with_every_part(config_dir: Path) -> None:
    config = load_config_file(config_dir / "edge.toml")
    assert config.gateway_id == "gw-oak-estate-01"
    assert config.store_path == config_dir / "var" / "oak-estate.sqlite3"
    assert [bus.kind for bus in config.buses] == [BusKind.RTU, BusKind.TCP]
    rtu = config.buses[0].serial
    assert rtu is not None and (rtu.baud, rtu.parity.value, rtu.stop_bits) == (9600, "N", 1)
    first = config.meters[0]
    assert (first.profile, first.address, first.pocket) == ("hiking-dds238-2", 1, Pocket.ELECTRICITY)
    assert Utility.ELECTRICITY in config.tariffs
    assert config.credit[Utility.ELECTRICITY].reconnect_threshold_cents == 2000
    assert len(config.credit[Utility.ELECTRICITY].friendly_windows) == 2


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"the example no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('baud = 9600', 'baud = "fast"', r"buses\[0\]\.baud: expected a whole number from 1200 to 115200"),
        ('parity = "N"', 'parity = "X"', r"buses\[0\]\.parity: expected one of N, E, O"),
        ('kind = "tcp"', 'kind = "can"', r"buses\[1\]\.kind: expected one of rtu, tcp"),
        ('bus = "block-b"', 'bus = "block-c"', r"meters\[2\]\.bus: expected the id of a configured bus"),
        ('profile = "eastron-sdm120"', 'profile = "acme-9000"', r"meters\[1\]\.profile: expected a known firmware"),
        ('address = 2', 'address = 300', r"meters\[1\]\.address: expected a whole number from 1 to 247"),
        ('utility = "electricity"\nprofile = "eastron-sdm630"', 'utility = "hot_water"\nprofile = "eastron-sdm630"',
         r"meters\[2\]\.utility: meter block-b-bulk is hot_water but \[tariffs\] has no hot_water tariff"),
        ('id = "unit-02-electricity"', 'id = "unit-01-electricity"', r"meters\[1\]\.id: 'unit-01-electricity' is used twice"),
        ('timezone = "Africa/Johannesburg"', 'timezone = "Mars/Olympus"', r"gateway\.timezone: expected an IANA"),
        ('poll_interval_s = 60', 'poll_intervall_s = 60', r"meters\[0\]\.poll_intervall_s: expected one of the keys"),
        ('"../tariffs/flat.toml"', '"../tariffs/missing.toml"', r"tariffs\.electricity: expected a readable tariff file"),
        ('reconnect_threshold_cents = 2000', 'reconnect_threshold_cents = -5', r"credit\.electricity"),
        ('[gateway]', '[gateway\n', r"not valid TOML"),
    ],
)  # fmt: skip
def test_a_bad_config_fails_at_start_naming_file_key_and_expectation(
    config_dir: Path, old: str, new: str, message: str
) -> None:
    path = config_dir / "edge.toml"
    replace_in(path, old, new)
    with pytest.raises(ConfigError, match=message) as failure:
        load_config_file(path)
    assert str(path) in str(failure.value), "the error names the file"


def test_a_bad_tariff_file_is_reported_through_the_config_key_that_names_it(config_dir: Path) -> None:
    replace_in(config_dir.parent / "tariffs" / "flat.toml", 'rate = "2.8500"', "rate = 2.85")
    with pytest.raises(ConfigError, match=r"tariffs\.electricity: .*flat\.toml.*tariff\.rate"):
        load_config_file(config_dir / "edge.toml")


def test_a_missing_config_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the agent's config"):
        load_config_file(tmp_path / "nope.toml")
