"""``quantify-cloud tariff rate``: what an operator sees when rating a CSV of readings."""

from __future__ import annotations

import argparse
import json
import subprocess
from decimal import Decimal

import pytest

from cloud.entrypoints import cli as entrypoint
from cloud.tariffs import cli
from tests.support.paths import REPO_ROOT
from tests.unit.tariffs.conftest import EXAMPLES

READINGS = """timestamp,register
2026-07-06T06:30:00+02:00,100.000
2026-07-06T06:45:00+02:00,100.250
2026-07-06T07:15:00+02:00,101.000
2026-07-06T23:50:00+02:00,110
2026-07-07T00:20:00+02:00,110.5
"""
TOU_BLOCKS = str(EXAMPLES / "time_of_use_blocks.toml")


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="quantify-cloud")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


@pytest.fixture
def readings(tmp_path):
    path = tmp_path / "readings.csv"
    path.write_text(READINGS)
    return path


def test_json_lists_every_piece_with_cents_and_a_total(readings, capsys):
    assert run(["tariff", "rate", TOU_BLOCKS, str(readings), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    charges = document["charges"]
    assert set(charges[0]) == {"start", "end", "quantity", "band", "amount_cents"}
    assert charges[0] == {
        "start": "2026-07-06T06:30:00+02:00",
        "end": "2026-07-06T06:45:00+02:00",
        "quantity": "0.250",
        "band": "off_peak/block:1",
        "amount_cents": 40,
    }
    # The 06:45–07:15 interval is split at the 07:00 switch to peak.
    assert [(c["start"][11:16], c["end"][11:16], c["band"]) for c in charges[2:4]] == [
        ("06:45", "07:00", "off_peak/block:1"),
        ("07:00", "07:15", "peak/block:1"),
    ]
    assert document["total_cents"] == sum(c["amount_cents"] for c in charges)
    energy = sum(Decimal(c["quantity"]) for c in charges)
    assert energy == Decimal("10.5")


def test_total_is_within_a_cent_of_the_exact_amount(tmp_path, capsys):
    lines = ["timestamp,register"] + [
        f"2026-07-06T10:{m:02d}:00+02:00,{Decimal(m) / 1000}" for m in range(60)
    ]
    path = tmp_path / "minutes.csv"
    path.write_text("\n".join(lines))
    assert run(["tariff", "rate", str(EXAMPLES / "flat.toml"), str(path), "--json"]) == 0
    total = json.loads(capsys.readouterr().out)["total_cents"]
    exact = Decimal("0.059") * Decimal("2.85") + Decimal("5.20") * 59 / 1440  # 59 Wh and 59 minutes
    assert abs(Decimal(total) - exact * 100) <= 1


def test_table_is_readable_and_ends_with_the_total(readings, capsys):
    assert run(["tariff", "rate", TOU_BLOCKS, str(readings)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Tariff Estate TOU with blocks (electricity, ZAR per kWh)"
    assert "peak/block:1" in out[5]
    assert out[-1].startswith("Total") and out[-1].endswith("ZAR 38.39")


def test_register_going_backwards_names_the_file_and_line(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(READINGS.replace("101.000", "99.000"))
    assert run(["tariff", "rate", TOU_BLOCKS, str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path} line 4: register 99.000 is below 100.250 on line 3" in err


def test_timestamp_not_increasing_names_the_file_and_line(tmp_path, capsys):
    path = tmp_path / "order.csv"
    path.write_text(READINGS.replace("2026-07-06T07:15:00+02:00", "2026-07-06T06:40:00+02:00"))
    assert run(["tariff", "rate", TOU_BLOCKS, str(path)]) == 1
    assert f"{path} line 4: timestamp 2026-07-06T06:40:00+02:00 is not after" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("2026-07-06T07:15:00,101", "expected an ISO 8601 timestamp with a UTC offset"),
        ("2026-07-06T07:15:00+02:00,lots", "expected a register value"),
        ("2026-07-06T07:15:00+02:00", "expected 2 columns timestamp,register, got 1"),
    ],
)
def test_malformed_rows_name_the_file_and_line(tmp_path, capsys, row, expected):
    path = tmp_path / "malformed.csv"
    path.write_text(READINGS.replace("2026-07-06T07:15:00+02:00,101.000", row))
    assert run(["tariff", "rate", TOU_BLOCKS, str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path} line 4: {expected}" in err


def test_bad_tariff_file_is_reported_with_its_path(tmp_path, readings, capsys):
    tariff = tmp_path / "tariff.toml"
    tariff.write_text((EXAMPLES / "flat.toml").read_text().replace('"2.8500"', "2.85"))
    assert run(["tariff", "rate", str(tariff), str(readings)]) == 1
    assert f"{tariff}: tariff.rate: expected a decimal string" in capsys.readouterr().err


def test_missing_file_is_an_error_not_a_traceback(readings, capsys):
    assert run(["tariff", "rate", "nowhere.toml", str(readings)]) == 1
    assert "cannot read nowhere.toml" in capsys.readouterr().err


def test_a_later_version_file_takes_over_from_its_date(tmp_path, capsys):
    later = tmp_path / "august.toml"
    later.write_text((EXAMPLES / "flat.toml").read_text().replace("2026-07-01", "2026-08-01"))
    path = tmp_path / "readings.csv"
    path.write_text("2026-07-31T23:00:00+02:00,0\n2026-08-01T01:00:00+02:00,2\n")
    assert run(["tariff", "rate", str(EXAMPLES / "flat.toml"), str(path), "--version-file", str(later)]) == 0
    out = capsys.readouterr().out
    assert "Estate domestic flat@2026-07-01" in out and "Estate domestic flat@2026-08-01" in out


def test_quantify_cloud_main_runs_the_tariff_command(readings, capsys):
    assert entrypoint.main(["tariff", "rate", TOU_BLOCKS, str(readings), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_cents"] == 3839


def test_installed_console_script_rates_a_file(readings):
    done = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "quantify-cloud"), "tariff", "rate", TOU_BLOCKS, str(readings), "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total_cents"] == 3839


def test_readings_before_the_tariff_starts_name_the_line(tmp_path, capsys):
    path = tmp_path / "early.csv"
    path.write_text("2026-06-30T22:00:00+02:00,5\n2026-06-30T23:00:00+02:00,6\n")
    assert run(["tariff", "rate", TOU_BLOCKS, str(path)]) == 1
    assert f"{path} line 2: 2026-06-30T22:00:00+02:00 is before the first version" in capsys.readouterr().err
