"""The streaming runtime on a real broker: workers are ``wirestream worker`` subprocesses.

The reference for what the pipeline must publish is the core run in-process over the same
stories in the same order (what ``wirestream replay`` runs): online and offline must agree.
"""

from __future__ import annotations

import base64

import orjson
import pytest

from .kafkaio import Collector, key_version, offline, produce, seed_lines, synthetic_feed, uri_of

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

FIRST = 90.0  # worker start (imports, group join) + first story
NEXT = 30.0


def _validator(name: str):
    from streams.core.validate import validator

    return validator(name)


def _has_millet(alert: dict) -> bool:
    return any("millet" in fact["text"].lower() for fact in alert["new_facts"])


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
async def test_seeds_produce_the_millet_alert(settings, workers, store):
    if store.startswith("rocksdb"):
        pytest.importorskip("rocksdict", reason="rocksdb:// needs the rocksdb extra (rocksdict)")
    settings = settings.with_(store=store)
    lines = seed_lines()
    expected_assignments, expected_alerts = offline(lines)
    async with Collector(settings) as out:
        worker = workers(settings)
        # One at a time: the input is keyed by uri, so two stories sent together may be read
        # in either order; the seed example is defined in this order (000 first, then 003).
        for i, line in enumerate(lines):
            await produce(settings, [(uri_of(line), line)])
            await out.until(lambda c, kv=key_version(line): kv in c.clustered_keys(), FIRST if i == 0 else NEXT,
                            what=f"{kv_text(line)} on stories.clustered", alive=lambda: worker.alive,
                            logs=worker.log_tail)
        await out.until(lambda c: len(c.alerts()) >= len(expected_alerts), NEXT, what="the alerts",
                        logs=worker.log_tail)
        await out.poll(1.0)

    online = {(r["uri"], r["event_id"]) for r in out.records["stories.clustered"]}
    assert online == {(a["uri"], a["event_id"]) for a in expected_assignments}
    assert [a["alert_id"] for a in out.alerts()] == [a["alert_id"] for a in expected_alerts]
    assert out.alerts() == expected_alerts  # the very same alerts as the core offline
    for alert in out.alerts():
        _validator("story-update").validate(alert)
    for message in out.messages["story-updates"]:
        assert message.key.decode() == orjson.loads(message.value)["event_id"]
    assert worker.alive

    millet = [a for a in out.alerts() if a["story"]["uri"] == "urn:seed:003" and _has_millet(a)]
    if not millet and not any(_has_millet(a) for a in expected_alerts):
        pytest.xfail("the core does not yet find the millet fact offline either (clustering/novelty "
                     "in progress); online == offline holds")
    assert len(millet) == 1
    assert "agreements" in millet[0]["new_facts"][0]["text"] or any(
        "agreements" in f["text"] for f in millet[0]["new_facts"])


def kv_text(line: bytes) -> str:
    uri, version = key_version(line)
    return f"{uri} v{version}"


