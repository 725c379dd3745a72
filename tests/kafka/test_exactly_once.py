"""``WIRESTREAM_PROCESSING_GUARANTEE=exactly_once`` on Apache Kafka: a worker killed (SIGKILL) at
three moments mid-stream, and a ``read_committed`` reader sees every alert exactly once, none
lost, and the same assignments as the core offline. Clustered records should come out exactly
once too; where they do not (a known gap, see streams/kafka/transactions.py) the test reports
XFAIL with the count. On Tansu (no transactions) the worker refuses to start.
"""

from __future__ import annotations

import asyncio
import collections

import pytest

from tests.integration.kafkaio import Collector, key_version, offline, produce, synthetic_feed, uri_of

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

FIRST = 120.0


@pytest.mark.kafka
@pytest.mark.slow
async def test_exactly_once_survives_three_kills(kafka_broker, names, tmp_path, workers):
    from streams.config import Settings

    settings = Settings(broker=kafka_broker.url, data_dir=tmp_path / "data", partitions=4, **names)
    env = {"WIRESTREAM_PROCESSING_GUARANTEE": "exactly_once"}
    feed = synthetic_feed(40)
    assignments, expected = offline(feed)
    reference = {(a["uri"], a["version"]): a["event_id"] for a in assignments}
    expected_ids = {a["alert_id"] for a in expected}
    assert len(expected_ids) == len(expected) >= 20
    everything = {key_version(line) for line in feed}
    kills: list[int] = []

    async def trickle(lines: list[bytes]) -> None:
        """One story every 0.5 s (the whole feed takes a minute, longer than three restarts):
        the worker always has work in hand, and transactions open, when a kill lands."""
        for line in lines:
            await produce(settings, [(uri_of(line), line)], partition=0)  # one partition keeps the feed order
            await asyncio.sleep(0.5)

    mid_stream: list[bool] = []
    async with Collector(settings, isolation_level="read_committed") as out, Collector(settings) as raw:
        sending = asyncio.create_task(trickle(feed))
        worker = workers(settings, env=env)
        # three moments: as soon as a (re)started worker's first outputs are committed, 1 s and 2.5 s after
        for delay in (0.0, 1.0, 2.5):
            before = len(out.clustered_keys())
            await out.until(lambda c, b=before: len(c.clustered_keys()) > b, FIRST,
                            what=f"stories after {before} to be committed", alive=lambda w=worker: w.alive,
                            logs=worker.log_tail)
            await asyncio.sleep(delay)
            mid_stream.append(not sending.done())  # stories still arriving: the worker was busy
            worker.kill()  # SIGKILL: its open transactions are left behind, to be aborted (fenced)
            await out.poll(0.5)
            kills.append(len(out.clustered_keys()))
            worker = workers(settings, env=env)
        await sending

        last = worker

        def diagnosis() -> str:
            got = collections.Counter(a["alert_id"] for a in out.alerts())
            return (f"{last.log_tail(60)}\nkilled at {kills} committed stories; stories {len(out.clustered_keys())}"
                    f"/{len(feed)}; alerts {len(got)}/{len(expected_ids)}")

        await out.until(lambda c: c.clustered_keys() >= everything
                        and {a["alert_id"] for a in c.alerts()} >= expected_ids,
                        FIRST + 60, what="every story and every alert after three kills",
                        alive=lambda: last.alive, logs=diagnosis)
        await out.poll(3.0)  # anything committed late (a duplicate) shows up too
        while await raw.poll(1.0):
            pass

    # read_uncommitted also sees the records of the transactions the kills cut short (aborted)
    aborted = len(raw.records["stories.clustered"]) - len(out.records["stories.clustered"])

    assert all(mid_stream) and kills[-1] < len(feed), f"the kills should land mid-stream: {kills}"
    alert_counts = collections.Counter(a["alert_id"] for a in out.alerts())
    assert set(alert_counts) == expected_ids, "no alert may be missing, and none may be invented"
    duplicates = {k: n for k, n in alert_counts.items() if n > 1}
    clustered = collections.Counter((r["uri"], r["version"]) for r in out.records["stories.clustered"])
    dup_clustered = {k: n for k, n in clustered.items() if n > 1}
    print(f"exactly-once: stories {len(feed)}, kills at {kills} committed stories, alerts {len(expected_ids)}, "
          f"duplicate alerts {sum(n - 1 for n in duplicates.values())}, "
          f"duplicate clustered records {sum(n - 1 for n in dup_clustered.values())}; "
          f"clustered records of aborted transactions (read_uncommitted only) {aborted}")
    assert not duplicates, f"alerts seen more than once by a read_committed reader: {duplicates}"
    by_id = {a["alert_id"]: a for a in expected}
    for alert in out.alerts():
        assert alert == by_id[alert["alert_id"]]
    online = {(r["uri"], r["version"]): r["event_id"] for r in out.records["stories.clustered"]}
    assert online == reference
    # a redelivered story the event state remembers had its records committed in the same
    # transaction as that state: it sends nothing again (EventStage outputs_commit_with_state)
    assert not dup_clustered, f"clustered records seen more than once by a read_committed reader: {dup_clustered}"
