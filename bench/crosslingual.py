"""Cross-lingual joining: do hand translations of a seed story join the seed's event?

    python bench/crosslingual.py [--seeds ../shared/data/seeds.jsonl]

For each seed as the event's first story and each shard mode, feeds the hand translations in
tests/data/seeds-translated.jsonl (Spanish and French renderings of part of seed 000) and prints
whether each joined the seed's event. With the default `shard_by=lang` a story can only join
events of its own language, so cross-lingual joining needs `shard_by=none`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from streams.core.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=Path, default=ROOT.parent / "shared" / "data" / "seeds.jsonl")
    parser.add_argument("--translations", type=Path, default=ROOT / "tests" / "data" / "seeds-translated.jsonl")
    args = parser.parse_args()
    seeds = [json.loads(line) for line in args.seeds.read_text("utf-8").splitlines() if line.strip()]
    translations = [json.loads(line) for line in args.translations.read_text("utf-8").splitlines() if line.strip()]
    runs = []
    for shard_by in ("lang", "none"):
        for first in seeds:
            pipeline = Pipeline(shard_by=shard_by)
            event = pipeline.process_document(dict(first), arrival=0.0).assignment.event_id
            for doc in translations:
                out = pipeline.process_document(dict(doc), arrival=0.0)
                runs.append({"shard_by": shard_by, "first": first["uri"], "story": doc["uri"],
                             "lang": out.enriched.lang, "joined": out.assignment.event_id == event,
                             "score": round(out.assignment.score, 3)})
    summary = {mode: sum(r["joined"] for r in runs if r["shard_by"] == mode) /
               sum(1 for r in runs if r["shard_by"] == mode) for mode in ("lang", "none")}
    print(json.dumps({"bench": "crosslingual", "join_rate": summary, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
