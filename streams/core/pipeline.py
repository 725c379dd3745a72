"""The core's three stages, and their in-process composition used by ``wirestream replay``.

The Faust agents call exactly these stages, with Faust tables in place of the dicts:

1. ``decode_story`` + ``enrich`` — stateless: validate, normalize, detect the language.
2. ``ClusterStage`` — keyed by shard: idempotency, uri -> event, online event clustering.
3. ``EventStage`` — keyed by event id: event state, novelty, alert.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from . import langid, normalize, redelivery
from .clusterer import DEFAULT_CONFIG, ClusterConfig, Clusterer
from .events import EventState, alert_id_for, apply_story
from .models import AssignedStory, Assignment, EnrichedStory, Outcome, Story
from .validate import Rejected, decode_story, format_time, story_from_document

__all__ = [
    "Rejected", "decode_story", "story_from_document", "enrich", "ClusterStage", "EventStage",
    "EventResult", "Expiry", "Pipeline", "WorkLimits", "shard_for", "make_event_id",
]


@dataclass(frozen=True, slots=True)
class WorkLimits:
    """The most text one story can make the core analyse, so one huge body cannot stall a partition.

    A body longer than ``max_chars`` is cut at the last whitespace before it, and only the first
    ``max_sentences`` sentences (after debris removal) are kept: they are what the text hash,
    language, clustering and novelty see. Real wire copy is far below both (the dev data: 26
    sentences and 3,760 characters at most); a 0.8 MB body of 200,000 one-word sentences costs
    0.85-0.94 s and 84 MiB unbounded, 0.05-0.11 s and 27 MiB bounded (``bench/huge_story.py``).
    """

    max_chars: int = 100_000
    max_sentences: int = 500


DEFAULT_LIMITS = WorkLimits()


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


def _bounded_body(body: str, max_chars: int) -> str:
    if len(body) <= max_chars:
        return body
    cut = body[:max_chars]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    return cut[:space] if space > max_chars // 2 else cut


def enrich(story: Story, shard_by: str = "lang", limits: WorkLimits = DEFAULT_LIMITS) -> EnrichedStory:
    """Stage 1 (stateless): normalize the text, drop page debris, detect the language.

    At most ``limits`` of the body is analysed (see :class:`WorkLimits`).
    """
    clean = normalize.clean_story(story.headline, _bounded_body(story.body_text, limits.max_chars))
    sentences = clean.sentences
    body = clean.body
    if len(sentences) > limits.max_sentences:
        sentences = sentences[: limits.max_sentences]
        body = " ".join(sentences)
    decision = langid.detect_story(clean.headline, body, hint=story.language_hint)
    lang = decision.lang
    return EnrichedStory(
        story=story,
        lang=lang,
        headline=clean.headline,
        sentences=sentences,
        text_hash=_text_hash(clean.headline, sentences),
        shard=shard_for(lang, shard_by),
        lang_confidence=round(decision.prob, 4),
    )


def make_event_id(enriched: EnrichedStory) -> str:
    """Deterministic: the same first story always founds the same event id."""
    s = enriched.story
    digest = hashlib.sha256(f"{enriched.shard}\x1f{s.uri}\x1f{s.version}\x1f{enriched.text_hash}".encode())
    return f"ev-{digest.hexdigest()[:16]}"


@dataclass(frozen=True, slots=True)
class Expiry:
    """The last uri of ``event_id`` left the uri -> event map: its state can go once it is older
    than ``horizon`` (stream seconds), i.e. when no story of it is newer (see ``EventStage.expire``)."""

    event_id: str
    horizon: float

    def to_dict(self) -> dict[str, Any]:
        return {"expire": self.event_id, "horizon": self.horizon}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Expiry:
        return cls(data["expire"], float(data["horizon"]))


def _uri_entry(value: Any) -> tuple[str, float]:
    """(event id, last time) of a uri -> event record (a bare event id in older state)."""
    if isinstance(value, str):
        return value, float("-inf")
    return value["event_id"], value["time"]


class ClusterStage:
    """Stage 2, keyed by shard. All state is in the three mappings (Faust tables online).

    Every record has a lifetime in *stream time* (the latest story time seen in its shard, the
    clock event profiles expire by), so memory is bounded and a replay expires exactly what the
    stream did: an idempotency record (``assignments``) lives ``window_days`` after its story, a
    uri -> event record ``uri_retention_days`` (at least the window) after the uri's latest
    version, so a late version still joins its event. When a uri record goes, the stage reports
    an :class:`Expiry` (``self.expired``) for the event stage, whose state goes once no story of
    it is newer. At most ``max_expiries`` records go per story (the rest with the next ones), so
    a jump in time never makes one step (and its journal) huge.
    """

    def __init__(
        self,
        profiles: MutableMapping[str, dict[str, Any]],
        assignments: MutableMapping[str, dict[str, Any]],
        uri_events: MutableMapping[str, Any],
        *,
        window_days: float = 3.0,
        uri_retention_days: float | None = None,
        config: ClusterConfig = DEFAULT_CONFIG,
        max_expiries: int = 256,
    ) -> None:
        self.assignments = assignments
        self.uri_events = uri_events
        self.window_seconds = window_days * 86400.0
        self.uri_retention_seconds = max(window_days, uri_retention_days or 0.0) * 86400.0
        self.max_expiries = max_expiries
        self.clusterer = Clusterer(profiles, window_seconds=self.window_seconds, config=config)
        self.expired: list[Expiry] = []  # what the last ``process`` call let go
        # (shard, "a:" | "u:") -> heap of (record time, key): a cache of the records' times
        self._heaps: dict[tuple[str, str], list[tuple[float, str]]] = {}
        self._rebuild_heaps()

    def rebuild(self) -> None:
        """Rebuild the in-memory index from the profiles (after recovery / rebalance)."""
        self.clusterer.rebuild_index()
        self._rebuild_heaps()

    def _rebuild_heaps(self) -> None:
        heaps: dict[tuple[str, str], list[tuple[float, str]]] = {}
        for key, value in self.assignments.items():
            heaps.setdefault((value.get("shard", ""), "a:"), []).append((value.get("time", float("-inf")), key))
        for uri, value in self.uri_events.items():
            shard = value.get("shard", "") if isinstance(value, dict) else ""
            heaps.setdefault((shard, "u:"), []).append((_uri_entry(value)[1], uri))
        for heap in heaps.values():
            heapq.heapify(heap)
        self._heaps = heaps

    def _expire(self, shard: str) -> None:
        """Let go of this shard's records older than their lifetime (stream time), oldest first."""
        now = self.clusterer.stream_time(shard)
        budget = self.max_expiries
        heap = self._heaps.get((shard, "a:"))
        horizon = now - self.window_seconds
        while heap and heap[0][0] < horizon and budget > 0:
            when, key = heapq.heappop(heap)
            budget -= 1
            value = self.assignments.get(key)
            if value is not None and value.get("time", float("-inf")) == when:
                del self.assignments[key]
        heap = self._heaps.get((shard, "u:"))
        horizon = now - self.uri_retention_seconds
        expired: dict[str, Expiry] = {}
        while heap and heap[0][0] < horizon and budget > 0:
            when, uri = heapq.heappop(heap)
            budget -= 1
            value = self.uri_events.get(uri)
            if value is None:
                continue
            event_id, last = _uri_entry(value)
            if last == when:  # else a later version renewed it, and has its own heap entry
                del self.uri_events[uri]
                expired[event_id] = Expiry(event_id, horizon)
        self.expired = sorted(expired.values(), key=lambda x: x.event_id)

    def process(self, enriched: EnrichedStory, now: float | None = None) -> Assignment:
        self.expired = []
        when = enriched.story.versioncreated if now is None else now
        key = enriched.idempotency_key
        prior = self.assignments.get(key)
        if prior is not None:
            return Assignment.from_dict({**prior, "duplicate": True})
        uri = enriched.story.uri
        entry = self.uri_events.get(uri)
        known_event, uri_time = _uri_entry(entry) if entry is not None else (None, float("-inf"))
        if known_event is not None:
            # A new version of a known story stays in that story's event.
            assignment = Assignment(known_event, False, 1.0)
        else:
            event_id, score = self.clusterer.best_event(enriched, when)
            assignment = (Assignment(event_id, False, score) if event_id is not None
                          else Assignment(make_event_id(enriched), True, score))
        self.clusterer.add(assignment.event_id, enriched, when)
        shard = enriched.shard
        if when > uri_time:
            self.uri_events[uri] = {"event_id": assignment.event_id, "time": when, "shard": shard}
            heapq.heappush(self._heaps.setdefault((shard, "u:"), []), (when, uri))
        self.assignments[key] = {"event_id": assignment.event_id, "is_new_event": assignment.is_new_event,
                                 "score": assignment.score, "time": when, "shard": shard}
        heapq.heappush(self._heaps.setdefault((shard, "a:"), []), (when, key))
        self._expire(shard)
        return assignment


