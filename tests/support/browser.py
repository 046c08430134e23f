"""Debian's headless Chromium, driven by Playwright, for every test that looks at a page.

Chromium comes from the system (``scripts/ensure-chromium``, run by ``make test``), not from
Playwright's download: the test machines have no internet. Under ``CI=true`` a missing Chromium
fails the test, naming it; elsewhere the test is skipped with the same message.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import services

CHROMIUM = "/usr/bin/chromium"
# Without these, Chromium waits on connections the closed network never answers.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _chromium_missing() -> str | None:
    if shutil.which(CHROMIUM) is None:
        return f"Chromium not found at {CHROMIUM}: run scripts/ensure-chromium (apt-get install chromium)"
    try:
        subprocess.run([CHROMIUM, "--version"], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        return f"Chromium at {CHROMIUM} does not start ({error}): run scripts/ensure-chromium"
    return None


def chromium_browser() -> Iterator[Any]:
    """One headless Chromium (a generator for a session fixture); each test opens its own context."""
    problem = _chromium_missing()
    if problem is not None:
        if services.IN_CI:
            pytest.fail(f"{problem} (CI=true: browser tests may not be skipped)", pytrace=False)
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
