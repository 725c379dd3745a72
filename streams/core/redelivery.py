"""What a story seen again sends: exactly the records its first processing sent, byte for byte.

Input is at-least-once: a worker killed before its offset commit, or a producer that re-sends,
brings a story to the event stage again. The event keeps, in its own table record (written in
the same write as its state, so a crash never leaves one without the other), for every story it
still holds, by idempotency key (uri + version + text hash):

* ``first_results``: the story's ``wire.stories.clustered`` record;
* ``first_alerts``: its ``wire.story-updates`` alert, when it raised one, as JSON text (a
  quarter of the memory of the dict in a worker's in-memory table; loaded again, it gives the
  same dict, so the same bytes on the topic);
* ``latest_change``: the key of the story whose snapshot is the event's latest on ``wire.events``,
  as its parts (a stored value holds no control character), ``None`` once an expiry pruned the
  state (no snapshot is sent for that).

A repeat re-sends the first two as they were, so "the latest record per (uri, version)" and "the
record per ``alert_id``" are always right (the webhook dispatcher's delivered-markers keep a
re-sent alert from being POSTed again). The snapshot goes again only while the story is still the
event's latest change, when the state rebuilt from the table gives exactly the snapshot sent then:
``wire.events`` is compacted, and an older snapshot sent again would roll the event back — the
event's latest record already includes the story. These records go with the story they belong to
when an expiry prunes it (``forget``): they live as long as the event remembers the story.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from .events import EventState

FIRST_RESULTS = "first_results"
FIRST_ALERTS = "first_alerts"
LATEST_CHANGE = "latest_change"


@dataclass(frozen=True, slots=True)
class Repeat:
    """The records to send again for a story seen before (``event``/``alert``: ``None`` = nothing)."""

    clustered: dict[str, Any]
    event: dict[str, Any] | None
    alert: dict[str, Any] | None


def key_parts(key: str) -> list[str]:
    """An idempotency key (uri, version, text hash joined by U+001F) as its parts."""
    return key.split("\x1f")


def repeat_of(raw: Mapping[str, Any] | None, key: str) -> Repeat | None:
    """What to send again for the story ``key`` of the event whose table record is ``raw``;
    ``None`` when the event does not remember that story (it is processed as new)."""
    if raw is None:
        return None
    clustered = raw.get(FIRST_RESULTS, {}).get(key)
    if clustered is None:
        return None
    alert = raw.get(FIRST_ALERTS, {}).get(key)
    if isinstance(alert, str):
        alert = orjson.loads(alert)
    event = EventState.from_dict(raw).snapshot() if raw.get(LATEST_CHANGE) == key_parts(key) else None
    return Repeat(clustered, event, alert)


def remember(record: dict[str, Any], previous: Mapping[str, Any] | None, key: str,
             clustered: dict[str, Any], alert: dict[str, Any] | None) -> dict[str, Any]:
    """``record`` (the event's new state, from ``EventState.to_dict``) with the first outputs of
    ``previous`` and those of the story ``key``, which made it: returns ``record``."""
    first_results = previous.get(FIRST_RESULTS, {}) if previous is not None else {}
    first_alerts = previous.get(FIRST_ALERTS, {}) if previous is not None else {}
    record[FIRST_RESULTS] = {**first_results, key: clustered}
    record[FIRST_ALERTS] = ({**first_alerts, key: orjson.dumps(alert).decode()} if alert is not None
                            else dict(first_alerts))
    record[LATEST_CHANGE] = key_parts(key)
    return record


def forget(record: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """``record`` (a pruned copy of an event's record) without the first outputs of the stories
    ``keys``; its state changed with no snapshot sent, so no story is its latest change any more."""
    gone = set(keys)
    record[FIRST_RESULTS] = {k: v for k, v in record.get(FIRST_RESULTS, {}).items() if k not in gone}
    record[FIRST_ALERTS] = {k: v for k, v in record.get(FIRST_ALERTS, {}).items() if k not in gone}
    record[LATEST_CHANGE] = None
    return record
