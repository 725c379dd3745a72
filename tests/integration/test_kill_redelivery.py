"""``kill -9`` at three moments mid-stream on the embedded broker: redelivered stories yield the
very records they yielded the first time, and the webhook receiver gets every alert once.

The three moments: (1) right after the event stage's table write of an alerting story reached
the changelog (a test hook in the worker, ``sitecustomize`` on its path: the story's outputs
were acknowledged, its offset not committed, so it comes again and meets its kept records);
(2) mid-burst, with half a chunk still to do; (3) at the end, every story processed and its
offset maybe not committed. After each kill a new worker recovers the tables from their
changelogs and the consumer resumes from the last committed offsets. Checked: no alert lost or
invented (against the core offline), and for every (uri, version) all its records on
``wire.stories.clustered``, on ``wire.story-updates`` and on ``wire.events`` (the snapshots it
made) byte-identical (so "the latest record per key" is right); the latest ``wire.events``
record of every event is its final state; every alert POSTed to a real HTTP receiver, signed,
and once — the delivered-markers keep a re-sent alert from going out again.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict

import orjson
import pytest

from .kafkaio import Collector, key_version, produce, synthetic_feed, uri_of
from .receiver import Receiver, documented_verifier, make_secret, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

FIRST = 120.0
OUTPUTS = ("stories.clustered", "story-updates", "dead-letter", "events")
KILL_AT_ALERT_WRITE = 5  # moment (1): after the changelog acknowledged the 5th alerting story's event state
# A second POST of one alert is only possible when a kill falls inside its delivery: the POST sent,
# and the answer not yet received or its delivered-marker not yet acknowledged by the changelog (a
# few ms on a local broker). The worker cannot know the receiver got it: at-least-once, and the
# receiver dedupes by ``webhook-id``. The test's receiver may handle a request up to the wait
# for the killed process late, hence a window on both sides of the kill.
MARKER_WINDOW = 1.0

# Imported by the worker at start-up (its PYTHONPATH has this file's directory): SIGKILLs itself
# when the broker acknowledged the events-table write of the Nth story that raised an alert.
_HOOK = """
import os

_N = int(os.environ.get("WIRESTREAM_TEST_KILL_AT_ALERT_WRITE") or 0)
if _N:
    import signal

    import faust.tables.base as _base

    _send = _base.Collection.send_changelog
    _seen = [0]

    def send_changelog(self, partition, key, value, *args, **kwargs):
        fut = _send(self, partition, key, value, *args, **kwargs)
        if (self.name == "events" and isinstance(value, dict)
                and "\x1f".join(value.get("latest_change") or ()) in (value.get("first_alerts") or {})):
            _seen[0] += 1
            if _seen[0] == _N:
                print(f"test hook: SIGKILL once the event write of alerting story {_N} is acknowledged", flush=True)
                fut.add_done_callback(lambda _f: os.kill(os.getpid(), signal.SIGKILL))
        return fut

    _base.Collection.send_changelog = send_changelog
