"""Generate a realistic stream of ~3 KB wire stories from a labelled dev file.

Each generated story reports one gold event: its lead is the real article's text, followed by
the other articles of the same event (as an outlet would recap them) and background paragraphs
drawn from unrelated articles, until it reaches the target size. Stories are shuffled within a
rolling time window, re-dated (several per minute), given new uris and sources, and some get a
second version that adds a sentence — so the stream looks like a busy wire desk, not the file.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson

SOURCES = ("AFP", "AP", "Reuters", "dpa", "EFE", "ANSA", "Kyodo", "PA", "Xinhua", "UPI")


def load_rows(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of ``path``; exits with a message (no traceback) when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return [orjson.loads(line) for line in fh if line.strip()]
    except OSError as exc:
        raise SystemExit(f"error: cannot read {path}: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise SystemExit(f"error: {path} is not JSON lines: {exc}") from None


def generate(rows: list[dict[str, Any]], n: int, *, target_bytes: int = 3000, seed: int = 7,
             start: datetime = datetime(2024, 1, 1, tzinfo=timezone.utc),
             stories_per_minute: float = 20.0, update_share: float = 0.1,
             copy_tag: str = "") -> Iterator[dict[str, Any]]:
    """Yield ``n`` stories (dicts in the input schema) in time order."""
    rng = random.Random(seed)
    by_event: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_event[row.get("_gold", row["uri"])].append(row)
    pending_updates: list[tuple[int, dict[str, Any]]] = []
    step = 60.0 / stories_per_minute
    produced = 0
    i = 0
    while produced < n:
        base = rows[rng.randrange(len(rows))]
        event = base.get("_gold", base["uri"])
        rnd = i // len(rows)  # later rounds re-use the file as new, distinct events
        when = start + timedelta(seconds=produced * step)
        while pending_updates and pending_updates[0][0] <= produced and produced < n:
            _, upd = pending_updates.pop(0)
            upd["versioncreated"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
            yield upd
            produced += 1
        if produced >= n:
            break
        parts = [base["body_text"]]
        for sibling in by_event[event]:
            if sibling is not base:
                parts.append(sibling["body_text"])
        size = sum(len(p) for p in parts)
        while size < target_bytes:
            filler = rows[rng.randrange(len(rows))]["body_text"]
            parts.append(filler)
            size += len(filler)
        body = "\n\n".join(parts)[: target_bytes + 400]
        story = {
            "uri": f"urn:bench{copy_tag}:{rnd}:{i}",
            "version": 1,
            "headline": base["headline"],
            "body_text": body,
            "versioncreated": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": SOURCES[rng.randrange(len(SOURCES))],
            "_gold": f"{event}:{rnd}",
        }
        yield story
        produced += 1
        if rng.random() < update_share:
            extra = rows[rng.randrange(len(rows))]["body_text"].split(". ")[0]
            pending_updates.append((produced + rng.randrange(5, 50),
                                    {**story, "version": 2, "body_text": body + "\n\n" + extra + "."}))
        i += 1


def main() -> None:  # pragma: no cover - a convenience for looking at the corpus
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("devfile", type=Path)
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--bytes", type=int, default=3000)
    args = parser.parse_args()
    for story in generate(load_rows(args.devfile), args.n, target_bytes=args.bytes):
        sys.stdout.buffer.write(orjson.dumps(story) + b"\n")


if __name__ == "__main__":
    main()
