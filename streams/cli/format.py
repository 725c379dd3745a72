"""How wirestream messages are printed for people: ``demo`` and ``tail`` share these.

One function per public topic: a story-update alert is a framed block (event, story, each new
fact with its names, numbers and terms); a clustered story, an event snapshot and a dead letter
are one line each. Missing optional fields are left out rather than shown as placeholders.
"""

from __future__ import annotations

import textwrap
from typing import Any

WIDTH = 92


def plural(n: int, word: str, words: str | None = None) -> str:
    """``plural(1, "story", "stories")`` -> ``1 story``; ``plural(3, "alert")`` -> ``3 alerts``."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def _wrap(text: str, first: str, rest: str, width: int = WIDTH) -> str:
    if not text.strip():
        return first.rstrip()
    return textwrap.fill(" ".join(text.split()), width=width, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False)


def _join(*parts: Any) -> str:
    return " · ".join(str(p) for p in parts if p not in (None, "", [], ()))


def format_alert(alert: dict[str, Any], width: int = WIDTH) -> str:
    """A story-update alert (``schemas/story-update.schema.json``) as a readable text block."""
    story = alert.get("story") or {}
    event = alert.get("event") or {}
    facts = alert.get("new_facts") or []
    kind = {"new_version": "new version", "new_story": "new story"}.get(alert.get("kind", ""), alert.get("kind", ""))
    sources = event.get("sources") or []
    count = event.get("story_count")
    rule = "─" * width
    lines = [
        f"┌{rule}",
        f"│ STORY UPDATE  {alert.get('alert_id', '')}" + (f"  ({kind})" if kind else ""),
        _wrap(event.get("headline") or "", f"│ event  {alert.get('event_id', '')}  ", "│        ", width),
        _wrap(_join(plural(count, "story", "stories") if isinstance(count, int) else None,
                    f"sources: {', '.join(sources)}" if sources else None,
                    f"first seen {event['first_seen']}" if event.get("first_seen") else None,
                    f"last update {event['last_update']}" if event.get("last_update") else None),
              "│        ", "│        ", width),
        "│ story  " + _join(f"{story.get('uri', '')} v{story.get('version', '?')}", story.get("source"),
                            story.get("lang")),
    ]
    if story.get("headline"):
        lines.append(_wrap(story["headline"], "│        ", "│        ", width))
    lines.append(f"│ {plural(len(facts), 'new fact')}")
    for fact in facts:
        lines.append(_wrap(fact.get("text", ""), "│   • ", "│     ", width))
        extras = [f"{label}: {', '.join(map(str, fact.get(label) or []))}"
                  for label in ("names", "numbers", "terms") if fact.get(label)]
        if extras:
            lines.append(_wrap(" · ".join(extras), "│     ", "│     ", width))
    lines.append(f"└{rule}")
    return "\n".join(lines)


def format_clustered(placed: dict[str, Any]) -> str:
    """A ``wire.stories.clustered`` record: where a story went, in one line."""
    if placed.get("duplicate"):
        tag = "duplicate — nothing new"
    elif placed.get("is_new_event"):
        tag = "new event"
    elif placed.get("alert_id"):
        tag = f"known event, alert {placed['alert_id']}"
    else:
        tag = "known event"
    head = f"story {placed.get('uri')} v{placed.get('version')} [{placed.get('lang')}] → {placed.get('event_id')} ({tag})"
    headline = placed.get("headline") or ""
    if len(headline) > 60:
        headline = headline[:59].rstrip() + "…"
    return _join(head, placed.get("source"), headline)


def format_event(event: dict[str, Any]) -> str:
    """A ``wire.events`` snapshot in one line."""
    count = event.get("story_count")
    return _join(f"event {event.get('event_id')} [{event.get('lang')}] {event.get('headline') or ''}".rstrip(),
                 plural(count, "story", "stories") if isinstance(count, int) else None,
                 f"sources: {', '.join(event.get('sources') or [])}" if event.get("sources") else None,
                 plural(len(event.get("facts") or []), "fact"),
                 plural(len(event.get("alerts") or []), "alert"),
                 f"last update {event['last_update']}" if event.get("last_update") else None)


def format_dead_letter(record: dict[str, Any], preview: int = 80) -> str:
    """A ``wire.dead-letter`` record in one line: why, where it came from, the start of the value."""
    value = str(record.get("value") or "")
    value = value if len(value) <= preview else value[:preview] + "…"
    origin = (f"{record['topic']}[{record.get('partition')}]@{record.get('offset')}"
              if record.get("topic") else None)
    return _join(f"dead letter ({record.get('reason')}): {record.get('detail')}", origin,
                 f"key {record['key']}" if record.get("key") else None,
                 f"value {value!r}" if value else None)


def format_webhook_dead_letter(record: dict[str, Any]) -> str:
    """A ``wire.webhook-dead-letter`` record in one line: which alert never reached which endpoint."""
    status = record.get("last_status")
    return _join(f"webhook dead letter ({record.get('reason')}): alert {record.get('alert_id')} "
                 f"to {record.get('endpoint')}",
                 plural(record.get("attempts") or 0, "attempt"),
                 f"last status {status}" if status else None,
                 record.get("last_error"))
