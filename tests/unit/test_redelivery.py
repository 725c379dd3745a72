"""A story seen again yields, byte for byte, the records its first processing sent
(``streams.core.redelivery``): its ``wire.stories.clustered`` record and its alert always, its
``wire.events`` snapshot only while that is still the event's latest (never rolling it back).

The property tests redeliver stories of a real dev stream (``../shared/data``; the hand-written
stream when it is absent) at random points, with the events table reloaded from JSON (a worker
recovering it from its changelog) at random points, and compare every repeat's records with
the first ones.
"""

from __future__ import annotations

from pathlib import Path

import orjson
from hypothesis import assume, given, settings, strategies as st

from streams.core import redelivery
from streams.core.models import AssignedStory, Assignment
from streams.core.pipeline import EventStage, Expiry, Pipeline, enrich
from streams.core.validate import decode_story

from .test_state_lifetimes import DAY, T0, story

DEV_STREAM = Path(__file__).resolve().parents[3] / "shared" / "data" / "cluster-dev-stream.jsonl"
ALERTING = "Police arrested 14 people near the depot."


def _enriched(doc: dict):
    return enrich(decode_story(orjson.dumps(doc), arrival=0.0))


def _step(pipeline: Pipeline, enriched) -> tuple[bytes, bytes | None, bytes | None, bool, str]:
    """One story through the cluster and event stages, as the agents run them: the bytes of the
    clustered record, snapshot and alert sent, whether it was a repeat, and the event id."""
    assignment = pipeline.cluster_stage.process(enriched)
    for expiry in pipeline.cluster_stage.expired:
        pipeline.event_stage.expire(expiry)
    result = pipeline.event_stage.process(AssignedStory(enriched, assignment))
    dump = (lambda v: None if v is None else orjson.dumps(v))
    return (orjson.dumps(result.clustered), dump(result.event), dump(result.alert), result.repeated,
            assignment.event_id)


# --------------------------------------------------------------------------- hand-written cases


def test_a_repeat_after_later_stories_resends_its_clustered_record_and_alert_but_no_old_snapshot():
    pipeline = Pipeline()
    docs = [story(1, T0), story(1, T0 + 600, uri="urn:t:1b", extra=ALERTING), story(1, T0 + 900, uri="urn:t:1c")]
    firsts = [_step(pipeline, _enriched(d)) for d in docs]
    assert firsts[1][2] is not None and firsts[2][4] == firsts[1][4], "one event, the second story alerted"
    clustered, event, alert, repeated, _ = _step(pipeline, _enriched(docs[1]))
    assert repeated
    assert clustered == firsts[1][0] and alert == firsts[1][2]
    assert event is None  # urn:t:1c's snapshot is the event's latest: the older one would roll it back


def test_a_repeat_of_the_latest_story_resends_its_snapshot_and_alert_byte_for_byte():
    pipeline = Pipeline()
    docs = [story(1, T0), story(1, T0 + 600, uri="urn:t:1b", extra=ALERTING)]
    firsts = [_step(pipeline, _enriched(d)) for d in docs]
    # the worker restarts: its events table comes back from the changelog (JSON)
    for key, value in list(pipeline.events.items()):
        pipeline.events[key] = orjson.loads(orjson.dumps(value))
    for _ in range(2):
        again = _step(pipeline, _enriched(docs[1]))
        assert again[3] and again[:3] == firsts[1][:3]


def test_a_repeat_after_an_expiry_pruned_the_event_sends_no_snapshot_and_pruned_stories_leave_nothing():
    stage = EventStage({})
    docs = [story(1, T0), story(1, T0 + DAY, uri="urn:t:1b", extra=ALERTING),
            story(1, T0 + 2 * DAY, uri="urn:t:1c", extra="Crews from Kessel number 40 now.")]
    enriched = [_enriched(d) for d in docs]
    first = [stage.process(AssignedStory(e, Assignment("ev-1", i == 0, 1.0))) for i, e in enumerate(enriched)]
    assert first[1].alert is not None and first[2].alert is not None
    assert stage.expire(Expiry("ev-1", T0 + 1.5 * DAY))  # the first two stories go
    record = stage.events["ev-1"]
    assert set(record[redelivery.FIRST_RESULTS]) == {enriched[2].idempotency_key}
    assert set(record[redelivery.FIRST_ALERTS]) == {enriched[2].idempotency_key}
    again = stage.process(AssignedStory(enriched[2], Assignment("ev-1", False, 1.0, duplicate=True)))
    assert again.repeated and again.alert == first[2].alert and again.clustered == first[2].clustered
    assert again.event is None  # the state changed since its snapshot, and no snapshot was sent for that


def test_a_story_without_an_alert_keeps_none():
    stage = EventStage({})
    enriched = _enriched(story(1, T0))
    stage.process(AssignedStory(enriched, Assignment("ev-1", True, 0.0)))
    assert stage.events["ev-1"][redelivery.FIRST_ALERTS] == {}
    assert stage.events["ev-1"][redelivery.LATEST_CHANGE] == enriched.idempotency_key.split("\x1f")


def test_a_state_written_before_first_alerts_were_kept_still_answers_a_repeat():
    stage = EventStage({})
    enriched = _enriched(story(1, T0))
    first = stage.process(AssignedStory(enriched, Assignment("ev-1", True, 0.0)))
    old = dict(stage.events["ev-1"])
    del old[redelivery.FIRST_ALERTS], old[redelivery.LATEST_CHANGE]
    stage.events["ev-1"] = old
    again = stage.process(AssignedStory(enriched, Assignment("ev-1", True, 0.0, duplicate=True)))
    assert again.repeated and again.clustered == first.clustered and again.alert is None and again.event is None


