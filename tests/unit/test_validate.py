"""Input validation: every refusal names the field and the rule; both input forms map alike."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from streams.core.validate import Rejected, decode_story, format_time, parse_time, story_from_document

PLAIN = {"uri": "urn:x:1", "body_text": "Officials said the bridge reopened.", "headline": "Bridge reopens",
         "version": 2, "versioncreated": "2024-03-01T10:00:00Z", "language": "en", "source": "AFP"}


def decode(doc) -> object:
    return decode_story(orjson.dumps(doc), arrival=123.0)


def test_plain_story_maps_all_fields():
    story = decode(PLAIN)
    assert story.uri == "urn:x:1"
    assert story.version == 2
    assert story.headline == "Bridge reopens"
    assert story.versioncreated == parse_time("2024-03-01T10:00:00Z")
    assert story.language_hint == "en"
    assert story.source == "AFP"


def test_ninjs_story_maps_to_same_fields():
    ninjs = {"uri": "urn:x:1", "version": "2", "versioncreated": "2024-03-01T10:00:00+00:00",
             "headlines": [{"value": "Bridge reopens"}], "bodies": [{"value": PLAIN["body_text"], "role": "main"}],
             "language": "en", "infosources": [{"name": "AFP"}], "type": "text"}
    assert decode(ninjs) == decode(PLAIN)


def test_defaults_version_and_arrival_time():
    story = decode({"uri": "u", "body_text": "Text."})
    assert story.version == 1 and story.versioncreated == 123.0 and story.headline == ""


def test_unknown_fields_are_ignored():
    assert decode({**PLAIN, "priority": 3, "subjects": [{"name": "x"}]}) == decode(PLAIN)


@pytest.mark.parametrize("raw, reason, field", [
    (b"", "empty", None),
    (b"\xff\xfe{}", "not_utf8", None),
    (b"{not json", "not_json", None),
    (b"[1, 2]", "schema", None),
    (orjson.dumps({"body_text": "x"}), "schema", "uri"),
    (orjson.dumps({"uri": "u"}), "schema", "body_text"),
    (orjson.dumps({"uri": "u", "body_text": "   "}), "schema", "body_text"),
    (orjson.dumps({"uri": "u", "body_text": "x", "version": 0}), "schema", "version"),
    (orjson.dumps({"uri": "u", "body_text": "x", "version": "two"}), "schema", "version"),
    (orjson.dumps({"uri": "u", "body_text": "x", "versioncreated": "last Tuesday"}), "schema", "versioncreated"),
    (orjson.dumps({"uri": "u", "body_text": 42}), "schema", "body_text"),
])
def test_rejections_name_reason_and_field(raw, reason, field):
    with pytest.raises(Rejected) as info:
        decode_story(raw, arrival=0.0)
    rejection = info.value.rejection
    assert rejection.reason == reason
    if field is not None:
        assert rejection.detail.startswith(field), rejection.detail


def test_too_large_is_refused_before_parsing():
    raw = orjson.dumps({"uri": "u", "body_text": "x" * 5000})
    with pytest.raises(Rejected) as info:
        decode_story(raw, max_bytes=2048, arrival=0.0)
    assert info.value.rejection.reason == "too_large"
    assert "2048" in info.value.rejection.detail


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_never_crash(raw):
    try:
        decode_story(raw, arrival=0.0)
    except Rejected as exc:
        assert exc.rejection.reason in {"empty", "not_utf8", "not_json", "schema", "too_large"}


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                    max_leaves=10))
@settings(max_examples=300, deadline=None)
def test_arbitrary_json_is_a_story_or_a_rejection(doc):
    try:
        story = story_from_document(doc, arrival=0.0)
    except Rejected as exc:
        assert exc.rejection.detail
    else:
        assert story.uri and story.body_text.strip() and story.version >= 1


def test_time_round_trip():
    assert format_time(parse_time("2023-05-24T10:00:00Z")) == "2023-05-24T10:00:00Z"
    assert parse_time("2023-05-24T12:00:00+02:00") == parse_time("2023-05-24T10:00:00Z")


_FIELD_VALUES = st.sampled_from([None, True, False, 0, 1, -1, 2, 1.0, 2.5, "", " ", "\n", "x", "12", "12\n",
                                 "a" * 40, "a" * 600, "b" * 5000, [], {}, [{"value": "x"}], "\u00a0",
                                 "2024-01-01T00:00:00Z"])
_FIELDS = ["uri", "body_text", "headline", "version", "versioncreated", "language", "source", "url", "bodies", "other"]


@given(st.dictionaries(st.sampled_from(_FIELDS), _FIELD_VALUES, max_size=8))
@settings(max_examples=500, deadline=None)
def test_plain_fast_path_accepts_only_what_the_schema_accepts(doc):
    from streams.core.validate import _plain_story_valid, validator

    if _plain_story_valid(doc):
        assert not list(validator("story").iter_errors(doc))


def test_plain_fast_path_takes_the_usual_story():
    from streams.core.validate import _plain_story_valid

    assert _plain_story_valid(PLAIN) and _plain_story_valid({**PLAIN, "headline": None, "extra": [1]})
