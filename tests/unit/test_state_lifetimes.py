"""Idempotent outputs and bounded state of the core's stages.

* A story seen again (redelivery, re-send) gets byte-identical ``wire.stories.clustered`` records
  (and its first alert: tests/unit/test_redelivery.py).
* Every record has a lifetime in stream time: idempotency records the event window, uri -> event
  the uri retention, event state until no uri leads to it — so state is flat in an endless
  stream, and a replay expires exactly what the stream did.
"""

from __future__ import annotations

import orjson
from hypothesis import given, settings, strategies as st

from streams.core.models import AssignedStory, Assignment
from streams.core.pipeline import EventStage, Pipeline, enrich
from streams.core.validate import decode_story, format_time

DAY = 86400.0
T0 = 1_700_000_000.0

_PLACES = ["Tamsvik", "Orlen Bay", "Marrowgate", "Kessel", "Port Avila", "Dunmore", "Velika", "Sandhaven"]
_WHAT = ["a fire broke out at the harbour depot", "workers at the rail company walked out over pay",
         "heavy rain flooded the low-lying streets", "a power failure cut electricity to homes"]


def story(i: int, when: float, *, uri: str | None = None, version: int = 1, extra: str = "") -> dict:
    place = _PLACES[i % len(_PLACES)]
    what = _WHAT[(i // len(_PLACES)) % len(_WHAT)]
    body = (f"Officials in {place} said {what} on Tuesday, event number {i}. "
            f"Residents of {place} described the scene as {what} continued. {extra}")
    return {"uri": uri or f"urn:t:{i}", "version": version, "headline": f"{place}: {what}", "body_text": body,
            "versioncreated": format_time(when)}


def run(docs: list[dict], **kwargs) -> tuple[Pipeline, list]:
    pipeline = Pipeline(**kwargs)
    return pipeline, [pipeline.process_document(d, arrival=0.0) for d in docs]


# --------------------------------------------------------------------------- idempotent outputs


def _clustered(pipeline: Pipeline, doc: dict) -> bytes:
    enriched = enrich(decode_story(orjson.dumps(doc), arrival=0.0))
    assignment = pipeline.cluster_stage.process(enriched)
    return orjson.dumps(pipeline.event_stage.process(AssignedStory(enriched, assignment)).clustered)


def test_a_redelivered_story_gets_the_byte_identical_clustered_record():
    pipeline = Pipeline()
    base = story(1, T0)
    docs = [base, story(1, T0 + 600, uri="urn:t:1b", extra="Police arrested 14 people near the depot."),
            story(2, T0 + 700)]
    first = [_clustered(pipeline, d) for d in docs]
    assert orjson.loads(first[1])["alert_id"] is not None
    for _ in range(3):  # redelivered, several times, after later stories
        again = [_clustered(pipeline, d) for d in docs]
        assert again == first


def test_a_repeat_sends_its_first_alert_again_and_no_stale_snapshot():
    pipeline = Pipeline()
    docs = [story(1, T0), story(1, T0 + 600, uri="urn:t:1b", extra="Police arrested 14 people near the depot."),
            story(1, T0 + 900, uri="urn:t:1c")]
    outcomes = [pipeline.process_document(d, arrival=0.0) for d in docs]
    assert outcomes[1].alert is not None
    enriched = enrich(decode_story(orjson.dumps(docs[1]), arrival=0.0))
    result = pipeline.event_stage.process(AssignedStory(enriched, Assignment(outcomes[1].assignment.event_id,
                                                                             False, 1.0, duplicate=True)))
    # (tests/unit/test_redelivery.py: the rest of what a repeat sends)
    assert result.repeated and orjson.dumps(result.alert) == orjson.dumps(outcomes[1].alert)
    assert result.event is None  # urn:t:1c made the event's latest snapshot
    assert result.clustered["alert_id"] == outcomes[1].alert["alert_id"]


def test_cluster_duplicate_without_event_state_is_processed_as_the_first_time():
    """Crash between the cluster stage's commit and the event stage's write: the redelivered story
    comes flagged duplicate by the cluster stage, and must yield what the first attempt would."""
    doc = story(1, T0)
    enriched = enrich(decode_story(orjson.dumps(doc), arrival=0.0))
    fresh = EventStage({}).process(AssignedStory(enriched, Assignment("ev-1", True, 0.0)))
    redelivered = EventStage({}).process(AssignedStory(enriched, Assignment("ev-1", True, 0.0, duplicate=True)))
    assert orjson.dumps(fresh.clustered) == orjson.dumps(redelivered.clustered)
    assert fresh.alert == redelivered.alert


# --------------------------------------------------------------------------- bounded state


def _stream(n: int, per_day: float, distinct: int = 10_000) -> list[dict]:
    return [story(i % distinct, T0 + i * DAY / per_day, uri=f"urn:s:{i}") for i in range(n)]


def test_state_is_flat_once_the_window_is_full():
    per_day = 40
    pipeline = Pipeline(window_days=1.0, uri_retention_days=2.0)
    sizes = []
    for i, doc in enumerate(_stream(40 * 10, per_day)):
        pipeline.process_document(doc, arrival=0.0)
        if (i + 1) % per_day == 0:
            sizes.append((len(pipeline.assignments), len(pipeline.uri_events), len(pipeline.events),
                          len(pipeline.profiles)))
    # after 2 days (the longest lifetime) nothing grows: at most the lifetime's worth of stories
    for a, u, e, p in sizes[3:]:
        assert a <= per_day + 1 and u <= 2 * per_day + 1 and p <= per_day + 1
        assert e <= 2 * per_day + 1
    assert sizes[-1] == sizes[-2] or abs(sizes[-1][2] - sizes[-2][2]) <= 2


def test_a_late_version_within_the_uri_retention_finds_its_event():
    docs = [story(1, T0), story(5, T0 + 2.5 * DAY)]  # the second moves stream time on
    late = story(1, T0 + 2.6 * DAY, version=2, extra="Police arrested 14 people near the depot.")
    pipeline, outcomes = run(docs + [late], window_days=1.0, uri_retention_days=3.0)
    assert outcomes[2].assignment.event_id == outcomes[0].assignment.event_id
    assert pipeline.uri_events["urn:t:1"]["event_id"] == outcomes[0].assignment.event_id
    # past the retention, the uri and its event are gone: a later version founds a new event
    docs2 = docs + [story(6, T0 + 5 * DAY), late]
    pipeline, outcomes = run(docs2, window_days=1.0, uri_retention_days=3.0)
    assert outcomes[0].assignment.event_id not in pipeline.events or \
        outcomes[3].assignment.event_id != outcomes[0].assignment.event_id
    assert outcomes[3].assignment.event_id != outcomes[0].assignment.event_id


def test_event_state_goes_when_its_last_uri_goes():
    docs = [story(1, T0), story(1, T0 + 0.5 * DAY, uri="urn:t:1b"), story(7, T0 + 4 * DAY)]
    pipeline, outcomes = run(docs, window_days=1.0, uri_retention_days=3.0)
    first_event = outcomes[0].assignment.event_id
    assert outcomes[1].assignment.event_id == first_event
    assert first_event not in pipeline.events
    assert "urn:t:1" not in pipeline.uri_events and "urn:t:1b" not in pipeline.uri_events


@given(st.lists(st.tuples(st.integers(0, 30), st.floats(0, 6 * DAY), st.integers(1, 3)), min_size=1, max_size=40))
@settings(max_examples=150, deadline=None)
def test_expiry_is_a_function_of_the_stream_alone(items):
    """Same stories in the same order -> same decisions and the same state, whatever the wall
    clock; and every record still held is inside its lifetime of stream time."""
    docs = [story(i, T0 + dt, version=v) for i, dt, v in items]
    a, out_a = run(docs, window_days=1.0, uri_retention_days=2.0)
    b, out_b = run(docs, window_days=1.0, uri_retention_days=2.0)
    assert [o.assignment for o in out_a] == [o.assignment for o in out_b]
    assert (a.assignments, a.uri_events, a.events) == (b.assignments, b.uri_events, b.events)
    # (stream time: the latest time of a story the shard processed; a repeat does not count)
    now = a.cluster_stage.clusterer.stream_time
    for rec in a.uri_events.values():
        assert rec["time"] >= now(rec["shard"]) - 2 * DAY
    for rec in a.assignments.values():
        assert rec["time"] >= now(rec["shard"]) - 1 * DAY


def test_an_event_that_never_ends_keeps_a_bounded_state():
    """A story every 6 hours on one event for 30 days: the event lives on (same id), and remembers
    the stories and facts of the uri retention only."""
    docs = [story(1, T0 + k * DAY / 4, uri=f"urn:long:{k}", extra=f"Update {k}: crews from Kessel number {k + 10}.")
            for k in range(120)]
    pipeline, outcomes = run(docs, window_days=1.0, uri_retention_days=2.0)
    event_ids = {o.assignment.event_id for o in outcomes}
    assert len(event_ids) == 1, "one event all along"
    (record,) = pipeline.events.values()
    assert len(record["stories"]) <= 2 * 4 + 2
    horizon = T0 + 119 * DAY / 4 - 2 * DAY
    assert all(f["time"] >= horizon - DAY / 4 for f in record["facts"])
    assert len(record["first_results"]) == len(record["stories"])
    assert record["first_seen"] == T0  # the event's history is still its own
    # a redelivery of a story still remembered gets its first record again
    enriched = enrich(decode_story(orjson.dumps(docs[-1]), arrival=0.0))
    result = pipeline.event_stage.process(AssignedStory(enriched, outcomes[-1].assignment))
    assert result.repeated