# --------------------------------------------------------------------------- properties


def _stream() -> list:
    if DEV_STREAM.is_file():
        # 12 real events of 4 stories each (their first in the file), in stream order
        with DEV_STREAM.open("rb") as fh:
            rows = [orjson.loads(next(fh)) for _ in range(3000)]
        by_gold: dict[str, list[int]] = {}
        for n, row in enumerate(rows):
            by_gold.setdefault(row["_gold"], []).append(n)
        events = [members[:4] for members in by_gold.values() if len(members) >= 4][:12]
        docs = [rows[n] for n in sorted(n for members in events for n in members)]
        for doc in docs:
            doc.pop("_gold", None)
    else:
        docs = [story(i % 5, T0 + i * DAY / 8, uri=f"urn:s:{i}", extra=f"Crews from Kessel number {i + 10}.")
                for i in range(48)]
    return [_enriched(d) for d in docs]


_STREAM: list = []


def stream() -> list:
    if not _STREAM:
        _STREAM.extend(_stream())
    return _STREAM


def test_the_dev_stream_has_alerts_and_events_of_several_stories():
    """The property below is only as good as its stream: it must alert and share events."""
    pipeline = Pipeline()
    steps = [_step(pipeline, e) for e in stream()]
    assert sum(1 for s in steps if s[2] is not None) >= 3
    assert len({s[4] for s in steps}) < len(steps) - 5


_CLEAN: dict[tuple, tuple] = {}


def clean_run(window_days: float, retention: float | None) -> tuple:
    """The final state of the stream without repeats."""
    if (window_days, retention) not in _CLEAN:
        clean = Pipeline(window_days=window_days, uri_retention_days=retention)
        for enriched in stream():
            _step(clean, enriched)
        _CLEAN[window_days, retention] = (orjson.dumps(clean.events), clean.assignments, clean.uri_events)
    return _CLEAN[window_days, retention]


@given(repeats=st.lists(st.tuples(st.integers(0, 47), st.integers(0, 47)), max_size=30),
       reloads=st.sets(st.integers(0, 47), max_size=6),
       windows=st.sampled_from([(3.0, None), (0.05, 0.1), (0.01, 0.02)]))
@settings(max_examples=20, deadline=None)
def test_every_repeat_resends_the_first_records_and_never_rolls_an_event_back(repeats, reloads, windows):
    """Within its idempotency window (the event window of stream time), a story seen again is
    always recognised, changes no state, and re-sends its first records."""
    stories = stream()
    window_days, retention = windows
    pipeline = Pipeline(window_days=window_days, uri_retention_days=retention)
    first: dict[str, tuple] = {}  # idempotency key -> (clustered, snapshot, alert) as first sent
    latest_sent: dict[str, bytes] = {}  # event id -> its latest wire.events record
    for i, enriched in enumerate(stories):
        todo = [enriched] + [stories[j] for after, j in repeats if after == i and j <= i]
        for n, item in enumerate(todo):
            key = item.idempotency_key
            if n and key not in pipeline.assignments:
                continue  # past its idempotency window: it would be a new story (not a redelivery)
            clustered, event, alert, repeated, event_id = _step(pipeline, item)
            assert repeated == (key in first)
            if not repeated:
                first[key] = (clustered, event, alert)
            else:
                was = first[key]
                assert clustered == was[0] and alert == was[2]
                if event is not None:  # only the event's latest snapshot, which the story made
                    assert event == was[1] == latest_sent[event_id]
            if event is not None:
                latest_sent[event_id] = event
        if i in reloads:  # a restart: the events table is read back from its changelog
            for event_id, value in list(pipeline.events.items()):
                pipeline.events[event_id] = orjson.loads(orjson.dumps(value))
    # repeats changed no state
    events, assignments, uri_events = clean_run(window_days, retention)
    assert orjson.dumps(pipeline.events) == events
    assert pipeline.assignments == assignments and pipeline.uri_events == uri_events


@given(st.integers(0, 47))
@settings(max_examples=15, deadline=None)
def test_a_repeat_right_after_the_first_time_resends_all_three_records(i):
    """The crash window the kept records close: state written, outputs maybe not sent. The
    repeat of the story just processed sends all it sent, snapshot included."""
    stories = stream()
    pipeline = Pipeline()
    for enriched in stories[:i]:
        _step(pipeline, enriched)
    once = _step(pipeline, stories[i])
    for event_id, value in list(pipeline.events.items()):
        pipeline.events[event_id] = orjson.loads(orjson.dumps(value))
    again = _step(pipeline, stories[i])
    assert not once[3] and again[3]
    assume(once[1] is not None)  # else the story changed nothing (its text was in the event already)
    assert again[:3] == once[:3]


def test_when_outputs_commit_with_the_state_a_repeat_sends_nothing_and_changes_nothing():
    # Kafka exactly-once: a story the state remembers had its records committed with that state
    stage = EventStage({}, outputs_commit_with_state=True)
    docs = [story(1, T0), story(1, T0 + 600, uri="urn:t:1b", extra=ALERTING)]
    enriched = [_enriched(d) for d in docs]
    first = [stage.process(AssignedStory(e, Assignment("ev-1", i == 0, 1.0))) for i, e in enumerate(enriched)]
    assert all(r.send for r in first) and first[1].alert is not None
    before = orjson.dumps(stage.events, option=orjson.OPT_SORT_KEYS)
    again = stage.process(AssignedStory(enriched[1], Assignment("ev-1", False, 1.0, duplicate=True)))
    assert again.repeated and not again.send and again.alert is None and again.event is None
    assert orjson.dumps(stage.events, option=orjson.OPT_SORT_KEYS) == before
