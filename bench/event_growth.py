"""How the event stage's cost and the event's size grow with the number of stories in one event.

Prints one JSON object. Usage:

    python bench/event_growth.py [--dev ../shared/data/cluster-dev.jsonl] [--stories 600] [--step 100]

Generated ~3 KB stories (``bench/corpus.py``) are all assigned to one event and run through
``EventStage`` (what the worker's event agent calls), as a breaking story that keeps drawing
copy would be. For each block of ``--step`` stories: mean CPU ms a story (the stage plus the
orjson encoding of the state and the snapshot, which the worker writes to the events changelog
and to ``wire.events`` on every story), the known facts, and the bytes of the state and of the
snapshot after the block. The stories come from different gold events, so they bring more new
facts than one real event would: read the growth, not the absolute sizes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate, load_rows

from streams.core.models import AssignedStory, Assignment
from streams.core.pipeline import EventStage, enrich
from streams.core.validate import decode_story

DEFAULT_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "cluster-dev.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--stories", type=int, default=600)
    parser.add_argument("--step", type=int, default=100)
    args = parser.parse_args()
    if args.stories < 1 or args.step < 1:
        parser.error("--stories and --step must be at least 1")

    rows = load_rows(args.dev)
    enriched = [enrich(decode_story(orjson.dumps(s), arrival=0.0)) for s in generate(rows, args.stories)]
    stage = EventStage({})
    blocks = []
    spent = 0.0
    for i, story in enumerate(enriched):
        assigned = AssignedStory(story, Assignment("ev-growth", i == 0, 1.0))
        t0 = time.process_time()
        result = stage.process(assigned)
        state_bytes = len(orjson.dumps(stage.events["ev-growth"]))
        snapshot_bytes = len(orjson.dumps(result.event)) if result.event is not None else 0
        spent += time.process_time() - t0
        if (i + 1) % args.step == 0 or i + 1 == len(enriched):
            size = (i % args.step) + 1
            blocks.append({
                "stories": i + 1,
                "ms_per_story": round(1000 * spent / size, 3),
                "known_facts": len(stage.events["ev-growth"]["facts"]),
                "state_kib": round(state_bytes / 1024, 1),
                "snapshot_kib": round(snapshot_bytes / 1024, 1),
            })
            spent = 0.0
    first, last = blocks[0], blocks[-1]
    print(orjson.dumps({
        "bench": "event_growth",
        "blocks": blocks,
        "ms_ratio_last_to_first": round(last["ms_per_story"] / first["ms_per_story"], 2),
        "bytes_written_per_story_last_kib": round(last["state_kib"] + last["snapshot_kib"], 1),
    }).decode())


if __name__ == "__main__":
    main()
