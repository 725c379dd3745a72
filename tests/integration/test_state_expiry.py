"""State lifetimes online: a feed spanning more than the uri retention through a worker expires
exactly what the core offline expires (stream time, not the wall clock): the same assignments and
alerts, and the worker's events table holds the same live events as the offline run."""

from __future__ import annotations

import time

import aiohttp
import orjson
import pytest

from .kafkaio import Collector, key_version, produce, synthetic_feed, uri_of

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]

FIRST = 120.0
BASE = 1_700_000_000.0
STRETCH = 48.0  # the feed's half-hour steps become days: 18 events span ~20 days


def _stretched(events: int) -> list[bytes]:
    from streams.core.validate import format_time, parse_time

    out = []
    for line in synthetic_feed(events):
        doc = orjson.loads(line)
        doc["versioncreated"] = format_time(BASE + (parse_time(doc["versioncreated"]) - BASE) * STRETCH)
        out.append(orjson.dumps(doc))
    return out


async def test_a_feed_longer_than_the_retention_expires_online_as_offline(settings, workers):
    from streams.core.pipeline import Pipeline
    from streams.web.views import MAX_LIMIT

    feed = _stretched(18)
    pipeline = Pipeline(window_days=settings.event_window_days, uri_retention_days=settings.uri_retention_days)
    reference, alerts = {}, []
    for line in feed:
        outcome = pipeline.process_document(orjson.loads(line), arrival=0.0)
        reference[(outcome.enriched.story.uri, outcome.enriched.story.version)] = outcome.assignment.event_id
        if outcome.alert is not None:
            alerts.append(outcome.alert)
    live_offline = set(pipeline.events)
    assert len(live_offline) < len(set(reference.values())), "the feed must outlive some events"

    async with Collector(settings) as out, aiohttp.ClientSession() as http:
        worker = workers(settings)
        await produce(settings, [(uri_of(line), line) for line in feed], partition=0)
        everything = {key_version(line) for line in feed}
        await out.until(lambda c: c.clustered_keys() >= everything, FIRST, what="every story",
                        alive=lambda: worker.alive, logs=worker.log_tail)
        await out.poll(1.0)
        # the expiries reach the event stage asynchronously: give them a moment
        deadline = time.monotonic() + 30
        while True:
            url = f"http://127.0.0.1:{worker.web_port}/events?scope=local&limit={MAX_LIMIT}"
            async with http.get(url) as response:
                body = await response.json()
            listed = body if isinstance(body, list) else body.get("events", [])
            live_online = {e["event_id"] for e in listed}
            if live_online == live_offline or time.monotonic() > deadline:
                break
            await out.poll(0.5)

    online = {}
    for record in out.records["stories.clustered"]:
        online.setdefault((record["uri"], record["version"]), record["event_id"])
    assert online == reference
    assert {a["alert_id"] for a in out.alerts()} == {a["alert_id"] for a in alerts}
    assert live_online == live_offline, (sorted(live_online - live_offline), sorted(live_offline - live_online))
    print(f"stories {len(feed)}, events {len(set(reference.values()))}, live at the end {len(live_offline)}")
