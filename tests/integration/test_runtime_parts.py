"""Fast tests of the streaming runtime's pieces that need no broker: the crash-safe table
adapters (with a simulated changelog and crash), dead-letter records, alert text, ingest parsing."""

from __future__ import annotations

import base64
import random

import orjson
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from .kafkaio import offline, synthetic_feed


# --------------------------------------------------------------------------- table adapters


def test_write_behind_reads_its_writes_and_applies_them_on_flush():
    from streams.runtime.tables import WriteBehind

    backing = {"a": 1, "b": 2}
    overlay = WriteBehind(backing)
    overlay["a"] = 10
    overlay["c"] = 3
    del overlay["b"]
    assert overlay["a"] == 10 and overlay.get("b") is None and "b" not in overlay and overlay["c"] == 3
    assert sorted(overlay) == ["a", "c"] and len(overlay) == 2
    assert backing == {"a": 1, "b": 2}  # nothing written yet
    assert overlay.flush() == 3
    assert backing == {"a": 10, "c": 3}
    overlay["x"] = 1
    overlay.discard()
    assert "x" not in backing and "x" not in overlay


_steps = st.lists(  # steps of writes over a few keys (None: delete); then which taken steps settle when
    st.tuples(st.dictionaries(st.sampled_from("abcde"), st.none() | st.integers(0, 9), max_size=4),
              st.integers(0, 3)),
    max_size=12)


@hsettings(max_examples=300, deadline=None)
@given(_steps)
def test_write_behind_with_steps_in_flight_reads_and_writes_as_one_step_at_a_time(steps):
    """Steps taken (outputs on their way) and settled later, in order: every read sees the
    latest write of any step, and the backing mapping receives each step's writes in step order
    — at every point it equals the state after the settled steps alone, as if each step had been
    flushed on its own."""
    from streams.runtime.tables import WriteBehind

    backing = {"a": 0, "b": 1}
    overlay = WriteBehind(backing)
    model = dict(backing)  # the state after every step so far
    settled_model = dict(backing)  # after the settled steps only
    taken: list = []
    for writes, settle_now in steps:
        for key, value in writes.items():
            if value is None:
                if key in overlay:
                    del overlay[key]
                    model.pop(key)
            else:
                overlay[key] = value
                model[key] = value
        assert dict(overlay.items()) == model and len(overlay) == len(model)
        taken.append((overlay.take(), dict(model)))
        for _ in range(min(settle_now, len(taken))):
            step, after = taken.pop(0)
            overlay.settle(step)
            settled_model = after
            assert backing == settled_model
        assert dict(overlay.items()) == model
    while taken:
        step, after = taken.pop(0)
        overlay.settle(step)
        assert backing == after
    assert backing == model and not overlay.unsettled


def test_key_prefix_views_share_one_table():
    from streams.runtime.tables import KeyPrefixView

    table: dict = {}
    p, a = KeyPrefixView(table, "p:"), KeyPrefixView(table, "a:")
    p["ev1"] = {"n": 1}
    a["ev1"] = {"event_id": "ev1"}
    assert table == {"p:ev1": {"n": 1}, "a:ev1": {"event_id": "ev1"}}
    assert list(p.items()) == [("ev1", {"n": 1})] and "ev1" in a and len(a) == 1
    del p["ev1"]
    assert "ev1" not in p and "ev1" in a


class _ChangelogTable(dict):
    """A dict that logs every write, in order, like a table's changelog partition."""

    def __init__(self, log: list) -> None:
        super().__init__()
        self.log = log

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.log.append((key, orjson.dumps(value)))

    def __delitem__(self, key):
        super().__delitem__(key)
        self.log.append((key, None))

    def pop(self, key, default=None):
        if key in self:
            value = self[key]
            del self[key]
            return value
        return default


def test_journaled_cluster_state_survives_any_crash_point():
    """Kill the cluster stage at random points: only a prefix of its changelog survives, offsets
    are committed only for steps whose writes are all in it (Faust flushes before committing).
    Recover from the surviving changelog, re-process from the committed offset: the decisions
    must be the ones of a run without crash."""
    from streams.core.pipeline import ClusterStage, enrich, story_from_document
    from streams.runtime.tables import JournaledState

    feed = synthetic_feed(24, seed=3)
    reference, _ = offline(feed)
    expected = {(a["uri"], a["version"]): a["event_id"] for a in reference}
    stories = [enrich(story_from_document(orjson.loads(line), arrival=0.0)) for line in feed]

    def stage(log: list, recovered: dict | None = None):
        table = _ChangelogTable(log)
        dict.update(table, recovered or {})
        state = JournaledState(table, ["p:", "a:", "u:"])
        return state, ClusterStage(*state.views, window_days=3.0)

    def step(state, cluster, story):
        state.discard()
        if state.needs_replay(story.shard) and state.replay(story.shard):
            cluster.rebuild()
        assignment = cluster.process(story)
        state.commit(story.shard)
        return assignment

    rng = random.Random(11)
    for _ in range(25):
        log: list = []
        state, cluster = stage(log)
        crash_after = rng.randint(1, len(stories) - 1)
        ends = []
        for story in stories[:crash_after]:
            step(state, cluster, story)
            ends.append(len(log))
        cut = rng.randint(0, len(log))  # the changelog prefix that reached the broker
        recovered: dict = {}
        for key, value in log[:cut]:
            if value is None:
                recovered.pop(key, None)
            else:
                recovered[key] = orjson.loads(value)
        committed = rng.randint(0, sum(1 for end in ends if end <= cut))
        state, cluster = stage([], recovered)
        cluster.rebuild()
        state.recovered()
        got = {}
        for story in stories[committed:]:
            got[(story.story.uri, story.story.version)] = step(state, cluster, story).event_id
        assert got == {k: v for k, v in expected.items() if k in got}, (crash_after, cut, committed)


