"""``wirestream replay``: the core, offline, over stories in file order.

The inputs are read by :mod:`streams.cli.sources` (what ``ingest`` reads: JSONL, ninjs ``.json``,
``.txt``, folders, ``-``). Each story's ``versioncreated`` is its time (a story without one takes
the previous story's time, so a replay is deterministic). Bad lines are reported with where they
are (``file:line``), counted and skipped; the run goes on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Callable

from ..core.models import Rejection
from ..core.pipeline import Pipeline, Rejected
from .sources import read_story


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


def _parse(source: Any, previous_time: float, max_bytes: int) -> tuple[object, Rejection | None]:
    try:
        return read_story(source, max_bytes=max_bytes, arrival=previous_time), None
    except Rejected as exc:
        return None, exc.rejection
    except Exception as exc:  # noqa: BLE001 - a bug must not end the run: report the line, go on
        return None, _internal("decode", exc)


def replay(
    lines: Iterable[tuple[str, Any]],
    *,
    pipeline: Pipeline,
    write_assignment: Callable[[dict], None],
    write_alert: Callable[[dict], None],
    report_bad: Callable[[str, Rejection], None],
) -> ReplaySummary:
    """Run every source (``(where, source)`` of :func:`streams.cli.sources.iter_sources`) through
    the pipeline; return the counts."""
    summary = ReplaySummary()
    last_time = 0.0
    event_ids: set[str] = set()
    for where, source in lines:
        summary.lines += 1
        story, rejection = _parse(source, last_time, pipeline.max_bytes)
        if rejection is None:
            try:
                outcome = pipeline.process_story(story)  # type: ignore[arg-type]
            except Exception as exc:  # noqa: BLE001 - as the worker: report, skip, go on
                rejection = _internal("pipeline", exc)
        if rejection is not None:
            summary.rejected += 1
            summary.reasons[rejection.reason] = summary.reasons.get(rejection.reason, 0) + 1
            report_bad(where, rejection)
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