async def test_malformed_messages_go_to_dead_letter_and_worker_goes_on(settings, workers):
    settings = settings.with_(max_message_bytes=4096)
    not_utf8 = b'{"uri": "urn:bad:utf8", "body_text": "caf\xe9 \xff\xfe"}'
    too_large = orjson.dumps({"uri": "urn:bad:large", "body_text": "word " * 2000})
    bad = [
        (b"k-not-json", b"{this is not json"),
        (b"k-not-utf8", not_utf8),
        (b"k-schema", orjson.dumps({"uri": "urn:bad:schema", "headline": "no body"})),
        (b"k-too-large", too_large),
        (b"k-empty", b""),
        # no words: emoji and zero-width characters, one token repeated (never clustered)
        (b"k-no-text", orjson.dumps({"uri": "urn:bad:emoji", "headline": "🔥🔥", "body_text": "🔥\u200b🔥 !!!"})),
        (b"k-one-token", orjson.dumps({"uri": "urn:bad:aaa", "body_text": "a" * 3000})),
    ]
    good = orjson.dumps({"uri": "urn:good:after-garbage", "headline": "Harbour reopens after storm",
                         "body_text": "The harbour of Tamsvik reopened on Monday after a storm closed it for two days. "
                                      "Ferries resumed their normal timetable, the harbour master said."})
    async with Collector(settings) as out:
        worker = workers(settings, env={"WIRESTREAM_MAX_MESSAGE_BYTES": "4096"})
        await produce(settings, bad)
        await out.until(lambda c: len(c.records["dead-letter"]) >= len(bad), FIRST, what="7 dead letters",
                        alive=lambda: worker.alive, logs=worker.log_tail)
        await produce(settings, [(b"urn:good:after-garbage", good)])
        await out.until(lambda c: ("urn:good:after-garbage", 1) in c.clustered_keys(), NEXT,
                        what="a good story after the garbage", alive=lambda: worker.alive, logs=worker.log_tail)
        await out.poll(1.0)

    assert worker.alive
    letters = {m.key: orjson.loads(m.value) for m in out.messages["dead-letter"]}
    assert len(out.messages["dead-letter"]) == len(bad)
    assert {k: v["reason"] for k, v in letters.items()} == {
        b"k-not-json": "not_json", b"k-not-utf8": "not_utf8", b"k-schema": "schema",
        b"k-too-large": "too_large", b"k-empty": "empty", b"k-no-text": "no_text", b"k-one-token": "no_text",
    }
    for letter in letters.values():
        _validator("dead-letter").validate(letter)
        assert letter["detail"]
        assert letter["topic"] == settings.topic("stories")
    # the original bytes are kept: text as is, base64 when not UTF-8
    assert letters[b"k-not-json"]["value"] == "{this is not json"
    assert letters[b"k-not-utf8"]["encoding"] == "base64"
    assert base64.b64decode(letters[b"k-not-utf8"]["value"]) == not_utf8
    assert letters[b"k-schema"]["field"] == "body_text"
    assert letters[b"k-too-large"]["size"] == len(too_large)
    assert letters[b"k-empty"]["value"] == ""
    assert orjson.loads(letters[b"k-no-text"]["value"])["uri"] == "urn:bad:emoji"
    assert letters[b"k-no-text"]["field"] == "body_text"
    assert not {"urn:bad:emoji", "urn:bad:aaa"} & {uri for uri, _ in out.clustered_keys()}


async def test_worker_killed_mid_stream_recovers_from_changelogs(settings, workers):
    feed = synthetic_feed(40)
    first_half, second_half = feed[: len(feed) // 2], feed[len(feed) // 2:]
    assignments, expected = offline(feed)
    reference = {(a["uri"], a["version"]): a["event_id"] for a in assignments}
    expected_ids = {a["alert_id"] for a in expected}
    assert len(expected_ids) == len(expected) >= 20
    everything = {key_version(line) for line in feed}

    async with Collector(settings) as out:
        # One input partition keeps the feed order, so the result is comparable with the
        # offline run (each shard and event sees its stories in feed order).
        await produce(settings, [(uri_of(line), line) for line in first_half], partition=0)
        first = workers(settings)
        await out.until(lambda c: len(c.clustered_keys()) >= len(first_half) // 3, FIRST,
                        what="the first worker to get going", alive=lambda: first.alive, logs=first.log_tail)
        first.kill()  # SIGKILL: no flush, no commit
        done_before = len(out.clustered_keys())
        assert done_before < len(feed), "the kill should land mid-stream"

        await produce(settings, [(uri_of(line), line) for line in second_half], partition=0)
        second = workers(settings)

        def diagnosis() -> str:
            online = {(r["uri"], r["version"]): r["event_id"] for r in out.records["stories.clustered"]}
            moved = [f"{u} v{v}: {e} offline, {online[(u, v)]} online" for (u, v), e in reference.items()
                     if (u, v) in online and online[(u, v)] != e]
            got_ids = {a["alert_id"] for a in out.alerts()}
            return (f"{second.log_tail()}\nkilled after {done_before} stories; stories out: {len(online)}/{len(feed)}; "
                    f"alerts missing: {len(expected_ids - got_ids)}, unexpected: {len(got_ids - expected_ids)}; "
                    f"assignments differing from offline: {len(moved)} {moved[:5]}")

        await out.until(lambda c: c.clustered_keys() >= everything
                        and {a["alert_id"] for a in c.alerts()} >= expected_ids,
                        150, what="every story and every expected alert after the restart",
                        alive=lambda: second.alive, logs=diagnosis)
        await out.poll(1.5)

    got = out.alerts()
    ids = [a["alert_id"] for a in got]
    assert set(ids) == expected_ids, "no alert may be missing, and none may be invented"
    by_id = {a["alert_id"]: a for a in expected}
    for alert in got:  # a redelivery is the same alert, recognisable by its alert_id
        assert alert == by_id[alert["alert_id"]]
    print(f"stories: {len(feed)}, processed before the kill: {done_before}, "
          f"alerts: {len(expected_ids)}, redelivered: {len(ids) - len(set(ids))}")