@dataclass(frozen=True, slots=True)
class EventResult:
    clustered: dict[str, Any]  # wire.stories.clustered value
    event: dict[str, Any] | None  # wire.events snapshot (None when nothing is to be sent)
    alert: dict[str, Any] | None  # wire.story-updates value
    new_facts: tuple = ()
    repeated: bool = False  # the story was seen before: the records are the first ones, again
    send: bool = True  # False: a repeat whose first records are already committed with the state


class EventStage:
    """Stage 3, keyed by event id: event state and novelty.

    Idempotent outputs: the first records of each story (by uri + version + text hash) are kept
    with its event, and a story seen again — a redelivery after a crash or a producer's re-send —
    changes nothing and gets exactly those records again (:mod:`streams.core.redelivery`: its
    clustered record and alert always, the snapshot while it is still the event's latest).

    ``outputs_commit_with_state``: the state and the outputs commit in one transaction (Kafka
    exactly-once), so a story the state remembers had its records committed already: a repeat
    sends nothing (sending again would be the duplicate that mode exists to prevent).
    """

    def __init__(self, events: MutableMapping[str, dict[str, Any]], *,
                 outputs_commit_with_state: bool = False) -> None:
        self.events = events
        self.outputs_commit_with_state = outputs_commit_with_state

    def expire(self, expiry: Expiry) -> bool:
        """Let go of what is older than the horizon: the whole event when no story of it is newer,
        else (an event still going on) the stories older than it — with their facts, alert ids and
        first outputs (``redelivery.forget``) — so an event that never ends still has a bounded state. An event thus
        remembers the stories and facts of the uri retention; returns whether anything changed."""
        raw = self.events.get(expiry.event_id)
        if raw is None:
            return False
        horizon = expiry.horizon
        if raw["last_update"] < horizon:
            del self.events[expiry.event_id]
            return True
        old = [s for s in raw["stories"] if s["time"] < horizon]
        if not old:
            return False
        gone_alerts = set()
        for s in old:
            gone_alerts.add(alert_id_for(expiry.event_id, s["uri"], s["version"], s["text_hash"]))
        pruned = dict(raw)
        pruned["stories"] = [s for s in raw["stories"] if s["time"] >= horizon]
        pruned["facts"] = [f for f in raw["facts"] if f.get("time", horizon) >= horizon]
        pruned["alerts"] = [a for a in raw["alerts"] if a not in gone_alerts]
        if "updates" in raw:
            pruned["updates"] = [u for u in raw["updates"] if u.get("alert_id") not in gone_alerts]
        if "texts" in raw:  # what a next version is diffed against: only for uris it still has
            remaining = {s["uri"] for s in pruned["stories"]}
            pruned["texts"] = {uri: text for uri, text in raw["texts"].items() if uri in remaining}
        self.events[expiry.event_id] = redelivery.forget(
            pruned, (f"{s['uri']}\x1f{s['version']}\x1f{s['text_hash']}" for s in old))
        return True

    def process(self, assigned: AssignedStory) -> EventResult:
        event_id = assigned.assignment.event_id
        enriched = assigned.enriched
        key = enriched.idempotency_key
        raw = self.events.get(event_id)
        repeat = redelivery.repeat_of(raw, key)
        if repeat is not None:
            if self.outputs_commit_with_state:
                return EventResult(repeat.clustered, None, None, (), repeated=True, send=False)
            return EventResult(repeat.clustered, repeat.event, repeat.alert, (), repeated=True)
        state = EventState.from_dict(raw) if raw is not None else None
        applied = apply_story(state, assigned)
        changed = not applied.duplicate
        story = enriched.story
        clustered = {
            "uri": story.uri,
            "version": story.version,
            "lang": enriched.lang,
            "lang_confidence": enriched.lang_confidence,
            "event_id": event_id,
            "is_update": applied.alert is not None,
            "is_new_event": assigned.assignment.is_new_event,
            # (a story in the state without a first result: the state is older than first results)
            "duplicate": applied.duplicate,
            "score": round(assigned.assignment.score, 4),
            "source": story.source,
            "headline": enriched.headline,
            "versioncreated": format_time(story.versioncreated),
            "alert_id": applied.alert["alert_id"] if applied.alert else None,
        }
        if changed:
            self.events[event_id] = redelivery.remember(applied.state.to_dict(), raw, key, clustered, applied.alert)
        return EventResult(clustered, applied.state.snapshot() if changed else None, applied.alert,
                           applied.new_facts)


