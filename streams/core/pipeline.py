"""The core's three stages, and their in-process composition used by ``wirestream replay``.

The Faust agents call exactly these stages, with Faust tables in place of the dicts:

1. ``decode_story`` + ``enrich`` — stateless: validate, normalize, detect the language.
2. ``ClusterStage`` — keyed by shard: idempotency, uri -> event, online event clustering.
3. ``EventStage`` — keyed by event id: event state, novelty, alert.
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from . import langid, normalize
from .clusterer import DEFAULT_CONFIG, ClusterConfig, Clusterer
from .events import EventState, apply_story
from .models import AssignedStory, Assignment, EnrichedStory, Outcome, Story
from .validate import Rejected, decode_story, format_time, story_from_document

__all__ = [
    "Rejected", "decode_story", "story_from_document", "enrich", "ClusterStage", "EventStage",
    "EventResult", "Pipeline", "shard_for", "make_event_id",
]


def shard_for(lang: str, shard_by: str) -> str:
    """The clustering partition key: each event lives in exactly one shard."""
    return lang if shard_by == "lang" else "all"


def _text_hash(headline: str, sentences: tuple[str, ...]) -> str:
    # Over normalized text, so a re-send that differs only in whitespace or quote style is a duplicate.
    h = hashlib.blake2b(digest_size=12)
    h.update(headline.encode())
    for sentence in sentences:
        h.update(b"\x1e")
        h.update(sentence.encode())
    return h.hexdigest()


def enrich(story: Story, shard_by: str = "lang") -> EnrichedStory:
    """Stage 1 (stateless): normalize the text, drop page debris, detect the language."""
    clean = normalize.clean_story(story.headline, story.body_text)
    decision = langid.detect_story(clean.headline, clean.body, hint=story.language_hint)
    lang = decision.lang
    return EnrichedStory(
        story=story,
        lang=lang,
        headline=clean.headline,
        sentences=clean.sentences,
        text_hash=_text_hash(clean.headline, clean.sentences),
        shard=shard_for(lang, shard_by),
        lang_confidence=round(decision.prob, 4),
    )


def make_event_id(enriched: EnrichedStory) -> str:
    """Deterministic: the same first story always founds the same event id."""
    s = enriched.story
    digest = hashlib.sha256(f"{enriched.shard}\x1f{s.uri}\x1f{s.version}\x1f{enriched.text_hash}".encode())
    return f"ev-{digest.hexdigest()[:16]}"


class ClusterStage:
    """Stage 2, keyed by shard. All state is in the three mappings (Faust tables online)."""

    def __init__(
        self,
        profiles: MutableMapping[str, dict[str, Any]],
        assignments: MutableMapping[str, dict[str, Any]],
        uri_events: MutableMapping[str, str],
        *,
        window_days: float = 3.0,
        config: ClusterConfig = DEFAULT_CONFIG,
    ) -> None:
        self.assignments = assignments
        self.uri_events = uri_events
        self.clusterer = Clusterer(profiles, window_seconds=window_days * 86400.0, config=config)

    def rebuild(self) -> None:
        """Rebuild the in-memory index from the profiles (after recovery / rebalance)."""
        self.clusterer.rebuild_index()

    def process(self, enriched: EnrichedStory, now: float | None = None) -> Assignment:
        when = enriched.story.versioncreated if now is None else now
        key = enriched.idempotency_key
        prior = self.assignments.get(key)
        if prior is not None:
            return Assignment.from_dict({**prior, "duplicate": True})
        uri = enriched.story.uri
        known_event = self.uri_events.get(uri)
        if known_event is not None:
            # A new version of a known story stays in that story's event.
            assignment = Assignment(known_event, False, 1.0)
        else:
            event_id, score = self.clusterer.best_event(enriched, when)
            assignment = (Assignment(event_id, False, score) if event_id is not None
                          else Assignment(make_event_id(enriched), True, score))
        self.clusterer.add(assignment.event_id, enriched, when)
        self.uri_events[uri] = assignment.event_id
        self.assignments[key] = {"event_id": assignment.event_id, "is_new_event": assignment.is_new_event,
                                 "score": assignment.score, "time": when}
        return assignment


@dataclass(frozen=True, slots=True)
class EventResult:
    clustered: dict[str, Any]  # wire.stories.clustered value
    event: dict[str, Any] | None  # wire.events snapshot (None when nothing changed)
    alert: dict[str, Any] | None  # wire.story-updates value
    new_facts: tuple = ()


class EventStage:
    """Stage 3, keyed by event id: event state and novelty."""

    def __init__(self, events: MutableMapping[str, dict[str, Any]]) -> None:
        self.events = events

    def process(self, assigned: AssignedStory) -> EventResult:
        event_id = assigned.assignment.event_id
        raw = self.events.get(event_id)
        state = EventState.from_dict(raw) if raw is not None else None
        applied = apply_story(state, assigned)
        changed = not applied.duplicate
        if changed:
            self.events[event_id] = applied.state.to_dict()
        enriched = assigned.enriched
        story = enriched.story
        clustered = {
            "uri": story.uri,
            "version": story.version,
            "lang": enriched.lang,
            "lang_confidence": enriched.lang_confidence,
            "event_id": event_id,
            "is_update": applied.alert is not None,
            "is_new_event": assigned.assignment.is_new_event,
            "duplicate": applied.duplicate or assigned.assignment.duplicate,
            "score": round(assigned.assignment.score, 4),
            "source": story.source,
            "headline": enriched.headline,
            "versioncreated": format_time(story.versioncreated),
            "alert_id": applied.alert["alert_id"] if applied.alert else None,
        }
        return EventResult(clustered, applied.state.snapshot() if changed else None, applied.alert,
                           applied.new_facts)


class Pipeline:
    """All three stages in one process over plain dicts — what ``wirestream replay`` runs."""

    def __init__(self, *, shard_by: str = "lang", window_days: float = 3.0, max_bytes: int = 1024 * 1024,
                 cluster_config: ClusterConfig = DEFAULT_CONFIG) -> None:
        self.shard_by = shard_by
        self.max_bytes = max_bytes
        self.profiles: dict[str, dict[str, Any]] = {}
        self.assignments: dict[str, dict[str, Any]] = {}
        self.uri_events: dict[str, str] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.cluster_stage = ClusterStage(self.profiles, self.assignments, self.uri_events, window_days=window_days,
                                          config=cluster_config)
        self.event_stage = EventStage(self.events)

    def process_story(self, story: Story) -> Outcome:
        enriched = enrich(story, self.shard_by)
        assignment = self.cluster_stage.process(enriched)
        result = self.event_stage.process(AssignedStory(enriched, assignment))
        return Outcome(enriched=enriched, assignment=assignment, alert=result.alert, event=result.event,
                       new_facts=list(result.new_facts))

    def process_document(self, doc: Any, *, arrival: float) -> Outcome:
        """A decoded JSON document (raises ``Rejected`` when it is not a valid story)."""
        return self.process_story(story_from_document(doc, arrival=arrival))
