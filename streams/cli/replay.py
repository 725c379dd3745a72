"""``wirestream replay``: the core, offline, over a JSONL file in file order.

Each story's ``versioncreated`` is its time (a story without one takes the previous story's
time, so a replay is deterministic). Bad lines are reported with their line number, counted and
skipped; the run goes on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Callable

import orjson

from ..core.models import Rejection
from ..core.pipeline import Pipeline, Rejected, decode_story


@dataclass(slots=True)
class ReplaySummary:
    lines: int = 0
    stories: int = 0
    rejected: int = 0
    duplicates: int = 0
    alerts: int = 0
    events: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"lines": self.lines, "stories": self.stories, "rejected": self.rejected,
                "duplicates": self.duplicates, "alerts": self.alerts, "events": self.events,
                "rejected_by_reason": dict(sorted(self.reasons.items()))}


def _internal(stage: str, exc: Exception) -> Rejection:
    return Rejection("internal", f"{stage}: {type(exc).__name__}: {exc}")


def _parse_line(raw: bytes, previous_time: float, max_bytes: int) -> tuple[object, Rejection | None]:
    # the same checks as the decode stage (size, UTF-8, JSON, schema), so a line is refused for the
    # same reason a message would be
    try:
        return decode_story(raw, max_bytes=max_bytes, arrival=previous_time), None
    except Rejected as exc:
        return None, exc.rejection
    except Exception as exc:  # noqa: BLE001 - a bug must not end the run: report the line, go on
        return None, _internal("decode", exc)


def iter_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, raw in enumerate(stream, start=1):
        if raw.strip():
            yield number, raw


def replay(
    lines: Iterable[tuple[int, bytes]],
    *,
    pipeline: Pipeline,
    write_assignment: Callable[[dict], None],
    write_alert: Callable[[dict], None],
    report_bad: Callable[[int, Rejection], None],
) -> ReplaySummary:
    """Run every line through the pipeline; return the counts."""
    summary = ReplaySummary()
    last_time = 0.0
    event_ids: set[str] = set()
    for number, raw in lines:
        summary.lines += 1
        story, rejection = _parse_line(raw, last_time, pipeline.max_bytes)
        if rejection is None:
            try:
                outcome = pipeline.process_story(story)  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001 - as the worker: report, skip, go on
                rejection = _internal("pipeline", exc)
        if rejection is not None:
            summary.rejected += 1
            summary.reasons[rejection.reason] = summary.reasons.get(rejection.reason, 0) + 1
            report_bad(number, rejection)
            continue
        last_time = outcome.enriched.story.versioncreated
        summary.stories += 1
        summary.duplicates += outcome.assignment.duplicate
        event_ids.add(outcome.assignment.event_id)
        write_assignment({
            "uri": outcome.enriched.story.uri,
            "version": outcome.enriched.story.version,
            "event_id": outcome.assignment.event_id,
            "lang": outcome.enriched.lang,
        })
        if outcome.alert is not None:
            summary.alerts += 1
            write_alert(outcome.alert)
    summary.events = len(event_ids)  # every event the file had (some may have expired by its end)
    return summary
