"""Data passed between the stages of the core.

Every record here is a plain dataclass with ``to_dict``/``from_dict`` so the same object can be
kept in a Python dict (``wirestream replay``), in a Faust table, or sent on an internal topic.
Times are UNIX seconds (float, UTC) inside the core; RFC 3339 strings only at the edges.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from functools import cache
from typing import Any


@cache
def _field_names(cls: type) -> frozenset[str]:
    # ``fields()`` builds a tuple of Field objects on every call: measurable on a per-story path
    return frozenset(f.name for f in fields(cls))


def _from_dict(cls, data: dict[str, Any]):
    names = _field_names(cls)
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True, slots=True)
class Story:
    """A validated input story (plain or ninjs form, already mapped to these fields)."""

    uri: str
    body_text: str
    version: int = 1
    headline: str = ""
    versioncreated: float = 0.0
    language_hint: str | None = None
    source: str | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # what ``asdict`` gives (every field is a str/int/float/None), without its deep copy
        return {"uri": self.uri, "body_text": self.body_text, "version": self.version, "headline": self.headline,
                "versioncreated": self.versioncreated, "language_hint": self.language_hint,
                "source": self.source, "url": self.url}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Story:
        return _from_dict(cls, data)


@dataclass(frozen=True, slots=True)
class CleanText:
    """A story's text after normalization: debris removed, split into paragraphs and sentences."""

    headline: str
    paragraphs: tuple[str, ...]
    sentences: tuple[str, ...]
    debris: tuple[str, ...] = ()

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True, slots=True)
class EnrichedStory:
    """Output of the stateless stage: validated, normalized, language known.

    ``text_hash`` identifies the content of this (uri, version): a re-send has the same hash.
    ``shard`` is the clustering partition key (the language by default).
    """

    story: Story
    lang: str
    headline: str
    sentences: tuple[str, ...]
    text_hash: str
    shard: str
    #: how sure the language step is of ``lang`` (0.0 for "und" and for records written before)
    lang_confidence: float = 0.0
    # where the story arrived: (topic, partition, offset) on wire.stories, so a later stage that
    # fails on it can dead-letter the original bytes (None offline)
    origin: tuple[str, int, int] | None = None

    @property
    def idempotency_key(self) -> str:
        return f"{self.story.uri}\x1f{self.story.version}\x1f{self.text_hash}"

    def to_dict(self, *, body: bool = True) -> dict[str, Any]:
        """``body=False`` leaves ``story.body_text`` empty: the later stages work on the normalized
        ``headline``/``sentences`` only, so the internal topics need not carry the raw text twice."""
        story = self.story.to_dict()
        if not body:
            story["body_text"] = ""
        out = {
            "story": story,
            "lang": self.lang,
            "headline": self.headline,
            "sentences": list(self.sentences),
            "text_hash": self.text_hash,
            "shard": self.shard,
            "lang_confidence": self.lang_confidence,
        }
        if self.origin is not None:
            out["origin"] = list(self.origin)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnrichedStory:
        return cls(
            story=Story.from_dict(data["story"]),
            lang=data["lang"],
            headline=data["headline"],
            sentences=tuple(data["sentences"]),
            text_hash=data["text_hash"],
            shard=data["shard"],
            origin=tuple(data["origin"]) if data.get("origin") else None,
            lang_confidence=float(data.get("lang_confidence", 0.0)),
        )


@dataclass(frozen=True, slots=True)
class Assignment:
    """The clustering decision for one story."""

    event_id: str
    is_new_event: bool
    score: float
    duplicate: bool = False  # same uri + version + text already assigned: nothing changes

    def to_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "is_new_event": self.is_new_event, "score": self.score,
                "duplicate": self.duplicate}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Assignment:
        return _from_dict(cls, data)


@dataclass(frozen=True, slots=True)
class AssignedStory:
    """What the clustering stage sends to the event stage (keyed by event id)."""

    enriched: EnrichedStory
    assignment: Assignment

    def to_dict(self) -> dict[str, Any]:
        return {"enriched": self.enriched.to_dict(), "assignment": self.assignment.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AssignedStory:
        return cls(
            enriched=EnrichedStory.from_dict(data["enriched"]),
            assignment=Assignment.from_dict(data["assignment"]),
        )


@dataclass(frozen=True, slots=True)
class NewFact:
    """A sentence-level fact the event did not have, and what makes it new."""

    text: str
    terms: tuple[str, ...] = ()  # new key terms
    names: tuple[str, ...] = ()  # new named entities
    numbers: tuple[str, ...] = ()  # new figures
    score: float = 0.0
    context: str | None = None  # the sentence ``text`` was glued onto or into, when it is a clause

    def to_dict(self) -> dict[str, Any]:
        out = {
            "text": self.text,
            "terms": list(self.terms),
            "names": list(self.names),
            "numbers": list(self.numbers),
            "score": round(self.score, 4),
        }
        if self.context is not None:
            out["context"] = self.context
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NewFact:
        return cls(
            text=data["text"],
            terms=tuple(data.get("terms", ())),
            names=tuple(data.get("names", ())),
            numbers=tuple(data.get("numbers", ())),
            score=float(data.get("score", 0.0)),
            context=data.get("context"),
        )


@dataclass(slots=True)
class StoryRef:
    """One story as the event remembers it."""

    uri: str
    version: int
    text_hash: str
    headline: str = ""
    source: str | None = None
    lang: str = "und"
    time: float = 0.0
    late: bool = False  # arrived after a newer version of its uri: recorded, never alerts
    lang_confidence: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        # called for every story of an event on every story of that event: no ``asdict``
        out = {"uri": self.uri, "version": self.version, "text_hash": self.text_hash, "headline": self.headline,
               "source": self.source, "lang": self.lang, "time": self.time, "lang_confidence": self.lang_confidence}
        if self.late:
            out["late"] = True
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoryRef:
        if len(data) == 8:  # the form to_dict writes for a story that is not late: every other field
            try:
                return cls(data["uri"], data["version"], data["text_hash"], data["headline"], data["source"],
                           data["lang"], data["time"], lang_confidence=data["lang_confidence"])
            except KeyError:
                pass
        return _from_dict(cls, data)


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a raw input message was refused (goes to the dead-letter topic)."""

    reason: str  # machine-readable kind: not_utf8, not_json, schema, too_large, empty, no_text
    detail: str  # human-readable, names the field and the rule where there is one
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Outcome:
    """Everything one story produced, for replay and for tests."""

    enriched: EnrichedStory
    assignment: Assignment
    alert: dict[str, Any] | None = None
    event: dict[str, Any] | None = None
    new_facts: list[NewFact] = field(default_factory=list)
