"""The web port's access rules, on a real aiohttp server: bearer token (constant-time), open
probe routes, JSON 404/405 for everything that is not a route."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from streams.web.views import OPEN_PATHS, api_middlewares, bearer_ok

TOKEN = "s3cret-token-0123456789"


class FakeRequest:
    def __init__(self, authorization: str | None) -> None:
        self.headers = {} if authorization is None else {"Authorization": authorization}


def test_bearer_ok_accepts_only_the_exact_token():
    assert bearer_ok(FakeRequest(f"Bearer {TOKEN}"), TOKEN)
    assert bearer_ok(FakeRequest(f"bearer {TOKEN}"), TOKEN)  # the scheme is case-insensitive
    for header in (None, "", TOKEN, f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ",
                   f"Bearer {TOKEN.upper()}", "Bearer ünïcödé"):
        assert not bearer_ok(FakeRequest(header), TOKEN), header
    assert bearer_ok(FakeRequest(None), None) and bearer_ok(FakeRequest("Bearer x"), None)  # no token: open


@given(st.text(max_size=40))
def test_no_other_header_passes(header):
    assert bearer_ok(FakeRequest(header), TOKEN) == (header.partition(" ")[0].lower() == "bearer"
                                                     and header.partition(" ")[2].strip() == TOKEN)


@pytest.fixture
async def site():
    async def ok(request):
        return web.json_response({"ok": request.path})

    app = web.Application(middlewares=api_middlewares(TOKEN))
    for path in ("/events", "/health", "/livez", "/metrics", "/", "/static/page.js", "/alerts/stream"):
        app.router.add_get(path, ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_token_gate_probes_open_and_json_errors(site):
    assert OPEN_PATHS == {"/health", "/livez"}
    async with aiohttp.ClientSession() as anon, aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {TOKEN}"}) as auth:
        for path in ("/health", "/livez", "/", "/static/page.js"):  # probes, and the page (it holds no data)
            async with anon.get(site + path) as resp:
                assert resp.status == 200
        for path in ("/events", "/metrics", "/alerts/stream", "/nope", "/router/", "/table/events/x/", "/static"):
            async with anon.get(site + path) as resp:
                assert resp.status == 401 and resp.headers["WWW-Authenticate"] == 'Bearer realm="wirestream"'
                assert (await resp.json())["error"].startswith("missing or wrong bearer token")
        async with auth.get(site + "/events") as resp:
            assert resp.status == 200 and await resp.json() == {"ok": "/events"}
        for path in ("/nope", "/router/", "/table/events/x/", "/stats/"):
            async with auth.get(site + path) as resp:
                assert resp.status == 404 and await resp.json() == {"error": "not found"}
        async with auth.post(site + "/events") as resp:
            assert resp.status == 405 and (await resp.json())["error"] == "method POST not allowed"
            assert "GET" in resp.headers["Allow"]


def test_api_token_setting_is_checked_and_never_shown():
    from streams.config import ConfigError, Settings

    s = Settings.from_env({"WIRESTREAM_API_TOKEN": TOKEN})
    assert s.api_token == TOKEN and TOKEN not in repr(s)
    with pytest.raises(ConfigError, match="WIRESTREAM_API_TOKEN must be at least 16"):
        Settings.from_env({"WIRESTREAM_API_TOKEN": "short"})
    assert Settings.from_env({"WIRESTREAM_API_TOKEN": ""}).api_token is None  # empty: unset
