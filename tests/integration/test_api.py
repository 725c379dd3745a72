"""The HTTP API of two real workers sharing the partitions: /events, /events/{id} (routed to the
worker that holds the event), /health, /metrics; behind a bearer token (WIRESTREAM_API_TOKEN),
and nothing else: Faust's own pages and unknown paths answer a JSON 404."""

from __future__ import annotations

import time

import aiohttp
import pytest

from .kafkaio import Collector, key_version, produce, seed_lines, uri_of

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

FIRST = 90.0
NEXT = 30.0
TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Faust's built-in web views (faust/web/apps): raw table state, routing metadata, stats, graph
# (its index at "/" is replaced by the newsroom page, tested in test_page.py)
FAUST_PAGES = ("/router/", "/table/events/", "/table/webhook-pending/", "/table/cluster/x/", "/stats/",
               "/graph/", "/performance/", "/signal/", "/nope", "/events/a/b", "/metrics/x")


async def get(http: aiohttp.ClientSession, worker, path: str) -> tuple[int, str, str]:
    async with http.get(f"http://127.0.0.1:{worker.web_port}{path}") as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


async def get_json(http: aiohttp.ClientSession, worker, path: str) -> tuple[int, dict]:
    async with http.get(f"http://127.0.0.1:{worker.web_port}{path}") as resp:
        assert resp.content_type == "application/json", (path, resp.status, await resp.text())
        return resp.status, await resp.json()


async def wait_until_serving(http, pair, timeout: float) -> None:
    """Both workers ready, and the partitions split between them (a stable two-member group)."""
    deadline = time.monotonic() + timeout
    last: list = []
    while time.monotonic() < deadline:
        last = []
        for w in pair:
            if not w.alive:
                pytest.fail(f"worker died while starting\n{w.log_tail()}")
            try:
                last.append(await get_json(http, w, "/health"))
            except aiohttp.ClientError:
                last.append((None, {}))
        if all(status == 200 and body["lag"]["partitions"] for status, body in last):
            return
        await __import__("asyncio").sleep(0.5)
    pytest.fail(f"workers not both serving after {timeout:.0f}s: {last}\n{pair[0].log_tail()}\n{pair[1].log_tail()}")


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_http_api_on_two_workers(settings, workers):
    env = {"WIRESTREAM_API_TOKEN": TOKEN}
    pair = [workers(settings, env=env), workers(settings, env=env)]
    async with aiohttp.ClientSession(headers=AUTH) as http, Collector(settings) as out:
        await wait_until_serving(http, pair, FIRST)
        for line in seed_lines():
            await produce(settings, [(uri_of(line), line)])
            await out.until(lambda c, kv=key_version(line): kv in c.clustered_keys(), NEXT,
                            what=f"{key_version(line)} on stories.clustered")
        await out.until(lambda c: c.alerts() and len(c.records["events"]) >= 2, NEXT, what="the alert")
        alert = out.alerts()[0]
        event_id = alert["event_id"]
        latest = [e for e in out.records["events"] if e["event_id"] == event_id][-1]

        # /events/{id}: the same snapshot from either worker (one of them routes to the other)
        for w in pair:
            status, snapshot = await get_json(http, w, f"/events/{event_id}")
            assert status == 200
            assert snapshot == latest
            assert [s["uri"] for s in snapshot["stories"]] == ["urn:seed:000", "urn:seed:003"]
            millet = [f for f in snapshot["facts"] if "millet" in f["text"].lower()]
            assert millet and "agreements" in millet[0]["text"]
            assert millet[0]["uri"] == "urn:seed:003" and "source" in millet[0]  # its first source
            assert snapshot["alerts"] == [alert["alert_id"]]

            # /events: most recent first, from every worker
            status, listing = await get_json(http, w, "/events?limit=10")
            assert status == 200 and "partial" not in listing
            assert event_id in [e["event_id"] for e in listing["events"]]
            entry = next(e for e in listing["events"] if e["event_id"] == event_id)
            assert entry["story_count"] == 2 and entry["headline"] == latest["headline"]
            status, listing = await get_json(http, w, f"/events?lang={latest['lang']}&limit=1")
            assert status == 200 and [e["event_id"] for e in listing["events"]] == [event_id]
            status, listing = await get_json(http, w, "/events?lang=xx")
            assert status == 200 and listing["events"] == []

            # errors are JSON
            status, body = await get_json(http, w, "/events/ev-0000000000000000")
            assert status == 404 and body["error"] == "unknown event"
            for query in ("limit=abc", "limit=0", "limit=100000", "lang=!!", "colour=red"):
                status, body = await get_json(http, w, f"/events?{query}")
                assert status == 400 and body["error"], query

            # /health
            status, health = await get_json(http, w, "/health")
            assert status == 200 and health["ready"] and health["status"] == "ready"
            assert isinstance(health["lag"]["total"], int) and health["lag"]["partitions"]

        # /metrics: Prometheus text, counters summed over both workers
        totals: dict[tuple[str, tuple], float] = {}
        for w in pair:
            status, ctype, text = await get(http, w, "/metrics")
            assert status == 200 and ctype.startswith("text/plain")
            for key, value in _samples(text).items():
                totals[key] = totals.get(key, 0.0) + value
        for stage in ("decode", "cluster", "event"):
            assert totals[("wirestream_stories_in_total", (("stage", stage),))] >= 2
            assert totals[("wirestream_stories_out_total", (("stage", stage),))] >= 2
            assert totals[("wirestream_processing_latency_seconds_count", (("stage", stage),))] >= 2
        assert totals[("wirestream_alerts_emitted_total", ())] >= 1
        assert any(name == "wirestream_consumer_lag" for name, _ in totals)

        # closed: with the token, only the documented routes answer; the rest is a JSON 404
        w = pair[0]
        for path in FAUST_PAGES:
            status, body = await get_json(http, w, path)
            assert (status, body) == (404, {"error": "not found"}), path
        async with http.post(f"http://127.0.0.1:{w.web_port}/events") as resp:
            assert resp.status == 405 and (await resp.json())["error"]
        # without the token (or with a wrong one): 401 everywhere but the probes, unknown paths included
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                        {"Authorization": f"Basic {TOKEN}"}):
            async with aiohttp.ClientSession(headers=headers) as anon:
                for path in ("/events", f"/events/{event_id}", "/metrics", *FAUST_PAGES):
                    async with anon.get(f"http://127.0.0.1:{w.web_port}{path}") as resp:
                        assert resp.status == 401, (path, headers)
                        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
                        assert (await resp.json())["error"].startswith("missing or wrong bearer token")
                status, health = await get_json(anon, w, "/health")
                assert status == 200 and health["ready"]
        assert all(w.alive for w in pair)