class Pipeline:
    """All three stages in one process over plain dicts — what ``wirestream replay`` runs."""

    def __init__(self, *, shard_by: str = "lang", window_days: float = 3.0, max_bytes: int = 1024 * 1024,
                 cluster_config: ClusterConfig = DEFAULT_CONFIG, uri_retention_days: float | None = None,
                 limits: WorkLimits = DEFAULT_LIMITS) -> None:
        self.shard_by = shard_by
        self.max_bytes = max_bytes
        self.limits = limits
        self.profiles: dict[str, dict[str, Any]] = {}
        self.assignments: dict[str, dict[str, Any]] = {}
        self.uri_events: dict[str, Any] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.cluster_stage = ClusterStage(self.profiles, self.assignments, self.uri_events, window_days=window_days,
                                          uri_retention_days=uri_retention_days, config=cluster_config)
        self.event_stage = EventStage(self.events)

    def process_story(self, story: Story) -> Outcome:
        enriched = enrich(story, self.shard_by, self.limits)
        assignment = self.cluster_stage.process(enriched)
        for expiry in self.cluster_stage.expired:
            self.event_stage.expire(expiry)
        result = self.event_stage.process(AssignedStory(enriched, assignment))
        if result.repeated:  # a story seen before alerts nothing new: replay lists each alert once
            return Outcome(enriched=enriched, assignment=assignment)
        return Outcome(enriched=enriched, assignment=assignment, alert=result.alert, event=result.event,
                       new_facts=list(result.new_facts))

    def process_document(self, doc: Any, *, arrival: float) -> Outcome:
        """A decoded JSON document (raises ``Rejected`` when it is not a valid story)."""
        return self.process_story(story_from_document(doc, arrival=arrival))
