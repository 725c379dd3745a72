"""The hostile corpus (tests/hostile.py) through ``replay`` — the core in-process, as the worker runs it.

Every line is processed or refused with its reason; the run never dies; good stories after the
corpus are still processed; and whatever comes out is clean (RFC 3339 times, no control characters).
"""

from __future__ import annotations

import re
import time

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from streams.cli.replay import replay
from streams.core.pipeline import Pipeline, WorkLimits, enrich
from streams.core.validate import decode_story

from ..hostile import BODY, corpus

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _good(n: int) -> list[bytes]:
    return [orjson.dumps({"uri": f"urn:good:{i}", "body_text": f"{BODY} Story {i} adds that crews from Kessel helped.",
                          "headline": "Bridge reopens", "versioncreated": "2024-05-01T11:00:00Z"}) for i in range(n)]


def _run(lines: list[bytes]):
    bad: dict[int, object] = {}
    rows: list[dict] = []
    alerts: list[dict] = []
    pipeline = Pipeline()
    summary = replay(enumerate(lines, start=1), pipeline=pipeline, write_assignment=rows.append,
                     write_alert=alerts.append, report_bad=lambda n, r: bad.__setitem__(n, r))
    return summary, bad, rows, alerts, pipeline


def test_corpus_has_at_least_thirty_kinds():
    assert len(corpus()) >= 30


def test_every_hostile_line_is_processed_or_refused_with_its_reason_and_the_run_goes_on():
    cases = [h for h in corpus() if not h.stream_only]
    good = _good(3)
    summary, bad, rows, _alerts, pipeline = _run([h.raw for h in cases] + good)
    assert summary.lines == len(cases) + len(good)
    processed_uris = {r["uri"] for r in rows}
    for number, h in enumerate(cases, start=1):
        if h.either:
            assert number in bad or h.uri in processed_uris, h.kind
        elif h.expect == "processed":
            assert number not in bad, (h.kind, bad.get(number))
            assert h.uri in processed_uris, h.kind
        else:
            assert number in bad, f"{h.kind} was not refused"
            assert bad[number].reason == h.expect, (h.kind, bad[number])
            assert bad[number].detail
    assert {f"urn:good:{i}" for i in range(3)} <= processed_uris
    assert "internal" not in summary.reasons, summary.reasons
    # what comes out is clean: no control character in any string of any event state
    for record in pipeline.events.values():
        for text in _strings(record):
            assert not CONTROL.search(text), text[:200]


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def test_output_times_are_rfc3339_with_four_digit_years():
    from streams.core.validate import format_time, parse_time

    for text in ("0001-01-01T00:00:00Z", "0999-06-01T12:00:00Z", "1969-12-31T23:59:59Z", "9999-12-31T23:59:59Z"):
        assert format_time(parse_time(text)) == text
    for first, second in (("0001-01-01T00:00:00Z", "0001-01-01T01:00:00Z"),
                          ("9999-12-31T22:00:00Z", "9999-12-31T23:59:59Z")):
        pipeline = Pipeline()
        doc = {"uri": "urn:y", "body_text": BODY, "versioncreated": first}
        snapshot = pipeline.process_document(doc, arrival=0.0).event
        assert snapshot["first_seen"] == first and snapshot["stories"][0]["time"] == first
        update = {**doc, "version": 2, "versioncreated": second,
                  "body_text": BODY + " Police in Tamsvik arrested 14 people on Friday."}
        outcome = pipeline.process_document(update, arrival=0.0)
        assert outcome.alert is not None
        assert outcome.alert["created_at"] == second and outcome.alert["event"]["first_seen"] == first
        assert all(RFC3339.match(f["first_seen"]) for f in outcome.event["facts"])


def test_controls_are_removed_from_headline_body_source_and_url():
    h = {c.kind: c for c in corpus()}
    story = decode_story(h["headline_ansi"].raw, arrival=0.0)
    assert story.headline == "Bridge reopens"
    story = decode_story(h["body_controls"].raw, arrival=0.0)
    assert not CONTROL.search(story.body_text) and "Crews worked at night.\tDone." in story.body_text
    story = decode_story(h["source_url_controls"].raw, arrival=0.0)
    assert story.source == "AFP" and story.url == "https://x.example/ab"
    assert decode_story(h["headline_bidi"].raw, arrival=0.0).headline == "Bridge reopens today"