"""


def _offline(feed: list[bytes]) -> tuple[dict, list[dict], dict]:
    from streams.core.pipeline import Pipeline

    pipeline = Pipeline()
    assignments, alerts, snapshots = {}, [], {}
    for line in feed:
        outcome = pipeline.process_document(orjson.loads(line), arrival=0.0)
        story = outcome.enriched.story
        assignments[(story.uri, story.version)] = outcome.assignment.event_id
        if outcome.alert is not None:
            alerts.append(outcome.alert)
        if outcome.event is not None:
            snapshots[outcome.assignment.event_id] = outcome.event
    return assignments, alerts, snapshots


async def test_kill_9_three_times_mid_stream_redelivers_identical_records(settings, workers, tmp_path):
    feed = synthetic_feed(60)
    sentinel = next(line for line in synthetic_feed(61) if uri_of(line) == b"urn:test:e060:a")
    reference, expected, final_snapshots = _offline(feed + [sentinel])
    expected_ids = {a["alert_id"] for a in expected}
    assert len(expected_ids) == len(expected) >= 40
    before_sentinel = {a["alert_id"] for a in _offline(feed)[1]}
    chunks = [feed[len(feed) * k // 4: len(feed) * (k + 1) // 4] for k in range(4)]
    everything = {key_version(line) for line in feed}
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(_HOOK, "utf-8")
    secret = make_secret(15)
    verify = documented_verifier()
    config = tmp_path / "webhooks.json"
    kills: list[tuple[str, int, float]] = []  # (moment, clustered stories seen, time.monotonic())

    async with Receiver() as rx, Collector(settings, OUTPUTS) as out:
        rx.answer("/hook", 200)
        config.write_text(json.dumps({"endpoints": [{"id": "rx", "url": rx.url("/hook"), "secret": secret}]}))
        env = {"WIRESTREAM_WEBHOOK_CONFIG": str(config), "WIRESTREAM_WEBHOOK_ALLOW_PRIVATE": "1",
               "WIRESTREAM_WEBHOOK_RETRY_SCHEDULE": "0.2s,0.5s,1s,2s,5s"}
        n = 0

        def start(**extra: str):
            nonlocal n
            worker = workers(settings.with_(data_dir=tmp_path / f"w{n}"), env={**env, **extra})
            n += 1
            return worker

        # ---- (1) the worker kills itself right after an alerting story's event state is written
        worker = start(PYTHONPATH=str(hook_dir), WIRESTREAM_TEST_KILL_AT_ALERT_WRITE=str(KILL_AT_ALERT_WRITE))
        await produce(settings, [(uri_of(line), line) for line in chunks[0]], partition=0)
        await wait_for(lambda: not worker.alive, FIRST, "the worker's SIGKILL after an alerting story's write",
                       logs=lambda: worker.log_tail(40))
        assert "test hook: SIGKILL" in worker.log_path.read_text("utf-8", "replace"), worker.log_tail(40)
        await out.poll(1.0)
        kills.append(("after the event write", len(out.clustered_keys()), time.monotonic()))

        # ---- (2) mid-burst: half of the next chunk still to do
        # (one input partition keeps the feed order, comparable with the core offline)
        worker = start()
        await produce(settings, [(uri_of(line), line) for line in chunks[1]], partition=0)
        seen = {key_version(line) for line in chunks[0] + chunks[1]}
        target = len(seen) - len(chunks[1]) // 2
        await out.until(lambda c: len(c.clustered_keys() & seen) >= target, FIRST, what="stories before kill 2",
                        alive=lambda: worker.alive, logs=lambda: worker.log_tail(40))
        kills.append(("mid-burst", len(out.clustered_keys()), time.monotonic()))
        worker.kill()  # SIGKILL mid-chunk: no flush, no commit

        # ---- (3) at the end: everything processed, the last offsets maybe not committed
        worker = start()
        await produce(settings, [(uri_of(line), line) for chunk in chunks[2:] for line in chunk], partition=0)
        await out.until(lambda c: c.clustered_keys() >= everything
                        and {a["alert_id"] for a in c.alerts()} >= before_sentinel,
                        240, what="every story and alert before kill 3", alive=lambda: worker.alive,
                        logs=lambda: worker.log_tail(40))
        kills.append(("at the end", len(out.clustered_keys()), time.monotonic()))
        worker.kill()

        # ---- the last worker takes the redeliveries; the sentinel, produced after, marks the end
        worker = start()
        await produce(settings, [(uri_of(sentinel), sentinel)], partition=0)

        def diagnosis() -> str:
            got = {a["alert_id"] for a in out.alerts()}
            return (f"{worker.log_tail(40)}\nkills {kills}; stories out "
                    f"{len(out.clustered_keys())}/{len(feed) + 1}; alerts missing {len(expected_ids - got)}; "
                    f"delivered {len({r.headers['webhook-id'] for r in rx.delivered('/hook')})}")

        await out.until(lambda c: key_version(sentinel) in c.clustered_keys(), FIRST, what="the sentinel story",
                        alive=lambda: worker.alive, logs=diagnosis)
        await wait_for(lambda: {r.headers["webhook-id"] for r in rx.delivered("/hook")} >= expected_ids, 60,
                       "every alert at the webhook receiver", alive=lambda: worker.alive, logs=diagnosis)
        for _ in range(6):  # what the redeliveries still send
            await out.poll(0.5)

    assert [k[1] < len(feed) for k in kills[:2]] == [True, True], kills
    # ---- alerts: none lost, none invented, every copy of one alert the same bytes
    by_id = {a["alert_id"]: a for a in expected}
    got = out.alerts()
    assert {a["alert_id"] for a in got} == expected_ids
    for alert in got:
        assert alert == by_id[alert["alert_id"]]
    alert_bytes: dict[str, set[bytes]] = defaultdict(set)
    for message in out.messages["story-updates"]:
        alert_bytes[orjson.loads(message.value)["alert_id"]].add(message.value)
    assert all(len(v) == 1 for v in alert_bytes.values()), {k: len(v) for k, v in alert_bytes.items() if len(v) > 1}
    assert len(out.messages["story-updates"]) > len(expected_ids), "no alert was re-sent: no kill met a repeat"
    # ---- clustered: every record of one story byte-identical, and the offline assignment
    records: dict[tuple[str, int], set[bytes]] = defaultdict(set)
    for message in out.messages["stories.clustered"]:
        doc = orjson.loads(message.value)
        records[(doc["uri"], doc["version"])].add(message.value)
    disagreeing = {k: len(v) for k, v in records.items() if len(v) > 1}
    assert not disagreeing, f"stories with disagreeing records: {disagreeing}"
    latest = {k: orjson.loads(next(iter(v))) for k, v in records.items()}
    assert {k: r["event_id"] for k, r in latest.items()} == reference
    assert {r["alert_id"] for r in latest.values() if r["alert_id"]} == expected_ids
    # ---- events: every snapshot a story made is the same bytes each time it was sent, and the
    # latest record of each event is its final state
    snapshots: dict[tuple[str, str, int], set[bytes]] = defaultdict(set)
    last_event: dict[str, dict] = {}
    for message in out.messages["events"]:
        doc = orjson.loads(message.value)
        made_by = doc["stories"][-1]  # a story is appended to its event's stories
        snapshots[(doc["event_id"], made_by["uri"], made_by["version"])].add(message.value)
        last_event[message.key.decode()] = doc
    assert all(len(v) == 1 for v in snapshots.values()), {k: len(v) for k, v in snapshots.items() if len(v) > 1}
    assert last_event == final_snapshots
    # ---- webhooks: every alert delivered, signed, and once (but for a kill inside a delivery)
    delivered: dict[str, list] = defaultdict(list)
    for request in rx.delivered("/hook"):
        delivered[request.headers["webhook-id"]].append(request)
        assert verify(secret, request.headers, request.body)["data"] == by_id[request.headers["webhook-id"]]
    assert set(delivered) == expected_ids
    twice = {alert_id: [r.at for r in reqs] for alert_id, reqs in delivered.items() if len(reqs) > 1}
    for alert_id, times in twice.items():
        assert len(times) == 2 and any(abs(times[0] - at) <= MARKER_WINDOW for _, _, at in kills), \
            f"alert {alert_id} POSTed {len(times)} times, not across a kill: {times}, kills {kills}"
    copies = len(out.messages["stories.clustered"]) - len(records)
    print(f"stories {len(feed) + 1}, kills {[(m, c) for m, c, _ in kills]}, alerts {len(expected_ids)}, "
          f"redelivered clustered records {copies}, alert records {len(out.messages['story-updates'])}, "
          f"event records {len(out.messages['events'])} for {len(snapshots)} snapshots (all identical), "
          f"webhook POSTs {sum(len(v) for v in delivered.values())} ({len(twice)} across a kill)")
