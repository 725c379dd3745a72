"""What a story costs before the core decides anything: the floor under ``bench/core.py``.

Prints one JSON object. Usage:

    python bench/floor.py [--dev ../shared/data/cluster-dev.jsonl] [--stories 1500] [--reps 5]

On the same generated ~3 KB stories as ``bench/core.py``, it times the steps every story needs
whatever the clustering and novelty logic do, each with the library the core already uses:

* ``decode_validate`` — orjson + the story schema (``validate.decode_story``);
* ``sentence_split`` — one blingfire call over the body (``normalize._text_to_sentences``);
  novelty works on sentences, so a story must be split;
* ``language_engine`` — the language engine alone (langdetect-rs, or langdetect where it is not
  installed) on the 500 characters the core gives it, without the core's checks around it;
* ``one_word_pass`` — one regex pass over the body's words and one dict lookup per word (of a
  warm word -> stem cache): the least any word-based clustering or fact extraction can do.

``floor_ms`` adds them up; ``budget_ms`` is what one story may cost at ``--target`` stories/s;
``core_ms`` is ``Pipeline.process_story`` (what ``wirestream replay`` runs) on the same stories in
the same process, so ``core_over_floor`` is a ratio, not an absolute time. Each figure is the
fastest of ``--reps`` passes (CPU time), so other load on the machine inflates it least.
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate, load_rows

from streams.core import langid, normalize
from streams.core.features import stem
from streams.core.pipeline import Pipeline
from streams.core.validate import decode_story

DEFAULT_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "cluster-dev.jsonl"
_WORD = re.compile(r"[^\W\d_]+")


def fastest_ms(step: Callable[[Any], object], items: Sequence[Any], reps: int) -> float:
    """Fastest pass of ``step`` over ``items``, in CPU ms per item."""
    best = float("inf")
    for _ in range(reps):
        gc.collect()
        t0 = time.process_time()
        for item in items:
            step(item)
        best = min(best, time.process_time() - t0)
    return 1000.0 * best / len(items)


def core_ms(raws: Sequence[bytes], reps: int) -> float:
    """Fastest of ``reps`` full replays (a fresh pipeline each), CPU ms per story."""
    best = float("inf")
    for _ in range(reps):
        pipeline = Pipeline()
        gc.collect()
        t0 = time.process_time()
        for raw in raws:
            pipeline.process_story(decode_story(raw, arrival=0.0))
        best = min(best, time.process_time() - t0)
    return 1000.0 * best / len(raws)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--stories", type=int, default=1500)
    parser.add_argument("--bytes", type=int, default=3000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--target", type=float, default=1500.0, help="stories/s the budget is computed for")
    args = parser.parse_args()
    if args.stories < 1 or args.reps < 1:
        parser.error("--stories and --reps must be at least 1")

    stories = list(generate(load_rows(args.dev), args.stories, target_bytes=args.bytes))
    raws = [orjson.dumps(s) for s in stories]
    bodies = [s["body_text"] for s in stories]
    language_inputs = [langid.compose(s["headline"], s["body_text"]) for s in stories]
    engine = langid.engine()
    stems: dict[str, str] = {}

    def one_word_pass(body: str) -> None:
        get = stems.get
        for word in _WORD.findall(body):
            if get(word) is None:
                stems[word] = stem(word.lower(), "en")

    for body in bodies:  # warm the cache: the floor is a lookup per word, not stemming
        one_word_pass(body)

    floor = {
        "decode_validate": fastest_ms(lambda raw: decode_story(raw, arrival=0.0), raws, args.reps),
        "sentence_split": fastest_ms(normalize._text_to_sentences, bodies, args.reps),
        "language_engine": fastest_ms(engine.probabilities, language_inputs, args.reps),
        "one_word_pass": fastest_ms(one_word_pass, bodies, args.reps),
    }
    floor_ms = sum(floor.values())
    core = core_ms(raws, max(1, min(args.reps, 3)))
    budget = 1000.0 / args.target
    print(orjson.dumps({
        "bench": "core_floor",
        "stories": len(stories),
        "mean_story_bytes": round(statistics.mean(len(b) for b in bodies)),
        "mean_words": round(statistics.mean(len(_WORD.findall(b)) for b in bodies), 1),
        "langdetect_engine": langid.engine_name(),
        "floor_ms_by_step": {k: round(v, 4) for k, v in floor.items()},
        "floor_ms": round(floor_ms, 4),
        "target_stories_per_s": args.target,
        "budget_ms": round(budget, 4),
        "floor_over_budget": round(floor_ms / budget, 2),
        "core_ms": round(core, 4),
        "core_stories_per_s": round(1000.0 / core, 1),
        "core_over_floor": round(core / floor_ms, 2),
    }).decode())


if __name__ == "__main__":
    main()
