"""``quantify-cloud d0010 import|export|imports`` against a real database, as an operator runs them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import msgspec
import pytest

from cloud.d0010 import Reading, ValidatedFlow, cli, import_d0010
from tests.integration.d0010.conftest import row_counts
from tests.unit.d0010.flowfiles import D0010_FIXTURES, NOW

pytestmark = pytest.mark.postgres

ALL_GROUPS = D0010_FIXTURES / "all_groups.uff"
PARTIAL = D0010_FIXTURES / "partial.uff"


def quantify_cloud(monkeypatch: pytest.MonkeyPatch, url: str, *argv: str) -> int:
    monkeypatch.setenv("DATABASE_URL", url)
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["d0010", *argv])
    return int(args.handler(args))


def test_import_prints_a_json_report_per_file_and_fails_on_a_partial_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], migrated_url: str
) -> None:
    status = quantify_cloud(monkeypatch, migrated_url, "import", "--json", str(ALL_GROUPS), str(PARTIAL))

    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1
    assert [(r["file"], r["status"]) for r in reports] == [
        ("all_groups.uff", "imported"),
        ("partial.uff", "partial"),
    ]
    assert reports[1]["errors"][0]["line"] == 6
    assert reports[0]["storage"]["readings_stored"] == 4


def test_reimport_is_a_duplicate_and_succeeds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], migrated_url: str
) -> None:
    assert quantify_cloud(monkeypatch, migrated_url, "import", str(ALL_GROUPS)) == 0
    assert quantify_cloud(monkeypatch, migrated_url, "import", str(ALL_GROUPS)) == 0

    out = capsys.readouterr().out
    assert "all_groups.uff: duplicate" in out and "already imported as import 1" in out
    assert row_counts(migrated_url)["d0010_files"] == 1


def test_dry_run_and_unreadable_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], migrated_url: str, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.uff"
    status = quantify_cloud(monkeypatch, migrated_url, "import", "--dry-run", str(ALL_GROUPS), str(missing))

    captured = capsys.readouterr()
    assert status == 1
    assert "imported (dry run)" in captured.out
    assert "missing.uff: cannot read the file" in captured.err
    assert row_counts(migrated_url)["d0010_readings"] == 0


def test_import_export_import_reproduces_the_readings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], migrated_url: str, tmp_path: Path
) -> None:
    exported = tmp_path / "out.D0010"
    assert quantify_cloud(monkeypatch, migrated_url, "import", str(ALL_GROUPS)) == 0
    status = quantify_cloud(
        monkeypatch, migrated_url, "export", "--mpan", "1600001234564", "--mpan", "1700006543210",
        "--from", "2025-03-01", "--to", "2025-03-31", "--file-id", "EXP1", "--output", str(exported),
    )  # fmt: skip
    assert status == 0

    original, _ = import_d0010(ALL_GROUPS.read_bytes().splitlines(True), file_name="a", now=NOW)
    again, report = import_d0010(exported.read_bytes().splitlines(True), file_name="b", now=NOW)
    assert report.errors == () and report.trailer is not None and report.trailer.ok

    def readings(flows: list[ValidatedFlow]) -> set[Reading]:
        return {msgspec.structs.replace(r, line=0) for flow in flows for r in flow.readings}

    assert readings(again) == readings(original)
    capsys.readouterr()
    # Importing the export back changes nothing: every reading is already stored, none conflicts.
    assert quantify_cloud(monkeypatch, migrated_url, "import", "--json", str(exported)) == 0
    storage = json.loads(capsys.readouterr().out)["storage"]
    assert (
        storage["readings_stored"],
        storage["readings_already_stored"],
        storage["readings_conflicting"],
    ) == (0, 4, 0)


def test_export_refuses_a_bad_mpan(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], migrated_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "out.D0010"
    args = (
        "export",
        "--mpan",
        "1600001234565",
        "--from",
        "2025-03-01",
        "--to",
        "2025-03-31",
        "--output",
        str(out),
    )
    assert quantify_cloud(monkeypatch, migrated_url, *args) == 2
    assert "check digit" in capsys.readouterr().err
    assert not out.exists()


def test_imports_lists_what_was_stored(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], migrated_url: str
) -> None:
    quantify_cloud(monkeypatch, migrated_url, "import", str(ALL_GROUPS), str(PARTIAL))
    capsys.readouterr()

    assert quantify_cloud(monkeypatch, migrated_url, "imports", "--json") == 0
    listing = json.loads(capsys.readouterr().out)
    assert [(i["file_name"], i["status"], i["readings_stored"]) for i in listing] == [
        ("partial.uff", "partial", 2),
        ("all_groups.uff", "imported", 4),
    ]
    assert listing[0]["sender"] == "M/ABCD" and listing[1]["is_test"]
