"""``quantify-provision hash-password`` prints the config line the gateway's page accepts."""

from __future__ import annotations

import io
import tomllib

import pytest

from edge_agent.web import verify_password
from provisioning.cli import main


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], password: str
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    status = main(["hash-password", "--stdin"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_printed_line_is_toml_whose_hash_verifies_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(monkeypatch, capsys, "estate installer 42")
    stored = tomllib.loads(out)["installer_password_hash"]
    assert status == 0
    assert verify_password("estate installer 42", stored)
    assert not verify_password("estate installer 43", stored)
    assert "estate installer" not in out, "the password itself is never printed"


def test_a_short_password_is_refused_and_nothing_is_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(monkeypatch, capsys, "short")
    assert (status, out) == (1, "")
    assert "at least 10 characters" in err
