"""The page's CSRF tokens and cookie parsing, without a server: what a forged form cannot pass."""

from __future__ import annotations

from edge_agent.web.csrf import CsrfGuard
from edge_agent.web.http import Request, parse_cookies

SECRET = b"0123456789abcdef0123456789abcdef"


def test_a_form_passes_only_with_this_gateways_signature_over_the_visitors_own_token() -> None:
    guard = CsrfGuard(SECRET)
    token, new = guard.visitor_token(None)
    assert new and len(token) == 32
    assert guard.visitor_token(token) == (token, False)  # a returning visitor keeps its token

    field = guard.form_value(token)
    assert guard.accepts(token, field)

    other_token, _ = guard.visitor_token(None)
    assert not guard.accepts(other_token, field)  # someone else's form, replayed
    assert not guard.accepts(token, CsrfGuard(b"another gateway's secret!").form_value(token))
    assert not guard.accepts(token, field[:-4] + "0000")
    assert not guard.accepts(token, token)  # the cookie value alone is not a signature
    assert not guard.accepts(None, field) and not guard.accepts(token, None) and not guard.accepts(token, "")
    assert not guard.accepts(token, "é" + field[1:])  # refused, not a crash


def test_a_malformed_token_cookie_is_replaced() -> None:
    guard = CsrfGuard(SECRET)
    for cookie in ("", "xyz", "0" * 31, "g" * 32, "0" * 33):
        token, new = guard.visitor_token(cookie)
        assert new and token != cookie


def test_cookies_and_forms_are_read_as_a_browser_sends_them() -> None:
    assert parse_cookies('a=1; csrftoken="abc"; junk; a=2; =x') == {"a": "1", "csrftoken": "abc"}
    form = Request(
        "POST",
        "/login",
        "",
        {"content-type": "application/x-www-form-urlencoded; charset=UTF-8"},
        b"password=correct+horse%21&_csrf_token=t.s",
        "127.0.0.1",
    )
    assert form.form() == {"password": "correct horse!", "_csrf_token": "t.s"}
    as_json = Request("POST", "/login", "", {"content-type": "application/json"}, b'{"password": "x"}', "")
    assert as_json.form() == {}
