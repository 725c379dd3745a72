"""Per-event state and the story-update decision.

An event remembers its stories (uri, version, text hash), the latest version's sentences of each
uri, and its known facts. Applying a story either changes nothing (a duplicate), seeds the event
(its first story), records a late version (not newer than the latest seen for its uri: visible
in the event, never alerting, never replacing the latest text), or adds the facts the event did
not have — a new version only what it adds to the version it replaces — and when at least one
substantive fact is new, builds an alert.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from . import novelty
from .models import AssignedStory, NewFact, StoryRef
from .validate import format_time

# The latest text is kept for this many of an event's most recently updated uris: a wire story's
# versions come within hours, while a big event's state (one record, rewritten on every story)
# must stay well under the broker's record limit. An older uri's next version is judged like
# another story (against the event's facts); late versions are still told by the versions seen.
MAX_VERSION_TEXTS = 200


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
    # one entry per alert, oldest first: its id, kind and story (the alert's new facts are the
    # facts whose "alert_id" is its id); what a reader of the event needs without the alerts topic
    updates: list[dict[str, Any]] = field(default_factory=list)
    # uri -> {"v": latest version, "s": its sentences}: what the next version is diffed against
    texts: dict[str, dict[str, Any]] = field(default_factory=dict)
    seed_facts: int = 0  # facts the first story brought: the novelty baseline (see novelty.assess)

    def latest_version(self, uri: str) -> int | None:
        versions = [s.version for s in self.stories if s.uri == uri]
        return max(versions) if versions else None

    def has(self, uri: str, version: int, text_hash: str) -> bool:
        return any(s.uri == uri and s.version == version and s.text_hash == text_hash for s in self.stories)

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
            "updates": list(self.updates),
            "texts": self.texts,
            "seed_facts": self.seed_facts,
        }

    def copy(self) -> EventState:
        """A copy whose lists can be appended to without changing this state.

        The items are shared: ``apply_story`` only appends (a ``StoryRef`` or a fact dict is never
        changed once in a state), so a deep copy would only cost time.
        """
        return EventState(self.event_id, self.shard, self.headline, self.lang, self.first_seen, self.last_update,
                          list(self.stories), list(self.sources), list(self.facts), list(self.alerts),
                          list(self.updates), dict(self.texts), self.seed_facts)

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
            updates=list(data.get("updates", ())),  # absent in states written before it existed
            texts=dict(data.get("texts") or {}),
            seed_facts=data["seed_facts"] if "seed_facts" in data else _leading_run(data["facts"]),
        )

    def summary(self) -> dict[str, Any]:
        return {
            "headline": self.headline,
            "lang": self.lang,
            "languages": sorted({s.lang for s in self.stories}),
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
                 "lang": s.lang, "lang_confidence": s.lang_confidence, "time": fmt(s.time),
                 **({"late": True} if s.late else {})}
                for s in self.stories
            ],
            "facts": [_public_fact(f, fmt) for f in self.facts],
            "alerts": list(self.alerts),
            "updates": [
                {"alert_id": u["alert_id"], "kind": u["kind"], "uri": u["uri"], "version": u["version"],
                 "headline": u.get("headline", ""), "source": u.get("source"), "lang": u.get("lang", "und"),
                 "created_at": fmt(u.get("time", 0.0))}
                for u in self.updates
            ],
        }


def _public_fact(fact: dict[str, Any], fmt: Any) -> dict[str, Any]:
    """A known fact's public fields (the rest of it, "k" and "f", is novelty's private index data):
    the story that first reported it and, when that story raised an alert, the alert and the
    terms that made the fact new then."""
    out = {"text": fact.get("text"), "uri": fact.get("uri"), "source": fact.get("source"),
           "first_seen": fmt(fact.get("time", 0.0))}
    if "version" in fact:
        out["version"] = fact["version"]
    if "alert_id" in fact:
        out["alert_id"] = fact["alert_id"]
        for key in ("terms", "names", "numbers"):  # each only when not empty (a big event has thousands)
            if key in fact:
                out[key] = fact[key]  # shared, not copied: a known fact never changes
    return out


def _leading_run(facts: list[dict[str, Any]]) -> int:
    """The first story's facts in a state written before ``seed_facts`` was kept: those that share
    the first fact's uri and time."""
    if not facts:
        return 0
    first = (facts[0].get("uri"), facts[0].get("time"))
    n = 0
    while n < len(facts) and (facts[n].get("uri"), facts[n].get("time")) == first:
        n += 1
    return n


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

    latest = state.latest_version(story.uri) if state is not None else None
    late = latest is not None and story.version <= latest
    ref = StoryRef(uri=story.uri, version=story.version, text_hash=enriched.text_hash,
                   headline=enriched.headline, source=story.source, lang=enriched.lang, time=when, late=late,
                   lang_confidence=enriched.lang_confidence)
    if state is None:
        state = EventState(event_id=assignment.event_id, shard=enriched.shard,
                           headline=enriched.headline or (enriched.sentences[0] if enriched.sentences else ""),
                           lang=enriched.lang, first_seen=when, last_update=when)
        is_first = True
    else:
        state = state.copy()  # callers may keep the old one
        is_first = False

    kind = "new_version" if latest is not None else "new_story"
    if late:  # recorded, but the latest version stays what the event knows and diffs against
        result = novelty.NoveltyResult()
    else:
        # every known fact was analysed in the language of the story that brought it
        same_lang = all(ref.lang == enriched.lang for ref in state.stories)
        previous = state.texts.get(story.uri)
        result = novelty.assess(state.facts, enriched.sentences, enriched.lang, headline=enriched.headline,
                                known_lang=enriched.lang if same_lang else None,
                                previous=previous["s"] if previous is not None else None,
                                baseline=None if is_first else state.seed_facts)
        state.texts.pop(story.uri, None)  # re-inserted last: the dict is in update order
        state.texts[story.uri] = {"v": story.version, "s": list(enriched.sentences)}
        while len(state.texts) > MAX_VERSION_TEXTS:
            del state.texts[next(iter(state.texts))]
    alert_id = (None if is_first or not result.new_facts
                else alert_id_for(state.event_id, story.uri, story.version, enriched.text_hash))
    # facts_to_add and new_facts are the same sentences, in the same order
    for fact, new in zip(result.facts_to_add, result.new_facts, strict=True):
        record = {**fact, "uri": story.uri, "source": story.source, "time": when, "version": story.version}
        if alert_id is not None:
            record["alert_id"] = alert_id
            for key, values in (("terms", new.terms), ("names", new.names), ("numbers", new.numbers)):
                if values:
                    record[key] = list(values)
        state.facts.append(record)
    if is_first:
        state.seed_facts = len(state.facts)

    state.stories.append(ref)
    if story.source and story.source not in state.sources:
        state.sources.append(story.source)
    state.first_seen = min(state.first_seen, when)
    state.last_update = max(state.last_update, when)
    if not state.headline and enriched.headline:
        state.headline = enriched.headline

    if alert_id is None:
        return StoryApplied(state, False, (), None)

    state.alerts.append(alert_id)
    state.updates.append({"alert_id": alert_id, "kind": kind, "uri": story.uri, "version": story.version,
                          "headline": enriched.headline, "source": story.source, "lang": enriched.lang,
                          "time": when})
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