# --------------------------------------------------------------------------- dead letters, alerts


def test_dead_letter_record_keeps_the_original_bytes():
    from streams.core.deadletter import dead_letter_record
    from streams.core.models import Rejection
    from streams.core.validate import validator

    raw = b"\xff\xfe not utf-8"
    record = dead_letter_record(b"k", raw, Rejection("not_utf8", "not UTF-8"), topic="wire.stories",
                                partition=3, offset=7, max_bytes=1024, now=0.0)
    validator("dead-letter").validate(record)
    assert record["encoding"] == "base64" and base64.b64decode(record["value"]) == raw
    assert (record["key"], record["partition"], record["offset"], record["time"]) == ("k", 3, 7, "1970-01-01T00:00:00.000Z")

    big = ("é" * 3000).encode()
    record = dead_letter_record(None, big, Rejection("too_large", "too large"), topic="t", partition=0,
                                offset=0, max_bytes=1025)
    assert record["truncated"] and record["size"] == len(big) and record["encoding"] == "utf-8"
    assert len(record["value"].encode()) <= 1025 and record["key"] is None

    record = dead_letter_record(b"e", None, Rejection("empty", "empty message"), topic="t", partition=0,
                                offset=0, max_bytes=1024)
    validator("dead-letter").validate(record)
    assert record["value"] == "" and not record["truncated"]


def test_alert_block_shows_event_story_and_facts():
    from streams.cli.demo import format_alert

    alert = {
        "alert_id": "wsa-1", "type": "story_update", "kind": "new_story", "event_id": "ev-1",
        "story": {"uri": "urn:seed:003", "version": 1, "headline": "", "source": None, "lang": "en"},
        "new_facts": [{"text": "The ministers signed agreements on exports of Russian millet to China.",
                       "terms": ["agreements", "millet"], "names": ["China"], "numbers": []}],
        "event": {"headline": "Xi meets Mishustin", "story_count": 2, "sources": [],
                  "first_seen": "2023-05-24T10:00:00Z", "last_update": "2023-05-24T12:00:00Z"},
        "created_at": "2023-05-24T12:00:00Z",
    }
    text = format_alert(alert)
    assert "STORY UPDATE" in text and "ev-1" in text and "Xi meets Mishustin" in text
    assert "urn:seed:003 v1" in text and "millet" in text and "terms: agreements, millet" in text


# --------------------------------------------------------------------------- ingest parsing


def test_ingest_prepares_jsonl_ninjs_and_text(tmp_path):
    from streams.cli.ingest import Item, Problem, iter_sources, prepare

    (tmp_path / "a.jsonl").write_text('{"uri": "u1", "body_text": "Body one."}\n\nnot json\n')
    (tmp_path / "b.json").write_text(orjson.dumps([
        {"uri": "n1", "version": "2", "headlines": [{"value": "H"}], "bodies": [{"value": "Ninjs body."}]},
        {"uri": "n2"},
    ]).decode())
    (tmp_path / "c.txt").write_text("\n\nHeadline line\nBody line one.\nBody line two.\n")
    skipped = []
    out = list(prepare(iter_sources([str(tmp_path)], on_skip=skipped.append), max_bytes=1 << 20))
    items = [o for o in out if isinstance(o, Item)]
    problems = [o for o in out if isinstance(o, Problem)]
    assert [i.key for i in items] == [b"u1", b"n1", b"urn:txt:c.txt"]
    assert [(p.where.rsplit("/", 1)[-1], p.reason) for p in problems] == [("a.jsonl:3", "not_json"), ("b.json[1]", "schema")]
    text_doc = orjson.loads(items[2].value)
    assert text_doc["headline"] == "Headline line" and text_doc["body_text"] == "Body line one.\nBody line two."
    assert skipped == []


@pytest.mark.parametrize("url, expected", [
    ("kafka://127.0.0.1:9092", "127.0.0.1:9092"),
    ("kafka://a:1;kafka://b:2", "a:1,b:2"),
    ("a:1,b:2", "a:1,b:2"),
])
def test_bootstrap_servers_from_faust_urls(url, expected):
    from streams.kafka.broker import bootstrap_servers

    assert bootstrap_servers(url) == expected
