"""The webhook dispatcher against REAL local HTTP servers (aiohttp.web on 127.0.0.1), no mocks."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import dataclass, field

import pytest
import standardwebhooks
from aiohttp import web

from streams.core import webhooks as wh
from streams.core.webhooks import RetryPolicy
from streams.runtime.delivery import WebhookDispatcher
from streams.runtime.metrics import Metrics

from .test_webhooks import SECRET, SECRET_B, doc_verify, make_alert, schema_validator

FAST = RetryPolicy(schedule=(0.01, 0.02, 0.03, 0.04, 0.05), retry_after_max=5.0)  # 6 attempts


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float


@dataclass
class HookServer:
    """Answers POST /<name> from a script of (status, headers) per name, then 200; records all."""

    scripts: dict = field(default_factory=dict)
    received: list = field(default_factory=list)
    runner: web.AppRunner | None = None
    port: int = 0

    async def start(self) -> HookServer:
        app = web.Application()
        app.router.add_post("/{name}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]
        return self

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = await request.read()
        self.received.append(Received(name, dict(request.headers), body, time.monotonic()))
        script = self.scripts.get(name) or []
        status, headers = script.pop(0) if script else (200, {})
        return web.Response(status=status, headers=headers, text="ok" if status < 300 else "no")

    def url(self, name: str, auth: str = "") -> str:
        return f"http://{auth}127.0.0.1:{self.port}/{name}"

    def at(self, name: str) -> list[Received]:
        return [r for r in self.received if r.path == name]


@pytest.fixture
async def server():
    s = await HookServer().start()
    yield s
    await s.runner.cleanup()


@pytest.fixture
async def hung_url():
    """Accepts connections, reads, never answers."""
    conns = []

    async def handle(reader, writer):
        conns.append(writer)
        await reader.read(65536)
        await asyncio.sleep(3600)

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/hook"
    for w in conns:
        w.close()
    srv.close()


def endpoints(*specs, timeout=2.0, max_attempts=6, concurrency=2):
    """specs: url, or (url, secret, filters)."""
    raw = []
    for spec in specs:
        url, secret, filters = (spec, SECRET, None) if isinstance(spec, str) else spec
        raw.append({"url": url, "secret": secret, **({"filters": filters} if filters else {})})
    return wh.endpoints_from_config(config={"endpoints": raw}, timeout=timeout, max_attempts=max_attempts,
                                    concurrency=concurrency)


def dispatcher(eps, **kw):
    kw.setdefault("policy", FAST)
    kw.setdefault("rand", __import__("random").Random(1).random)
    kw.setdefault("allow_private", True)  # the receivers are on 127.0.0.1
    return WebhookDispatcher(eps, **kw)


async def test_one_signed_post_per_endpoint(server):
    eps = endpoints(server.url("a"), (server.url("b"), SECRET_B, None),
                    (server.url("de-only"), SECRET, {"languages": ["de"]}))
    store: dict = {}
    async with dispatcher(eps, store=store, source="urn:wirestream:test") as d:
        keys = d.submit(make_alert())
        assert len(keys) == 2 and all(k in store for k in keys)  # written before the first attempt
        assert await d.wait_idle(5)
    assert store == {}
    assert sorted(r.path for r in server.received) == ["a", "b"]
    verify = doc_verify()
    for r, secret in ((server.at("a")[0], SECRET), (server.at("b")[0], SECRET_B)):
        assert r.headers["Content-Type"] == "application/cloudevents+json"
        assert r.headers["webhook-id"] == "al-0123456789abcdef"
        assert abs(int(r.headers["webhook-timestamp"]) - time.time()) < 10
        event = verify(secret, r.headers, r.body)  # the documented recipe, as documented
        assert standardwebhooks.Webhook(secret).verify(r.body, r.headers) == event  # the reference library
        assert event["id"] == "al-0123456789abcdef" and event["source"] == "urn:wirestream:test"
        assert event["data"] == make_alert()
        with pytest.raises(ValueError):
            verify(SECRET if secret == SECRET_B else SECRET_B, r.headers, r.body)


async def test_500_three_times_then_200_same_webhook_id(server):
    server.scripts["flaky"] = [(500, {})] * 3
    metrics = Metrics()
    store: dict = {}
    async with dispatcher(endpoints(server.url("flaky")), store=store, metrics=metrics) as d:
        d.submit(make_alert())
        assert await d.wait_idle(5)
    got = server.at("flaky")
    assert len(got) == 4 and {r.headers["webhook-id"] for r in got} == {"al-0123456789abcdef"}
    assert len({r.body for r in got}) == 1
    for r in got:  # every attempt is validly signed with its own timestamp
        doc_verify()(SECRET, r.headers, r.body)
    assert store == {}
    text = metrics.render().decode()
    ep_id = next(iter(d.endpoints))
    assert f'wirestream_webhook_deliveries_total{{endpoint="{ep_id}",outcome="retried"}} 3.0' in text


async def test_429_retry_after_is_honoured(server):
    server.scripts["busy"] = [(429, {"Retry-After": "1"})]
    async with dispatcher(endpoints(server.url("busy"))) as d:
        d.submit(make_alert())
        assert await d.wait_idle(5)
    first, second = server.at("busy")
    assert second.at - first.at >= 0.95  # backoff alone would be <= 0.05 s


async def test_410_goes_to_dead_letter_with_last_status(server):
    server.scripts["gone"] = [(410, {})]
    dead: list = []

    async def on_dead_letter(record):
        dead.append(record)

    store: dict = {}
    eps = endpoints(server.url("gone", auth="bob:hunter2@") + "?token=s3cr3t", server.url("ok"))
    async with dispatcher(eps, store=store, on_dead_letter=on_dead_letter) as d:
        d.submit(make_alert())
        assert await d.wait_idle(5)
    assert len(server.at("gone")) == 1 and len(server.at("ok")) == 1
    (record,) = dead
    schema_validator("webhook-dead-letter").validate(record)
    assert record["reason"] == "rejected" and record["last_status"] == 410 and record["attempts"] == 1
    assert record["alert_id"] == "al-0123456789abcdef" and record["event_id"] == "ev-42"
    assert record["alert"] == make_alert() and "410" in record["last_error"]
    assert record["endpoint"] == f"http://***@127.0.0.1:{server.port}/gone?token=***"
    assert store == {}


async def test_retries_exhausted_network_errors_dead_letter():
    import socket

    with socket.socket() as s:  # a port nobody listens on: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead: list = []

    async def on_dead_letter(record):
        dead.append(record)

    metrics = Metrics()
    async with dispatcher(endpoints(f"http://127.0.0.1:{port}/x", max_attempts=3), on_dead_letter=on_dead_letter,
                          metrics=metrics) as d:
        d.submit(make_alert())
        assert await d.wait_idle(5)
    (record,) = dead
    assert record["reason"] == "exhausted" and record["attempts"] == 3 and record["last_status"] is None
    assert "Connect" in record["last_error"]
    assert 'outcome="dead_letter"} 1.0' in metrics.render().decode()


async def test_hung_endpoint_does_not_delay_a_healthy_one(server, hung_url):
    eps = endpoints(hung_url, server.url("healthy"), timeout=1.0, concurrency=1)
    d = dispatcher(eps)
    await d.start()
    try:
        start = time.monotonic()
        for i in range(5):  # more alerts than the hung endpoint has workers
            d.submit(make_alert(f"al-{i:016d}"))
        assert time.monotonic() - start < 0.05  # submit never waits for HTTP
        while len(server.at("healthy")) < 5 and time.monotonic() - start < 5:
            await asyncio.sleep(0.01)
        assert len(server.at("healthy")) == 5
        assert server.at("healthy")[-1].at - start < 0.5  # well within the hung endpoint's 1 s timeout
    finally:
        await d.close()


async def test_timeout_is_retried(server, hung_url):
    dead: list = []

    async def on_dead_letter(record):
        dead.append(record)

    async with dispatcher(endpoints(hung_url, timeout=0.2, max_attempts=2), on_dead_letter=on_dead_letter) as d:
        d.submit(make_alert())
        assert await d.wait_idle(5)
    assert dead[0]["attempts"] == 2 and "timeout" in dead[0]["last_error"]


async def test_restart_resumes_pending_deliveries(server):
    server.scripts["down"] = [(503, {})]  # fails once, then the "new worker" finds it up
    store: dict = {}
    slow = RetryPolicy(schedule=(30.0,), max_attempts=6)  # next attempt would be far away
    eps = endpoints(server.url("down"), server.url("later"))
    first = dispatcher(eps, store=store, policy=slow, rand=lambda: 0.5)
    await first.start()
    first.submit(make_alert())
    while not server.at("down"):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    await first.close()
    (pending,) = [v for k, v in store.items() if v["endpoint"] == eps[0].id]
    assert pending["attempts"] == 1 and pending["last_status"] == 503 and pending["next_attempt_at"] > time.time() + 20
    assert "secret" not in repr(store).lower() and SECRET[6:] not in repr(store)

    # a brand-new dispatcher on the same store (as after a worker restart) with due entries
    for entry in store.values():
        entry["next_attempt_at"] = time.time()
    second = dispatcher(eps, store=store)
    async with second:
        assert second.resume() == len(store)
        assert second.resume() == 0  # idempotent: nothing scheduled twice
        assert await second.wait_idle(5)
    assert store == {}
    got = server.at("down")
    assert len(got) == 2 and got[0].headers["webhook-id"] == got[1].headers["webhook-id"]
    assert len(server.at("later")) == 1


async def test_close_before_first_attempt_keeps_entries(server, hung_url):
    store: dict = {}
    d = dispatcher(endpoints(hung_url, timeout=5.0), store=store)
    await d.start()
    d.submit(make_alert("al-aaaaaaaaaaaaaaaa"))
    d.submit(make_alert("al-bbbbbbbbbbbbbbbb"))
    await asyncio.sleep(0.1)  # both in flight, hung
    await d.close()
    assert len(store) == 2 and all(e["attempts"] == 0 for e in store.values())
    # the endpoint is back (same id, now served by the healthy server)
    (ep,) = endpoints(server.url("back"))
    moved = {f"{ep.id}|{k.split('|')[1]}": dict(v, endpoint=ep.id) for k, v in store.items()}
    async with dispatcher([ep], store=moved) as d2:
        d2.resume()
        assert await d2.wait_idle(5)
    assert {r.headers["webhook-id"] for r in server.at("back")} == {"al-aaaaaaaaaaaaaaaa", "al-bbbbbbbbbbbbbbbb"}
    assert moved == {}


async def test_removed_endpoint_is_dead_lettered_on_resume(server):
    dead: list = []

    async def on_dead_letter(record):
        dead.append(record)

    store = {"ep-gone|al-1": {"endpoint": "ep-gone", "url": "https://old.example.com/x", "alert": make_alert("al-1"),
                              "attempts": 2, "next_attempt_at": 0, "created": 0, "last_status": 500,
                              "last_error": "HTTP 500"}}
    async with dispatcher(endpoints(server.url("a")), store=store, on_dead_letter=on_dead_letter) as d:
        assert d.resume() == 1
        assert await d.wait_idle(5)
    assert dead[0]["reason"] == "endpoint_removed" and dead[0]["attempts"] == 2 and store == {}


async def test_failing_dead_letter_callback_is_retried(server):
    server.scripts["gone"] = [(404, {})]
    calls: list = []

    async def on_dead_letter(record):
        calls.append(record)
        if len(calls) < 3:
            raise RuntimeError("kafka unavailable")

    store: dict = {}
    async with dispatcher(endpoints(server.url("gone")), store=store, on_dead_letter=on_dead_letter) as d:
        d.submit(make_alert())
        assert await d.wait_idle(5)
    assert len(calls) == 3 and len(server.at("gone")) == 1 and store == {}


async def test_duplicate_submit_while_pending_is_not_duplicated(server):
    server.scripts["slow"] = [(500, {})]
    async with dispatcher(endpoints(server.url("slow"))) as d:
        assert len(d.submit(make_alert())) == 1
        assert d.submit(make_alert()) == []
        assert await d.wait_idle(5)
    assert len(server.at("slow")) == 2


async def test_secrets_never_logged(server, caplog):
    caplog.set_level(logging.DEBUG)
    server.scripts["x"] = [(500, {}), (410, {})]
    secret_raw = base64.b64decode(SECRET[6:])
    eps = endpoints(server.url("x", auth="bob:hunter2@") + "?token=s3cr3t",
                    "http://alice:pa55word@127.0.0.1:1/refused?key=k3y")
    async with dispatcher(eps, on_dead_letter=lambda r: asyncio.sleep(0)) as d:
        d.submit(make_alert())
        assert await d.wait_idle(10)
        text = repr(d) + repr(d.endpoints)
    assert caplog.records, "expected retry / dead-letter log lines"
    text += "\n".join(r.getMessage() + str(r.args) + (r.exc_text or "") for r in caplog.records)
    for hidden in (SECRET, SECRET[6:], repr(secret_raw), "hunter2", "s3cr3t", "pa55word", "k3y"):
        assert hidden not in text


async def test_submit_requires_a_running_dispatcher():
    d = dispatcher(endpoints("http://127.0.0.1:1/x"))
    with pytest.raises(RuntimeError, match="start"):
        d.submit(make_alert())
    await d.start()
    with pytest.raises(ValueError, match="alert_id"):
        d.submit({"type": "story_update"})
    await d.close()


# ---- receivers that fail in every way a real one does ----------------------------------------

from ..integration.receiver import Receiver  # noqa: E402 - the integration tests' receiver


async def _collect(on_dead: list):
    async def on_dead_letter(record):
        on_dead.append(record)

    return on_dead_letter


def _assert_each_accepted_once(rx: Receiver, path: str, alert_ids: list[str]) -> None:
    accepted = [r.headers["webhook-id"] for r in rx.delivered(path)]
    assert sorted(accepted) == sorted(alert_ids), path
    hook = standardwebhooks.Webhook(SECRET)
    for r in rx.requests(path):  # every attempt, failed or not, carried a valid signature
        assert hook.verify(r.body, r.headers)["id"] == r.headers["webhook-id"]


@pytest.mark.parametrize("script", [
    ["reset", "reset", 200], ["drop", 200], ["garbage", 200], ["hang", 200], [500, 503, 429, 200],
    ["reset", "drop", "garbage", "hang", 502, 200],
])
async def test_hostile_receiver_every_failure_is_retried_until_accepted(script):
    dead: list = []
    store: dict = {}
    ids = [f"al-{i:016x}" for i in range(4)]
    async with Receiver() as rx:
        rx.answer("/in", list(script))
        (ep,) = endpoints(rx.url("/in"), timeout=0.3, concurrency=1)
        async with dispatcher([ep], store=store, on_dead_letter=await _collect(dead)) as d:
            for alert_id in ids:
                d.submit(make_alert(alert_id))
            assert await d.wait_idle(15)
    assert dead == [] and store == {}
    _assert_each_accepted_once(rx, "/in", ids)
    assert len(rx.requests("/in")) == len(ids) + len(script) - 1  # each failure cost one retry


async def test_keep_alive_connections_closed_by_the_receiver_lose_nothing():
    """The receiver closes each idle keep-alive connection 20 ms after answering; the worker's
    event loop is busy (blocked) meanwhile, so it has not seen the close when it sends the next
    alert on that connection: a failed attempt, retried, never an internal error or a loss."""
    dead: list = []
    store: dict = {}
    ids = [f"al-{i:016x}" for i in range(8)]
    async with Receiver() as rx:
        rx.answer("/in", "close-after")
        (ep,) = endpoints(rx.url("/in"), timeout=2.0, concurrency=1)
        async with dispatcher([ep], store=store, on_dead_letter=await _collect(dead)) as d:
            for alert_id in ids:
                d.submit(make_alert(alert_id))
                await asyncio.sleep(0.01)  # the request goes out and is answered ...
                time.sleep(0.1)  # ... then the loop is busy while the receiver closes the connection
            assert await d.wait_idle(15)
    assert dead == [] and store == {}
    _assert_each_accepted_once(rx, "/in", ids)


async def test_receiver_down_then_back_is_caught_up_at_once(caplog):
    """Down (connection refused): every alert waits on the schedule. Back: the first success
    (a new alert) wakes the waiting ones at once instead of at their scheduled times, and a
    woken delivery that fails again keeps its place and attempt count."""
    caplog.set_level(logging.INFO)
    dead: list = []
    store: dict = {}
    metrics = Metrics()
    policy = RetryPolicy(schedule=(30.0,), jitter=0.0)
    async with Receiver() as rx:
        rx.answer("/in", 200)
        await rx.stop()
        (ep,) = endpoints(rx.url("/in"), timeout=2.0)
        async with dispatcher([ep], store=store, on_dead_letter=await _collect(dead), policy=policy,
                              metrics=metrics) as d:
            for i in range(3):
                d.submit(make_alert(f"al-{i:016x}"))
            while sum(e["attempts"] for e in store.values()) < 3:
                await asyncio.sleep(0.01)
            backlog = d.backlog()[ep.id]
            assert backlog["pending"] == 3 and backlog["oldest_age_seconds"] >= 0
            d.refresh_metrics()
            text = metrics.render().decode()
            assert f'wirestream_webhook_pending{{endpoint="{ep.id}"}} 3.0' in text
            assert f'wirestream_webhook_oldest_pending_age_seconds{{endpoint="{ep.id}"}}' in text
            await rx.start()  # back, same port
            start = time.monotonic()
            d.submit(make_alert("al-ffffffffffffffff"))
            assert await d.wait_idle(5)  # not 30 s
            assert time.monotonic() - start < 3
            assert d.backlog()[ep.id] == {"pending": 0, "oldest_age_seconds": None}
    assert dead == [] and store == {}
    _assert_each_accepted_once(rx, "/in", [f"al-{i:016x}" for i in range(3)] + ["al-ffffffffffffffff"])
    assert any("answers again" in r.getMessage() for r in caplog.records)


async def test_a_woken_delivery_that_fails_again_is_not_charged_an_attempt():
    store: dict = {}
    policy = RetryPolicy(schedule=(30.0,), jitter=0.0, max_attempts=3)
    async with Receiver() as rx:
        rx.answer("/in", [503, 503, 200, 503])  # a's 1st; b's 1st -> wait; c ok -> wake a, b: 503 ...
        (ep,) = endpoints(rx.url("/in"), timeout=2.0, concurrency=1)
        async with dispatcher([ep], store=store, policy=policy) as d:
            d.submit(make_alert("al-000000000000000a"))
            d.submit(make_alert("al-000000000000000b"))
            while sum(e["attempts"] for e in store.values()) < 2:
                await asyncio.sleep(0.01)
            d.submit(make_alert("al-000000000000000c"))
            while len(rx.requests("/in")) < 5:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)
            assert sorted(store) == sorted(f"{ep.id}|al-000000000000000{x}" for x in "ab")
            assert all(e["attempts"] == 1 for e in store.values())  # the woken tries did not count
            assert all(e["next_attempt_at"] > time.time() + 25 for e in store.values())
            assert d.pending == 2


async def test_an_exception_inside_the_dispatcher_is_a_retry_never_a_loss(server, caplog):
    """A store that fails to write once (as a table write can) after a failed attempt: the
    entry is tried again, not dropped (the reported `failed internally: AssertionError` loss)."""

    class FailsOnce(dict):
        failed = False

        def __setitem__(self, key, value):
            if value.get("attempts") and not FailsOnce.failed:
                FailsOnce.failed = True
                raise AssertionError()
            super().__setitem__(key, value)

    server.scripts["x"] = [(500, {})]
    store = FailsOnce()
    async with dispatcher(endpoints(server.url("x")), store=store) as d:
        d.submit(make_alert())
        assert await d.wait_idle(5)
    assert FailsOnce.failed and dict(store) == {}
    assert [r.headers["webhook-id"] for r in server.at("x")] == ["al-0123456789abcdef"] * 2
    assert any("failed internally" in r.getMessage() and "trying again" in r.getMessage() for r in caplog.records)


async def test_an_internal_failure_that_persists_is_dead_lettered_when_the_schedule_is_spent(server):
    class NeverWrites(dict):
        def __setitem__(self, key, value):
            if value.get("attempts"):
                raise RuntimeError("store unavailable")
            super().__setitem__(key, value)

    dead: list = []
    server.scripts["x"] = [(503, {})] * 100
    store = NeverWrites()
    async with dispatcher(endpoints(server.url("x")), store=store, on_dead_letter=await _collect(dead)) as d:
        d.submit(make_alert())
        assert await d.wait_idle(5)
    (record,) = dead
    assert record["reason"] == "exhausted" and "internal error: RuntimeError: store unavailable" in record["last_error"]
    schema_validator("webhook-dead-letter").validate(record)
    assert dict(store) == {} and len(server.at("x")) == FAST.attempts


# ---- where webhooks may go -------------------------------------------------------------------

def test_non_global_ip_literals_refused_unless_allowed():
    for url in ("http://127.0.0.1:9/x", "http://[::1]/x", "http://169.254.169.254/x", "http://10.0.0.1/x"):
        with pytest.raises(wh.WebhookConfigError, match="ALLOW_PRIVATE"):
            WebhookDispatcher(endpoints(url))
        assert WebhookDispatcher(endpoints(url), allow_private=True).endpoints


async def test_names_resolving_to_private_addresses_are_not_connected_to():
    """DNS can change after startup: each connection drops non-public addresses (localhost here)."""
    dead: list = []
    async with Receiver() as rx:
        rx.answer("/in", 200)
        url = f"http://localhost:{rx.port}/in"
        async with WebhookDispatcher(endpoints(url), policy=RetryPolicy(schedule=(0.01,), max_attempts=2),
                                     on_dead_letter=await _collect(dead)) as d:
            d.submit(make_alert())
            assert await d.wait_idle(5)
    assert rx.requests() == []
    assert dead[0]["reason"] == "exhausted" and "non-public" in dead[0]["last_error"]


# --------------------------------------------------------------------------- at-least-once input


async def test_an_alert_read_again_after_it_was_delivered_is_not_posted_again(server):
    """At-least-once input: a worker killed before its offset commit resumes the pending entry
    (and delivers it), then reads the same alert again. One POST per (endpoint, alert), also
    across a restart; a marker without the alert stays in place of the pending entry."""
    eps = endpoints(server.url("a"))
    server.scripts["a"] = [(503, {})]
    store: dict = {}
    first = dispatcher(eps, store=store, policy=RetryPolicy(schedule=(30.0,)), remember_done=3600)
    await first.start()
    first.submit(make_alert())
    while not server.at("a"):
        await asyncio.sleep(0.01)
    await first.close()  # killed with the delivery pending
    for entry in store.values():
        entry["next_attempt_at"] = 0  # its retry is due by the time the next worker starts
    async with dispatcher(eps, store=store, remember_done=3600) as second:
        assert second.resume() == 1
        assert await second.wait_idle(5)
        assert second.submit(make_alert()) == []  # the same alert, read again
        assert await second.wait_idle(5)
    assert [r.headers["webhook-id"] for r in server.at("a")] == ["al-0123456789abcdef"] * 2  # 503, then 200
    (marker,) = store.values()
    assert wh.is_done(marker) and marker["done"] == "delivered" and "alert" not in marker
    async with dispatcher(eps, store=store, remember_done=3600) as third:  # and after another restart
        assert third.resume() == 0 and third.submit(make_alert()) == []
        assert await third.wait_idle(5)
    assert len(server.at("a")) == 2


async def test_an_alert_read_again_after_its_dead_letter_is_not_sent_again(server):
    server.scripts["gone"] = [(410, {})]
    dead: list = []
    store: dict = {}
    async with dispatcher(endpoints(server.url("gone")), store=store, on_dead_letter=await _collect(dead),
                          remember_done=3600) as d:
        d.submit(make_alert())
        assert await d.wait_idle(5)
        assert d.submit(make_alert()) == []
        assert await d.wait_idle(5)
    assert len(server.at("gone")) == 1 and len(dead) == 1
    assert [m["done"] for m in store.values()] == ["dead_letter"]


async def test_finished_deliveries_are_forgotten_after_remember_done(server):
    """The memory is bounded: a marker older than ``remember_done`` is pruned, and the same
    alert read after that is a new delivery."""
    now = [1_000_000.0]
    store: dict = {}
    async with dispatcher(endpoints(server.url("a")), store=store, clock=lambda: now[0], remember_done=60) as d:
        d.submit(make_alert("al-1"))
        assert await d.wait_idle(5)
        now[0] += 30
        d.submit(make_alert("al-2"))
        assert await d.wait_idle(5)
        assert d.forget_done() == 0 and len(store) == 2
        now[0] += 31  # al-1 finished 61 s ago, al-2 31 s ago
        assert d.forget_done() == 1 and [m["alert_id"] for m in store.values()] == ["al-2"]
        assert d.submit(make_alert("al-2")) == [] and len(d.submit(make_alert("al-1"))) == 1
        assert await d.wait_idle(5)
    assert [r.headers["webhook-id"] for r in server.received] == ["al-1", "al-2", "al-1"]


def test_the_worker_remembers_finished_deliveries_for_its_event_window():
    from streams.config import Settings

    d = WebhookDispatcher.from_settings(Settings(event_window_days=2.0, webhooks=("https://hooks.example.com/x",),
                                                 webhook_secret=SECRET, webhook_allow_private=True))
    assert d.remember_done == 2 * 86400