def test_a_huge_body_is_bounded():
    """200,000 short sentences: only the documented limit is analysed, in bounded time."""
    h = {c.kind: c for c in corpus()}
    story = decode_story(h["huge_body_sentences"].raw, arrival=0.0)
    limits = WorkLimits()
    start = time.perf_counter()
    enriched = enrich(story, limits=limits)
    Pipeline().process_story(story)
    elapsed = time.perf_counter() - start
    assert len(enriched.sentences) <= limits.max_sentences
    # unbounded this took ~7 s (bench/README.md "Hostile input"); bounded ~0.3 s on a quiet machine
    assert elapsed < 3.0, elapsed


@pytest.mark.parametrize("chars, sentences", [(1000, 10), (5000, 50)])
def test_work_limits_cut_at_whitespace_and_sentence(chars, sentences):
    body = " ".join(f"Sentence number {i} is here." for i in range(2000))
    story = decode_story(orjson.dumps({"uri": "u", "body_text": body}), arrival=0.0)
    enriched = enrich(story, limits=WorkLimits(max_chars=chars, max_sentences=sentences))
    assert 0 < len(enriched.sentences) <= sentences
    assert sum(len(s) for s in enriched.sentences) <= chars
    assert all(s.endswith(".") or s == enriched.sentences[-1] for s in enriched.sentences)


_URIS = st.text(alphabet=st.sampled_from(["a", ":", " ", "\x00", "\n", "\t", "\x1b", "\x7f", "\x85", "\x9f", "\xa0",
                                          "\u202e", "\u2066", "\u200e", "\u061c", "\u200b", "é"]),
                min_size=0, max_size=6)
_VERSIONS = st.sampled_from([0, 1, 2, 2**53 - 2, 2**53 - 1, 2**53, 2**63, -1, 1.0, 1e30, True, "1", "9007199254740991",
                             "9007199254740992", "99999999999999999"])


@given(uri=_URIS, version=_VERSIONS, created=st.sampled_from([None, "2024-01-01T00:00:00Z", 5, "x"]))
@settings(max_examples=400, deadline=None)
def test_fast_path_never_accepts_what_the_schema_refuses_and_bounds_hold(uri, version, created):
    from streams.core.validate import MAX_VERSION, Rejected, _plain_story_valid, story_from_document, validator

    doc = {"uri": uri, "body_text": BODY, "version": version}
    if created is not None:
        doc["versioncreated"] = created
    if _plain_story_valid(doc):
        assert not list(validator("story").iter_errors(doc))
    try:
        story = story_from_document(doc, arrival=0.0)
    except Rejected as exc:
        assert exc.rejection.detail
    else:
        assert 1 <= story.version <= MAX_VERSION
        assert not CONTROL.search(story.uri) and not any(c in story.uri for c in "\t\n\r\x0b\x0c\x85")


def test_replay_cli_over_the_hostile_corpus_reports_skips_and_finishes(tmp_path):
    from click.testing import CliRunner

    from streams.cli.main import main

    src = tmp_path / "hostile.jsonl"
    good = _good(2)
    src.write_bytes(b"\n".join([h.raw for h in corpus() if not h.stream_only] + good) + b"\n")
    out = tmp_path / "a.jsonl"
    result = CliRunner().invoke(main, ["replay", str(src), "--assignments", str(out), "--alerts", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    summary = orjson.loads(result.stderr.strip().splitlines()[-1])["summary"]
    assert summary["lines"] == summary["stories"] + summary["rejected"]
    assert "internal" not in summary["rejected_by_reason"]
    assert result.stderr.count("skipped (") == summary["rejected"] >= 40
    uris = [orjson.loads(line)["uri"] for line in out.read_bytes().splitlines()]
    assert uris[-2:] == ["urn:good:0", "urn:good:1"]
