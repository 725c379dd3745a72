"""``kill -9`` at three moments mid-stream on the embedded broker: redelivered stories yield the
very records they yielded the first time.

After each kill a new worker recovers the tables from their changelogs and the consumer resumes
from the last committed offsets, so stories whose outputs were already sent are processed again.
Checked: no alert lost or invented (against the core offline), every record of one story on
``wire.stories.clustered`` byte-identical (so "the latest record per (uri, version)" is right),
every record of one alert identical, and the latest ``wire.events`` record of every event is its
final state.
"""

from __future__ import annotations

from collections import defaultdict

import orjson
import pytest

from .kafkaio import Collector, key_version, produce, synthetic_feed, uri_of

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

FIRST = 120.0
KILLS = 3


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
    reference, expected, final_snapshots = _offline(feed)
    expected_ids = {a["alert_id"] for a in expected}
    assert len(expected_ids) == len(expected) >= 40
    chunks = [feed[len(feed) * k // (KILLS + 1): len(feed) * (k + 1) // (KILLS + 1)] for k in range(KILLS + 1)]
    everything = {key_version(line) for line in feed}
    kills: list[int] = []

    async with Collector(settings) as out:
        worker = workers(settings.with_(data_dir=tmp_path / "w0"))
        seen = set()
        for k, chunk in enumerate(chunks):
            # one input partition keeps the feed order (comparable with the core offline)
            await produce(settings, [(uri_of(line), line) for line in chunk], partition=0)
            seen |= {key_version(line) for line in chunk}
            if k == KILLS:
                break
            target = len(seen) - len(chunk) // 2  # kill with half of this chunk still to do
            await out.until(lambda c: len(c.clustered_keys() & seen) >= target, FIRST,
                            what=f"stories before kill {k + 1}", alive=lambda: worker.alive,
                            logs=lambda: worker.log_tail(40))
            worker.kill()  # SIGKILL mid-chunk: no flush, no commit
            kills.append(len(out.clustered_keys()))
            worker = workers(settings.with_(data_dir=tmp_path / f"w{k + 1}"))

        def diagnosis() -> str:
            got = {a["alert_id"] for a in out.alerts()}
            return (f"{worker.log_tail(40)}\nkills after {kills} stories; stories out "
                    f"{len(out.clustered_keys())}/{len(feed)}; alerts missing {len(expected_ids - got)}")

        await out.until(lambda c: c.clustered_keys() >= everything
                        and {a["alert_id"] for a in c.alerts()} >= expected_ids,
                        240, what="every story and alert after three kills", alive=lambda: worker.alive,
                        logs=diagnosis)
        await out.poll(2.0)

    assert len(kills) == KILLS and all(n < len(feed) for n in kills), kills
    # ---- alerts: none lost, none invented, every copy of one alert the same
    by_id = {a["alert_id"]: a for a in expected}
    got = out.alerts()
    assert {a["alert_id"] for a in got} == expected_ids
    for alert in got:
        assert alert == by_id[alert["alert_id"]]
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
    # ---- events: the latest record of each event is its final state
    last_event: dict[str, dict] = {}
    for message in out.messages["events"]:
        last_event[message.key.decode()] = orjson.loads(message.value)
    assert last_event == final_snapshots
    copies = len(out.messages["stories.clustered"]) - len(records)
    print(f"stories {len(feed)}, kills after {kills} clustered, alerts {len(expected_ids)}, "
          f"redelivered clustered records {copies} (all identical), alert copies {len(got) - len(expected_ids)}")
