"""Per-event state and the story-update decision.

An event remembers its stories (uri, version, text hash) and its known facts. Applying a story
either changes nothing (a duplicate), seeds the event (its first story), or adds the facts the
event did not have — and when at least one substantive fact is new, builds an alert.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from . import novelty
from .models import AssignedStory, NewFact, StoryRef
from .validate import format_time


def alert_id_for(event_id: str, uri: str, version: int, text_hash: str) -> str:
    """Deterministic: a redelivered story yields the same id, so receivers can dedupe."""
    digest = hashlib.sha256(f"{event_id}\x1f{uri}\x1f{version}\x1f{text_hash}".encode()).hexdigest()
    return f"wsa-{digest[:24]}"


@dataclass(slots=True)
class EventState:
    event_id: str
    shard: str
    headline: str
    lang: str
    first_seen: float
    last_update: float
    stories: list[StoryRef] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    facts: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)

    def has(self, uri: str, version: int, text_hash: str) -> bool:
        return any(s.uri == uri and s.version == version and s.text_hash == text_hash for s in self.stories)

    def knows_uri(self, uri: str) -> bool:
        return any(s.uri == uri for s in self.stories)

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "shard": self.shard,
            "headline": self.headline,
            "lang": self.lang,
            "first_seen": self.first_seen,
            "last_update": self.last_update,
            "stories": [s.to_dict() for s in self.stories],
            "sources": list(self.sources),
            "facts": self.facts,
            "alerts": list(self.alerts),
        }

    def copy(self) -> EventState:
        """A copy whose lists can be appended to without changing this state.

        The items are shared: ``apply_story`` only appends (a ``StoryRef`` or a fact dict is never
        changed once in a state), so a deep copy would only cost time.
        """
        return EventState(self.event_id, self.shard, self.headline, self.lang, self.first_seen, self.last_update,
                          list(self.stories), list(self.sources), list(self.facts), list(self.alerts))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EventState:
        return cls(
            event_id=data["event_id"],
            shard=data["shard"],
            headline=data["headline"],
            lang=data["lang"],
            first_seen=data["first_seen"],
            last_update=data["last_update"],
            stories=[StoryRef.from_dict(s) for s in data["stories"]],
            sources=list(data["sources"]),
            facts=list(data["facts"]),
            alerts=list(data["alerts"]),
        )

    def summary(self) -> dict[str, Any]:
        return {
            "headline": self.headline,
            "lang": self.lang,
            "story_count": len({s.uri for s in self.stories}),
            "sources": list(self.sources),
            "first_seen": format_time(self.first_seen),
            "last_update": format_time(self.last_update),
        }

    def snapshot(self) -> dict[str, Any]:
        """The public ``wire.events`` value (schemas/event.schema.json)."""
        # Every story's facts share its time, and the snapshot is rebuilt on every story of the
        # event: format each distinct time once (formatting is ~5 µs, an event has hundreds of facts).
        times: dict[float, str] = {}

        def fmt(seconds: float) -> str:
            text = times.get(seconds)
            if text is None:
                text = times[seconds] = format_time(seconds)
            return text

        return {
            "event_id": self.event_id,
            "shard": self.shard,
            **self.summary(),
            "stories": [
                {"uri": s.uri, "version": s.version, "headline": s.headline, "source": s.source,
                 "lang": s.lang, "lang_confidence": s.lang_confidence, "time": fmt(s.time)}
                for s in self.stories
            ],
            "facts": [
                # a known fact's public fields (the rest of it is novelty's private index data)
                {"text": f.get("text"), "uri": f.get("uri"), "source": f.get("source"),
                 "first_seen": fmt(f.get("time", 0.0))}
                for f in self.facts
            ],
            "alerts": list(self.alerts),
        }


@dataclass(frozen=True, slots=True)
class StoryApplied:
    """What applying one story to its event did."""

    state: EventState
    duplicate: bool
    new_facts: tuple[NewFact, ...]
    alert: dict[str, Any] | None


def apply_story(state: EventState | None, assigned: AssignedStory) -> StoryApplied:
    """Fold one assigned story into its event's state (pure: returns a new state)."""
    enriched, assignment = assigned.enriched, assigned.assignment
    story = enriched.story
    when = story.versioncreated
    if state is not None and state.has(story.uri, story.version, enriched.text_hash):
        return StoryApplied(state, True, (), None)

    ref = StoryRef(uri=story.uri, version=story.version, text_hash=enriched.text_hash,
                   headline=enriched.headline, source=story.source, lang=enriched.lang, time=when,
                   lang_confidence=enriched.lang_confidence)
    if state is None:
        state = EventState(event_id=assignment.event_id, shard=enriched.shard,
                           headline=enriched.headline or (enriched.sentences[0] if enriched.sentences else ""),
                           lang=enriched.lang, first_seen=when, last_update=when)
        is_first = True
    else:
        state = state.copy()  # callers may keep the old one
        is_first = False

    kind = "new_version" if state.knows_uri(story.uri) else "new_story"
    # every known fact was analysed in the language of the story that brought it
    same_lang = all(ref.lang == enriched.lang for ref in state.stories)
    result = novelty.assess(state.facts, enriched.sentences, enriched.lang, headline=enriched.headline,
                            known_lang=enriched.lang if same_lang else None)
    for fact in result.facts_to_add:
        state.facts.append({**fact, "uri": story.uri, "source": story.source, "time": when})

    state.stories.append(ref)
    if story.source and story.source not in state.sources:
        state.sources.append(story.source)
    state.first_seen = min(state.first_seen, when)
    state.last_update = max(state.last_update, when)
    if not state.headline and enriched.headline:
        state.headline = enriched.headline

    if is_first or not result.new_facts:
        return StoryApplied(state, False, (), None)

    alert_id = alert_id_for(state.event_id, story.uri, story.version, enriched.text_hash)
    state.alerts.append(alert_id)
    alert = {
        "alert_id": alert_id,
        "type": "story_update",
        "kind": kind,
        "event_id": state.event_id,
        "story": {
            "uri": story.uri,
            "version": story.version,
            "headline": enriched.headline,
            "source": story.source,
            "lang": enriched.lang,
            "lang_confidence": enriched.lang_confidence,
            "url": story.url,
            "versioncreated": format_time(when),
        },
        "new_facts": [f.to_dict() for f in result.new_facts],
        "event": state.summary(),
        "created_at": format_time(when),
    }
    return StoryApplied(state, False, tuple(result.new_facts), alert)
