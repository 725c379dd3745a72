"""The in-process pipeline: idempotency, determinism, and outputs that match the public schemas."""

from __future__ import annotations

import copy

import pytest

from streams.core.events import alert_id_for
from streams.core.pipeline import Pipeline
from streams.core.validate import validator

from .articles import ELECTION, FLOOD_V1, FLOOD_V2_TOLL, FLOOD_V3_NEWS


def run(docs, **kwargs):
    pipeline = Pipeline(**kwargs)
    return pipeline, [pipeline.process_document(copy.deepcopy(d), arrival=0.0) for d in docs]


def test_first_story_founds_an_event_without_alert():
    _, (out,) = run([FLOOD_V1])
    assert out.assignment.is_new_event and out.alert is None
    assert out.event is not None and out.event["story_count"] == 1


def test_resend_is_a_duplicate_and_changes_nothing():
    pipeline, outs = run([FLOOD_V1, FLOOD_V3_NEWS])
    events_before = copy.deepcopy(pipeline.events)
    again = [pipeline.process_document(copy.deepcopy(d), arrival=0.0) for d in (FLOOD_V1, FLOOD_V3_NEWS)]
    assert all(o.assignment.duplicate for o in again)
    assert all(o.alert is None and o.event is None for o in again)
    assert pipeline.events == events_before


def test_versions_of_one_uri_stay_in_one_event():
    _, outs = run([FLOOD_V1, ELECTION, FLOOD_V2_TOLL, FLOOD_V3_NEWS])
    flood_events = {o.assignment.event_id for o in outs if o.enriched.story.uri == FLOOD_V1["uri"]}
    assert len(flood_events) == 1
    assert outs[1].assignment.event_id not in flood_events


def test_same_input_same_ids():
    docs = [FLOOD_V1, ELECTION, FLOOD_V2_TOLL, FLOOD_V3_NEWS]
    _, a = run(docs)
    _, b = run(docs)
    assert [o.assignment for o in a] == [o.assignment for o in b]
    assert [o.alert for o in a] == [o.alert for o in b]


def test_alert_id_is_deterministic_and_distinct():
    assert alert_id_for("ev-1", "u", 2, "h") == alert_id_for("ev-1", "u", 2, "h")
    assert alert_id_for("ev-1", "u", 2, "h") != alert_id_for("ev-1", "u", 3, "h")


def test_outputs_match_public_schemas():
    pipeline, outs = run([FLOOD_V1, ELECTION, FLOOD_V2_TOLL, FLOOD_V3_NEWS])
    alerts = [o.alert for o in outs if o.alert]
    assert alerts, "the new-facts version must alert"
    for alert in alerts:
        validator("story-update").validate(alert)
    for event_id, raw in pipeline.events.items():
        from streams.core.events import EventState
        validator("event").validate(EventState.from_dict(raw).snapshot())
    for o in outs:
        if o.event is not None:
            validator("event").validate(o.event)


def test_language_confidence_reaches_every_output():
    pipeline, outs = run([FLOOD_V1, ELECTION, FLOOD_V2_TOLL, FLOOD_V3_NEWS])
    from streams.core.models import AssignedStory
    from streams.core.pipeline import EventStage

    for o in outs:
        assert o.enriched.lang == "en" and 0.5 < o.enriched.lang_confidence <= 1.0
    alert = next(o.alert for o in outs if o.alert)
    assert alert["story"]["lang_confidence"] == outs[2].enriched.lang_confidence
    snapshot = next(o.event for o in reversed(outs) if o.event)
    assert all(0.5 < s["lang_confidence"] <= 1.0 for s in snapshot["stories"])
    # the clustered record (a fresh event stage, so the story is not a duplicate)
    result = EventStage({}).process(AssignedStory(outs[1].enriched, outs[1].assignment))
    validator("clustered").validate(result.clustered)
    assert result.clustered["lang_confidence"] == outs[1].enriched.lang_confidence
    # internal records written before the field existed still load (confidence 0)
    from streams.core.models import EnrichedStory, StoryRef

    old = outs[0].enriched.to_dict()
    del old["lang_confidence"]
    assert EnrichedStory.from_dict(old).lang_confidence == 0.0
    ref = {"uri": "u", "version": 1, "text_hash": "h", "headline": "", "source": None, "lang": "en", "time": 0.0}
    assert StoryRef.from_dict(ref).lang_confidence == 0.0


@pytest.mark.parametrize("shard_by", ["lang", "none"])
def test_shard_modes_run(shard_by):
    _, outs = run([FLOOD_V1, ELECTION], shard_by=shard_by)
    assert {o.enriched.shard for o in outs} == ({"en"} if shard_by == "lang" else {"all"})


def test_event_state_copy_leaves_the_original_alone():
    from streams.core.events import EventState

    pipeline, _ = run([FLOOD_V1])
    raw = next(iter(pipeline.events.values()))
    state = EventState.from_dict(raw)
    before = state.to_dict()
    copied = state.copy()
    copied.stories.append(copied.stories[0])
    copied.facts.append({"text": "x"})
    copied.sources.append("other")
    copied.alerts.append("a")
    assert state.to_dict() == before
    assert EventState.from_dict(copied.to_dict()).to_dict() == copied.to_dict()


def test_internal_message_without_body_round_trips():
    from streams.core.models import EnrichedStory

    _, outcomes = run([FLOOD_V1])
    enriched = outcomes[0].enriched
    message = enriched.to_dict(body=False)
    assert message["story"]["body_text"] == ""
    again = EnrichedStory.from_dict(message)
    assert again.sentences == enriched.sentences and again.idempotency_key == enriched.idempotency_key


def test_known_facts_are_reused_only_when_every_story_shares_the_language(monkeypatch):
    from streams.core import novelty

    seen: list[tuple[str, str | None]] = []
    real = novelty.assess

    def spy(known, sentences, lang, **kwargs):
        seen.append((lang, kwargs.get("known_lang")))
        return real(known, sentences, lang, **kwargs)

    monkeypatch.setattr(novelty, "assess", spy)
    run([FLOOD_V1, FLOOD_V3_NEWS])
    assert seen == [("en", "en"), ("en", "en")]
    seen.clear()
    # the same uri told in German first: the English version joins that event, and its known facts
    # were analysed as German, so none is reused
    german = {**FLOOD_V1, "language": "de", "body_text": (
        "Sturzfluten haben am Donnerstag die nordkenianische Stadt Garissa nach drei Tagen heftigen Regens "
        "überschwemmt, teilten Beamte mit.\n\nDas Kenianische Rote Kreuz erklärte, mindestens zwölf Menschen "
        "seien ums Leben gekommen und mehr als 4.000 Familien hätten ihre Häuser verlassen müssen.")}
    run([german, FLOOD_V3_NEWS])
    assert seen == [("de", "de"), ("en", None)]
