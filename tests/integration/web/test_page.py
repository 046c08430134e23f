"""The estate's view of the gateway, in headless Chromium: what a resident or installer sees."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import msgspec
from playwright.sync_api import Browser, BrowserContext, Page, expect

from edge_agent.status import RelayView, status_json
from tests.integration.web.conftest import PASSWORD, ServePage
from tests.integration.web.fakes import NOW

# How many CSS pixels the page is wider than the viewport (positive: it scrolls sideways).
_OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _open(context: BrowserContext, url: str) -> tuple[Page, list[str]]:
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url)
    return page, requested


def test_page_lists_every_meter_with_its_values(serve_page: ServePage, context: BrowserContext) -> None:
    running = serve_page()
    page, requested = _open(context, running.base_url + "/")

    expect(page.get_by_role("heading", name="Oak Estate gateway")).to_be_visible()
    closed = page.locator("#meter-elec-01")
    for text in ["unit", "01", "electricity", "1234.56 kWh", "Online", "Closed – supply on", "ZAR 150.75"]:
        expect(closed).to_contain_text(text)
    expect(page.locator("#meter-elec-02")).to_contain_text("Open – supply off")
    expect(page.locator("#meter-elec-02 .balance")).to_contain_text("-ZAR 12.34")
    expect(page.locator("#meter-elec-02")).to_contain_text("Error rate: 2.5 %")
    offline = page.locator("#meter-elec-03")
    for text in ["Offline", "Failures in a row: 7", "Error rate: 40.0 %", "timeout after 1.0 s", "1 alarm"]:
        expect(offline).to_contain_text(text)
    expect(offline).to_contain_text("Unknown – not confirmed by the meter")
    water = page.locator("#meter-water-01")
    for text in ["water", "35210 L", "No relay", "no wallet"]:
        expect(water).to_contain_text(text)
    expect(closed).to_contain_text("Last good read: 2026-11-22 03:39:30 UTC (30 s ago)")

    expect(page.locator("#journal-length")).to_have_text("5120")
    expect(page.locator("#unsynced-backlog")).to_have_text("37")
    expect(page.locator("#last-sync")).to_have_text("never")
    alarms = page.get_by_role("table").filter(has_text="communication_loss")
    expect(alarms).to_contain_text("no answer for 15 min")
    expect(page.get_by_role("columnheader", name="Relay")).to_have_count(1)

    # Nothing comes from outside the gateway: it is often offline.
    assert requested and all(url.startswith(running.base_url) for url in requested), requested


def test_phone_viewport_fits_without_sideways_scrolling(
    serve_page: ServePage, browser: Browser, tmp_path: Path
) -> None:
    running = serve_page()
    phone = browser.new_context(viewport={"width": 375, "height": 667}, device_scale_factor=2, is_mobile=True)
    try:
        page = phone.new_page()
        page.goto(running.base_url + "/")
        expect(page.locator("#meter-water-01")).to_be_visible()
        assert page.evaluate("() => document.documentElement.clientWidth") == 375
        assert page.evaluate(_OVERFLOW) <= 0, "the page scrolls sideways on a 375 px phone"
        # Each meter reads as a labelled card on a phone, not as a squeezed table row.
        label = page.locator("#meter-elec-01 td.relay").evaluate(
            "cell => getComputedStyle(cell, '::before').content"
        )
        assert label == '"Relay"'
        page.screenshot(path=str(tmp_path / "gateway-phone.png"), full_page=True)
        assert (tmp_path / "gateway-phone.png").stat().st_size > 10_000

        # The installer's form and results fit too.
        page.goto(running.base_url + "/login")
        page.get_by_label("Installer password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("button", name="Read now").click()
        expect(page.get_by_role("status")).to_contain_text("elec-01 answered")
        assert page.evaluate(_OVERFLOW) <= 0
        page.locator("#installer").screenshot(path=str(tmp_path / "installer-phone.png"))
    finally:
        phone.close()


def test_page_refreshes_itself_when_the_gateway_changes(
    serve_page: ServePage, context: BrowserContext, tmp_path: Path
) -> None:
    running = serve_page(refresh_s=1)
    page, _ = _open(context, running.base_url + "/")
    expect(page.locator("#meter-elec-01")).to_contain_text("Closed – supply on")

    running.gateway.replace_meter(
        "elec-01", register=Decimal("1240.02"), relay=RelayView.OPEN, cached_balance_cents=-5
    )
    status = running.gateway.status()
    running.gateway.set_status(
        msgspec.structs.replace(status, unsynced_backlog=0, last_sync_at=NOW - timedelta(minutes=2))
    )

    meter = page.locator("#meter-elec-01")
    expect(meter).to_contain_text("1240.02 kWh", timeout=5_000)
    expect(meter).to_contain_text("Open – supply off")
    expect(meter).to_contain_text("-ZAR 0.05")
    expect(page.locator("#unsynced-backlog")).to_have_text("0")
    expect(page.locator("#last-sync")).to_contain_text("2026-11-22 03:38:00 UTC (2 min ago)")
    page.screenshot(path=str(tmp_path / "gateway-desktop.png"), full_page=True)

    # When the gateway stops answering, the page says its figures may be stale.
    running.stop()
    expect(page.get_by_role("alert")).to_contain_text("Lost contact with the gateway", timeout=5_000)


def test_json_endpoint_returns_the_same_status(serve_page: ServePage, context: BrowserContext) -> None:
    running = serve_page()
    page, _ = _open(context, running.base_url + "/")
    shown = page.evaluate("() => fetch('/api/status').then(r => r.json())")

    assert shown == msgspec.json.decode(status_json(running.gateway.status()))
    by_id = {meter["id"]: meter for meter in shown["meters"]}
    assert by_id["elec-01"]["register"] == "1234.56"
    assert by_id["elec-02"]["relay"] == "open"
    assert by_id["elec-02"]["cached_balance_cents"] == -1234
    assert shown["last_sync_at"] is None
    expect(page.locator("#journal-length")).to_have_text(str(shown["journal_length"]))
    health = page.evaluate("() => fetch('/healthz').then(r => r.text())")
    assert health == "ok"


def test_page_without_installer_password_says_how_to_enable_actions(
    serve_page: ServePage, context: BrowserContext
) -> None:
    running = serve_page(installer_password_hash=None)
    page, _ = _open(context, running.base_url + "/")

    notice = page.locator("#installer")
    expect(notice).to_contain_text("Installer actions are disabled")
    expect(notice).to_contain_text("quantify-provision hash-password")
    expect(notice).to_contain_text("installer_password_hash")
    expect(page.get_by_role("button", name=re.compile("Read now"))).to_have_count(0)
    page.goto(running.base_url + "/login")
    expect(page.get_by_label("Installer password")).to_have_count(0)
    expect(page.locator("#installer-disabled")).to_be_visible()
