"""Micro-benchmark of the text stages: normalize (``clean_story``) and novelty (``assess``).

Prints one JSON object with ms per story for each stage, on ~3 KB stories generated from the dev
file (bench/corpus.py). Usage:

    python bench/core_stages.py [--dev ../shared/data/cluster-dev.jsonl] [--stories 1000] [--reps 7]
    python bench/core_stages.py --compare HEAD~1   # also time that revision's normalize/facts/novelty

Cases:

* ``normalize`` — ``clean_story(headline, body)``;
* ``assess_first`` — the first story of an event (nothing known: every substantive fact is new);
* ``assess_later`` — a later story of an event, against the known facts of the stories before it
  (in stream order, as ``EventStage`` sees them);
* ``assess_resend`` — the same text again, once its facts are known (a re-send or a new version).

Each case runs ``--reps`` passes over the same stories with warm caches (a long-running worker's
steady state) after one untimed warm-up pass. Passes are timed in chunks of ``--chunk`` stories:
``min`` sums each chunk's fastest time (the steadiest figure on a busy machine), ``median`` is the
median whole pass. With ``--compare`` both versions run in the same process, alternating chunk by
chunk, so their ratio is meaningful even when the machine is noisy.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate, load_rows

from streams.core import facts, langid, normalize, novelty

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEV = ROOT.parent / "shared" / "data" / "cluster-dev.jsonl"
MODULES = ("normalize", "facts", "novelty")


def load_revision(rev: str) -> types.SimpleNamespace:
    """normalize/facts/novelty as they were at git revision ``rev``, importable side by side."""
    tmp = Path(tempfile.mkdtemp(prefix="wirestream-bench-"))
    pkg = tmp / "wirestream_rev"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    # models.py is shared (the data classes); the three stages come from the revision
    (pkg / "models.py").write_text((ROOT / "streams" / "core" / "models.py").read_text())
    for name in MODULES:
        src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:streams/core/{name}.py"],
                             check=True, capture_output=True, text=True).stdout
        (pkg / f"{name}.py").write_text(src)
    # versions.py (novelty's edit script since issue 13): copied where the revision has it
    found = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:streams/core/versions.py"],
                           capture_output=True, text=True)
    if found.returncode == 0:
        (pkg / "versions.py").write_text(found.stdout)
    sys.path.insert(0, str(tmp))
    return types.SimpleNamespace(**{n: importlib.import_module(f"wirestream_rev.{n}") for n in MODULES})


def prepare(dev: Path, n: int, size: int) -> dict[str, Any]:
    """Stories, their cleaned sentences and language, and each later story's known facts."""
    stories = list(generate(load_rows(dev), n, target_bytes=size))
    cleans = [normalize.clean_story(s["headline"], s["body_text"]) for s in stories]
    langs = [langid.detect_language(c.headline, c.body) for c in cleans]
    known_by_event: dict[str, list[dict[str, Any]]] = {}
    first, later, resend = [], [], []
    for s, c, lang in zip(stories, cleans, langs):
        known = known_by_event.setdefault(s["_gold"], [])
        case = (list(known), c.sentences, lang)
        (later if known else first).append(case)
        result = novelty.assess(known, c.sentences, lang)
        known.extend({**f, "uri": s["uri"], "source": s["source"], "time": 0} for f in result.facts_to_add)
        resend.append((list(known), c.sentences, lang))
    return {"stories": stories, "first": first, "later": later, "resend": resend,
            "mean_bytes": statistics.mean(len(s["body_text"]) for s in stories),
            "mean_sentences": statistics.mean(len(c.sentences) for c in cleans),
            "mean_known_facts_later": statistics.mean(len(k) for k, _, _ in later) if later else 0.0}


def cases(mods: Any, data: dict[str, Any]) -> dict[str, tuple[Callable[[Any], Any], list[Any]]]:
    """Each case: a function of one item, and the items (one per story)."""
    clean_story, assess = mods.normalize.clean_story, mods.novelty.assess
    return {
        "normalize": (lambda s: clean_story(s["headline"], s["body_text"]), data["stories"]),
        "assess_first": (lambda c: assess(*c), data["first"]),
        "assess_later": (lambda c: assess(*c), data["later"]),
        "assess_resend": (lambda c: assess(*c), data["resend"]),
    }


def timed(fn: Callable[[Any], Any], items: list[Any]) -> float:
    """Seconds for one pass over ``items``."""
    t0 = time.perf_counter()
    for item in items:
        fn(item)
    return time.perf_counter() - t0


def measure(fns: dict[str, Callable[[Any], Any]], items: list[Any], reps: int, chunk: int) -> dict[str, dict[str, float]]:
    """ms per item of each version: ``min`` sums each chunk's fastest pass (short passes catch
    the machine's quiet moments, so this is the steadiest figure on a busy host); ``median`` is
    the median over whole passes. Versions alternate chunk by chunk, so drift hits both alike."""
    chunks = [items[i:i + chunk] for i in range(0, len(items), chunk)]
    best = {v: [float("inf")] * len(chunks) for v in fns}
    passes: dict[str, list[float]] = {v: [] for v in fns}
    for v, fn in fns.items():  # warm-up: fill the per-language word caches
        timed(fn, items)
    for _ in range(reps):
        total = dict.fromkeys(fns, 0.0)
        for i, c in enumerate(chunks):
            gc.collect()
            for v, fn in fns.items():
                t = timed(fn, c)
                total[v] += t
                best[v][i] = min(best[v][i], t)
        for v in fns:
            passes[v].append(total[v])
    n = max(1, len(items))
    return {v: {"min": round(1000 * sum(best[v]) / n, 4), "median": round(1000 * statistics.median(passes[v]) / n, 4)}
            for v in fns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--stories", type=int, default=1000)
    parser.add_argument("--bytes", type=int, default=3000)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=25, help="stories per timed pass")
    parser.add_argument("--compare", metavar="REV", help="also time this git revision's stages")
    args = parser.parse_args()

    data = prepare(args.dev, args.stories, args.bytes)
    versions = {"current": types.SimpleNamespace(normalize=normalize, facts=facts, novelty=novelty)}
    if args.compare:
        versions[args.compare] = load_revision(args.compare)
    runs = {v: cases(m, data) for v, m in versions.items()}
    results: dict[str, dict[str, dict[str, float]]] = {v: {} for v in versions}
    for case, (_, items) in runs["current"].items():
        measured = measure({v: runs[v][case][0] for v in versions}, items, args.reps, args.chunk)
        for v in versions:
            results[v][case] = measured[v]

    out: dict[str, Any] = {
        "bench": "core_stages",
        "stories": args.stories,
        "mean_story_bytes": round(data["mean_bytes"]),
        "mean_sentences": round(data["mean_sentences"], 1),
        "cases": {k: len(data[k]) for k in ("first", "later", "resend")},
        "mean_known_facts_later": round(data["mean_known_facts_later"], 1),
        "reps": args.reps,
        "ms_per_story": results["current"],
        "targets_ms": {"normalize": 0.15, "assess_first": 0.25, "assess_later": 0.25},
    }
    if args.compare:
        base = results[args.compare]
        out["ms_per_story_" + args.compare] = base
        out["speedup"] = {c: {k: round(base[c][k] / x[k], 2) for k in x} for c, x in results["current"].items()}
    print(orjson.dumps(out).decode())


if __name__ == "__main__":
    main()
