"""``quantify-provision decode`` shows an installer what a payload decodes to, or why it does not."""

from __future__ import annotations

import argparse
import json
from typing import Any

import pytest

from provisioning import cli, decode

W1 = "01aeac986a003217000000000000000000008003800054000e4005100048000240020000200000000000000000000000000000"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quantify-provision")
    decode.register(parser.add_subparsers(dest="command", required=True))
    return parser


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    args = _parser().parse_args(["decode", *argv])
    status = args.handler(args)
    captured = capsys.readouterr()
    return status, json.loads(captured.out) if captured.out else None, captured.err


def test_a_socket_report_prints_measurements_and_relay_state(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "--profile", "milesight-ws52x", "--fport", "85", "0374ed08 087001")
    assert status == 0
    assert out["measurements"] == {"voltage_v": "228.5"}
    assert out["relay_closed"] is True
    assert out["alarms"] == []


def test_a_water_meter_prints_history_and_meter_time_in_utc(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "--profile", "axioma-qalcosonic-w1", "--fport", "100", W1)
    assert status == 0
    assert out["measurements"] == {"volume_l": "6054"}
    assert out["device_time"] == "2026-09-02T23:09:34Z"
    assert out["history"][0] == {"at": "2026-09-02T00:00:00Z", "measurement": "volume_l", "value": "5938"}
    assert len(out["history"]) == 24


def test_pulses_with_a_weight_print_the_billing_measurement(capsys: pytest.CaptureFixture[str]) -> None:
    # ChirpStack shows payloads as base64: AXVcBcgAAQAA is 01 75 5C 05 C8 00 01 00 00.
    status, out, _ = _run(
        capsys,
        "--profile",
        "milesight-em300-di",
        "--fport",
        "85",
        "--base64",
        "--pulse-weight",
        "10",
        "AXVcBcgAAQAA",
    )
    assert status == 0
    assert out["measurements"] == {"battery_pct": "92", "pulse_count": "256", "volume_l": "2560"}


def test_alarms_print_the_journal_kind_and_the_vendor_condition(capsys: pytest.CaptureFixture[str]) -> None:
    telegram = "2A442D2C998734761B168D2091D37CAC21576C7802FF207100041308190000441308190000615B7F616713"
    status, out, _ = _run(capsys, "--profile", "kamstrup-multical-21", telegram)
    assert status == 0
    assert out["alarms"] == [{"kind": "dry", "condition": "dry", "detail": "dry for 22-31 days"}]
    assert out["device_id"] == "76348799"


def test_an_undecodable_payload_prints_the_error_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "--profile", "dragino-lt22222-l", "--fport", "42", "04ab04ac13101300aaff01")
    assert status == 1
    assert out["error"].startswith("dragino-lt22222-l: fPort 42:")
    assert "measurements" not in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--profile", "acme-nothing", "00"], "known model ids"),
        (["--profile", "eastron-sdm120", "00"], "Modbus meter"),
        (["--profile", "milesight-ws52x", "--fport", "85", "zz"], "not hex"),
        (["--profile", "milesight-ws52x", "--base64", "%%"], "not base64"),
        (["--profile", "adeunis-pulse", "--fport", "1", "--pulse-weight", "ten", "4600"], "not a decimal"),
        (["--profile", "adeunis-pulse", "--fport", "1", "--pulse-weight", "0", "4600"], "pulse_weight"),
        (["--profile", "adeunis-pulse", "--fport", "1", "--pulse-input", "C", "4600"], "does not exist"),
    ],
    ids=[
        "unknown profile",
        "modbus profile",
        "bad hex",
        "bad base64",
        "weight not a number",
        "zero weight",
        "input",
    ],
)
def test_wrong_input_is_a_usage_error_saying_what_to_fix(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    status, out, err = _run(capsys, *argv)
    assert status == 2
    assert out is None
    assert words in err


def test_the_installer_cli_runs_decode(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["decode", "--profile", "milesight-ws52x", "--fport", "85", "087000"]) == 0
    assert json.loads(capsys.readouterr().out)["relay_closed"] is False
    assert cli.main(["decode", "--profile", "milesight-ws52x", "--fport", "85", "0870"]) == 1
