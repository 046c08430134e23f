"""The installer's part of the page, in headless Chromium: login, actions, and what is refused."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Cookie, Page, Response, expect

from tests.integration.web.conftest import PASSWORD, ServePage


def _log_in(page: Page, base_url: str, password: str) -> Response:
    page.goto(base_url + "/login")
    page.get_by_label("Installer password").fill(password)
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        page.get_by_role("button", name="Log in").click()
    return answer.value


def _csrf_token(page: Page) -> str:
    return str(page.locator("input[name=_csrf_token]").first.get_attribute("value"))


def _session_cookies(context: BrowserContext) -> list[Cookie]:
    return [cookie for cookie in context.cookies() if cookie["name"] == "quantify_installer"]


def test_wrong_password_fails_then_logins_are_paused(serve_page: ServePage, context: BrowserContext) -> None:
    running = serve_page()  # the fixture's limiter allows 3 failures per client
    page = context.new_page()

    for left in (2, 1):
        answer = _log_in(page, running.base_url, "not the password")
        assert answer.status == 401
        expect(page.get_by_role("alert")).to_have_text(
            f"Wrong password. {left} more attempt(s) before logins pause."
        )
    answer = _log_in(page, running.base_url, "still not the password")
    assert answer.status == 401
    expect(page.get_by_role("alert")).to_have_text("Wrong password. Logins are now paused for 5 minute(s).")

    # Now even the right password is refused until the window has passed.
    answer = _log_in(page, running.base_url, PASSWORD)
    assert answer.status == 429
    assert int(answer.headers["retry-after"]) > 0
    expect(page.get_by_role("alert")).to_contain_text("Too many wrong passwords. Try again in 5 minute(s).")
    assert _session_cookies(context) == []
    page.goto(running.base_url + "/")
    expect(page.get_by_role("link", name="Log in as the installer")).to_be_visible()


def test_installer_reads_a_meter_and_tests_a_relay_after_login(
    serve_page: ServePage, context: BrowserContext
) -> None:
    running = serve_page()
    page = context.new_page()

    answer = _log_in(page, running.base_url, PASSWORD)
    assert answer.status == 303
    expect(page).to_have_url(re.compile(r"/#installer$"))
    (cookie,) = _session_cookies(context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] > 0

    page.get_by_label("Meter", exact=True).select_option("elec-02")
    page.get_by_role("button", name=re.compile("Relay test")).click()
    results = page.get_by_role("status")
    expect(results).to_contain_text("Relay test on elec-02")
    expect(results).to_contain_text("opened (meter confirmed open), closed (meter confirmed closed)")

    page.get_by_label("Meter", exact=True).select_option("elec-01")
    page.get_by_role("button", name="Read now").click()
    expect(results.locator("li").first).to_contain_text("Read now on elec-01")
    expect(results.locator("li").first).to_contain_text("elec-01 answered: 1234.57 kWh")
    assert running.gateway.actions == [("relay_test", "elec-02"), ("read", "elec-01")]

    # A relay test on a meter without a relay is answered on the page, never sent to the meter.
    page.get_by_label("Meter", exact=True).select_option("water-01")
    page.get_by_role("button", name=re.compile("Relay test")).click()
    expect(results.locator("li").first).to_contain_text("Failed")
    expect(results.locator("li").first).to_contain_text("this meter has no relay to test")
    assert len(running.gateway.actions) == 2

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in as the installer")).to_be_visible()
    assert _session_cookies(context) == []


def test_actions_without_a_session_are_refused(serve_page: ServePage, context: BrowserContext) -> None:
    running = serve_page()
    page = context.new_page()
    page.goto(running.base_url + "/login")
    token = _csrf_token(page)  # a valid CSRF token: only the session is missing

    answer = page.request.post(
        running.base_url + "/installer/relay-test",
        form={"meter_id": "elec-01", "_csrf_token": token},
        max_redirects=0,
    )
    assert answer.status == 403
    assert "Log in as the installer first" in answer.text()
    assert running.gateway.actions == []


def test_a_logged_out_session_cookie_no_longer_works(serve_page: ServePage, context: BrowserContext) -> None:
    running = serve_page()
    page = context.new_page()
    _log_in(page, running.base_url, PASSWORD)
    (kept,) = _session_cookies(context)
    token = _csrf_token(page)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in as the installer")).to_be_visible()

    # Someone kept a copy of the cookie.
    context.add_cookies([{"name": kept["name"], "value": kept["value"], "url": running.base_url}])
    answer = page.request.post(
        running.base_url + "/installer/read-now", form={"meter_id": "elec-01", "_csrf_token": token}
    )
    assert answer.status == 403
    assert running.gateway.actions == []


def test_actions_without_a_valid_csrf_token_are_refused(
    serve_page: ServePage, context: BrowserContext
) -> None:
    running = serve_page()
    page = context.new_page()
    _log_in(page, running.base_url, PASSWORD)
    token = _csrf_token(page)
    tampered = token[:-4] + ("0000" if not token.endswith("0000") else "1111")

    forms: list[dict[str, str | float | bool]] = [
        {"meter_id": "elec-01"},
        {"meter_id": "elec-01", "_csrf_token": tampered},
    ]
    for form in forms:
        answer = page.request.post(running.base_url + "/installer/read-now", form=form, max_redirects=0)
        assert answer.status == 403, form
        assert "Reload the page and try again" in answer.text()
    assert running.gateway.actions == []

    # The same form with the page's own token goes through: the session itself was fine.
    answer = page.request.post(
        running.base_url + "/installer/read-now",
        form={"meter_id": "elec-01", "_csrf_token": token},
        max_redirects=0,
    )
    assert answer.status == 303
    assert running.gateway.actions == [("read", "elec-01")]


def test_login_form_needs_its_csrf_token_too(serve_page: ServePage, context: BrowserContext) -> None:
    running = serve_page()
    page = context.new_page()
    page.goto(running.base_url + "/login")

    answer = page.request.post(running.base_url + "/login", form={"password": PASSWORD}, max_redirects=0)
    assert answer.status == 403
    assert _session_cookies(context) == []


def test_a_slow_relay_test_is_never_cut_short(serve_page: ServePage, context: BrowserContext) -> None:
    running = serve_page(action_wait_s=0.3, refresh_s=1)
    running.gateway.relay_test_s = 3.0
    page = context.new_page()
    _log_in(page, running.base_url, PASSWORD)

    page.get_by_label("Meter", exact=True).select_option("elec-01")
    page.get_by_role("button", name=re.compile("Relay test")).click()
    newest = page.get_by_role("status").locator("li").first
    expect(newest).to_contain_text("Still running")
    expect(newest).to_contain_text("the gateway is still on it")

    # While it runs, a second action is refused rather than switching the relay under it.
    answer = page.request.post(
        running.base_url + "/installer/read-now",
        form={"meter_id": "elec-01", "_csrf_token": _csrf_token(page)},
        max_redirects=0,
    )
    assert answer.status == 409
    assert "Another installer action is still running" in answer.text()

    # The test finishes (the relay is closed again) and its result appears without a reload.
    expect(newest).to_contain_text("meter confirmed closed", timeout=8_000)
    assert running.gateway.relay_tests_finished == 1
    assert running.gateway.actions == [("relay_test", "elec-01")]
