"""Clustering accuracy against gold labels: B-cubed and pairwise precision/recall/F1, cluster counts.

``wirestream eval clustering FILE... [--suite [DIR]] [--headline-only] [--split tune|holdout] [--json]``

Each file is run through the pipeline's own stages in file order (``enrich``, then
``ClusterStage`` — what ``wirestream replay`` and the workers run; the event stage does not
change a clustering decision) and scored against its gold labels (``_gold``; rows without one are
processed but not scored). Every file is also clustered by the committed baseline
(``streams.eval.baseline``: single-pass TF-IDF centroids, one threshold for the whole suite) on
the same stories. One table: per file B-cubed P/R/F1, pairwise F1, events predicted vs gold, the
baseline's B-cubed F1 and the macro average.

``--suite`` adds the dev suite: ``cluster-dev-stream.jsonl``, ``cluster-dev-multinews.jsonl``,
``cluster-dev.jsonl`` and ``cluster-dev.jsonl`` cut to headlines (``FILE:headlines`` cuts any
file that way). ``--cache DIR`` keeps the enriched stories (normalizing and language detection
are most of the cost) between runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.core.clusterer import DEFAULT_CONFIG, ClusterConfig
from streams.core.models import EnrichedStory

__all__ = ["SUITE", "Prepared", "bcubed", "evaluate_clustering", "evaluate_suite", "main", "pairwise", "prepare",
           "run_clusterer", "score", "split_of"]

# The dev suite (names in ../shared/data); ":headlines" = every body cut to its headline.
SUITE = ("cluster-dev-stream.jsonl", "cluster-dev-multinews.jsonl", "cluster-dev.jsonl", "cluster-dev.jsonl:headlines")
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
HEADLINES = ":headlines"


def _groups(assign: Mapping[Hashable, Hashable]) -> dict[Hashable, list[Hashable]]:
    out: dict[Hashable, list[Hashable]] = defaultdict(list)
    for item, cluster in assign.items():
        out[cluster].append(item)
    return out


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def bcubed(pred: Mapping[Hashable, Hashable], gold: Mapping[Hashable, Hashable],
           scored: Iterable[Hashable] | None = None) -> dict[str, float]:
    """B-cubed precision, recall and F1 (Bagga & Baldwin 1998) over the items in ``gold``.

    Items of ``gold`` missing from ``pred`` count as singletons. ``scored`` (default: all of
    ``gold``) averages over those items only, cluster sizes still counting every item of ``gold``.
    """
    items = list(gold)
    averaged = items if scored is None else list(scored)
    if not averaged:
        return {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    pred_full = {i: pred.get(i, ("__singleton__", i)) for i in items}
    joint = Counter((pred_full[i], gold[i]) for i in items)
    psize = Counter(pred_full[i] for i in items)
    gsize = Counter(gold[i] for i in items)
    p = sum(joint[(pred_full[i], gold[i])] / psize[pred_full[i]] for i in averaged) / len(averaged)
    r = sum(joint[(pred_full[i], gold[i])] / gsize[gold[i]] for i in averaged) / len(averaged)
    return {"precision": p, "recall": r, "f1": _f1(p, r)}


def pairwise(pred: Mapping[Hashable, Hashable], gold: Mapping[Hashable, Hashable]) -> dict[str, float]:
    """Pairwise precision, recall and F1 over all pairs of items in ``gold`` (1.0 when no pairs)."""
    items = list(gold)
    pred_full = {i: pred.get(i, ("__singleton__", i)) for i in items}

    def pairs(counter: Iterable[int]) -> int:
        return sum(n * (n - 1) // 2 for n in counter)

    tp = pairs(Counter((pred_full[i], gold[i]) for i in items).values())
    pp = pairs(Counter(pred_full.values()).values())
    gp = pairs(Counter(gold[i] for i in items).values())
    p = tp / pp if pp else 1.0
    r = tp / gp if gp else 1.0
    return {"precision": p, "recall": r, "f1": _f1(p, r), "true_pairs": tp, "pred_pairs": pp, "gold_pairs": gp}


@dataclass(frozen=True, slots=True)
class Prepared:
    """One labelled file after the stateless stage: enriched stories (None = rejected) and labels."""

    name: str
    stories: tuple[EnrichedStory | None, ...]
    gold: tuple[Any, ...]  # label per story (None = not scored)


def _cut(doc: dict[str, Any], headline_only: bool) -> dict[str, Any]:
    if headline_only and doc.get("headline"):
        doc["body_text"] = doc["headline"]
    return doc


def prepare(rows: Iterable[Mapping[str, Any]], *, name: str = "", headline_only: bool = False,
            shard_by: str = "lang", gold_field: str = "_gold") -> Prepared:
    """Validate, normalize and detect the language of every row, as the pipeline's first stage does."""
    from streams.core.pipeline import enrich
    from streams.core.validate import Rejected, story_from_document

    stories: list[EnrichedStory | None] = []
    gold: list[Any] = []
    for row in rows:
        doc = _cut(dict(row), headline_only)
        gold.append(doc.pop(gold_field, None))
        try:
            stories.append(enrich(story_from_document(doc, arrival=0.0), shard_by))
        except Rejected:
            stories.append(None)
    return Prepared(name, tuple(stories), tuple(gold))


def run_clusterer(stories: Sequence[EnrichedStory | None], *, config: ClusterConfig = DEFAULT_CONFIG,
                  window_days: float = 3.0) -> list[str | None]:
    """The event id of every story (None = rejected), from the pipeline's cluster stage."""
    from streams.core.pipeline import ClusterStage

    stage = ClusterStage({}, {}, {}, window_days=window_days, config=config)
    return [None if s is None else stage.process(s).event_id for s in stories]


def score(pred: Sequence[Hashable | None], gold: Sequence[Any]) -> dict[str, Any]:
    """B-cubed and pairwise figures and cluster counts of one run (stories with a label only)."""
    p = {i: e for i, e in enumerate(pred) if e is not None}
    g = {i: label for i, label in enumerate(gold) if label is not None and pred[i] is not None}
    b = bcubed(p, g)
    pw = pairwise(p, g)
    scored_pred = Counter(p[i] for i in g)
    gold_sizes = Counter(g.values())
    return {
        "scored": len(g),
        "bcubed": {k: round(v, 4) for k, v in b.items()},
        "pairwise": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in pw.items()},
        "clusters": {
            "predicted": len(scored_pred),
            "gold": len(gold_sizes),
            "predicted_singletons": sum(1 for c in scored_pred.values() if c == 1),
            "gold_singletons": sum(1 for c in gold_sizes.values() if c == 1),
        },
    }


def evaluate_prepared(prep: Prepared, *, config: ClusterConfig = DEFAULT_CONFIG, window_days: float = 3.0,
                      baseline: bool = True) -> dict[str, Any]:
    from streams.eval.baseline import THRESHOLD, cluster_baseline

    t0 = time.perf_counter()
    pred = run_clusterer(prep.stories, config=config, window_days=window_days)
    elapsed = time.perf_counter() - t0
    n = sum(1 for s in prep.stories if s is not None)
    result: dict[str, Any] = {"file": prep.name, "stories": n, "rejected": len(prep.stories) - n}
    result.update(score(pred, prep.gold))
    result["timing"] = {"cluster_seconds": round(elapsed, 3), "ms_per_story": round(1000 * elapsed / max(1, n), 3)}
    if baseline:
        base = score(cluster_baseline(prep.stories), prep.gold)
        result["baseline"] = {"threshold": THRESHOLD, "bcubed": base["bcubed"], "pairwise_f1": base["pairwise"]["f1"],
                              "events": base["clusters"]["predicted"]}
    return result


def evaluate_clustering(
    rows: Iterable[Mapping[str, Any]],
    *,
    headline_only: bool = False,
    shard_by: str = "lang",
    window_days: float = 3.0,
    gold_field: str = "_gold",
    config: ClusterConfig = DEFAULT_CONFIG,
    baseline: bool = False,
) -> dict[str, Any]:
    """Cluster ``rows`` in order with the pipeline's stages and score the event ids against ``gold_field``."""
    prep = prepare(rows, headline_only=headline_only, shard_by=shard_by, gold_field=gold_field)
    result = evaluate_prepared(prep, config=config, window_days=window_days, baseline=baseline)
    result.update(headline_only=headline_only, shard_by=shard_by)
    return result


def split_of(label: Any) -> int:
    """Tune (0) / holdout (1) half of a gold cluster label: CRC32 parity, stable everywhere."""
    return zlib.crc32(str(label).encode()) % 2


def _read_jsonl(path: str) -> list[dict[str, Any]]:
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115 - closed below
    rows = []
    bad = []
    with stream:
        for number, line in enumerate(stream, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = None
            if isinstance(obj, dict):
                rows.append(obj)
            else:
                bad.append(number)
    if bad:
        shown = ", ".join(map(str, bad[:10])) + (", ..." if len(bad) > 10 else "")
        print(f"warning: {path}: skipped {len(bad)} line(s) that are not JSON objects (line {shown})",
              file=sys.stderr)
    return rows


def load(spec: str, *, shard_by: str = "lang", gold_field: str = "_gold", headline_only: bool = False,
         split: str | None = None, cache: Path | None = None) -> Prepared:
    """A file (``PATH`` or ``PATH:headlines``) prepared for clustering, from ``cache`` when it is there."""
    path, cut = (spec[: -len(HEADLINES)], True) if spec.endswith(HEADLINES) else (spec, headline_only)
    name = Path(path).name + (HEADLINES if cut else "") if path != "-" else "stdin"
    key = None
    if cache is not None and path != "-":
        h = hashlib.blake2b(digest_size=16)
        h.update(Path(path).read_bytes())
        h.update(f"{cut}\x1f{shard_by}\x1f{gold_field}\x1f{split}".encode())
        for module in ("normalize", "langid", "pipeline", "validate", "models"):  # what enrich() depends on
            h.update((Path(__file__).resolve().parents[1] / "core" / f"{module}.py").read_bytes())
        key = cache / f"{name}.{h.hexdigest()}.pickle"
        if key.exists():
            with key.open("rb") as fh:
                return pickle.load(fh)  # noqa: S301 - our own cache file
    rows = _read_jsonl(path)
    if split:
        want = 0 if split == "tune" else 1
        rows = [r for r in rows if split_of(r.get(gold_field)) == want]
    prep = prepare(rows, name=name, headline_only=cut, shard_by=shard_by, gold_field=gold_field)
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        tmp = key.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(prep, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(key)
    return prep


def suite_specs(data: Path) -> list[str]:
    return [str(data / name) for name in SUITE]


def evaluate_suite(preps: Sequence[Prepared], *, config: ClusterConfig = DEFAULT_CONFIG, window_days: float = 3.0,
                   baseline: bool = True) -> dict[str, Any]:
    """Every file's figures and their macro average (B-cubed, pairwise F1, baseline F1)."""
    files = [evaluate_prepared(p, config=config, window_days=window_days, baseline=baseline) for p in preps]

    def mean(values: list[float]) -> float:
        return round(sum(values) / len(values), 4) if values else 0.0

    macro = {
        "bcubed": {k: mean([f["bcubed"][k] for f in files]) for k in ("precision", "recall", "f1")},
        "pairwise_f1": mean([f["pairwise"]["f1"] for f in files]),
    }
    if baseline:
        macro["baseline_bcubed_f1"] = mean([f["baseline"]["bcubed"]["f1"] for f in files])
    return {"files": files, "macro": macro}


def format_table(result: dict[str, Any]) -> str:
    cols = ("file", "stories", "events", "B3 P", "B3 R", "B3 F1", "pair F1", "baseline F1", "vs baseline")
    lines = []
    for f in result["files"]:
        b = f["bcubed"]
        base = f.get("baseline", {}).get("bcubed", {}).get("f1")
        lines.append((f["file"], str(f["scored"]), f"{f['clusters']['predicted']} / {f['clusters']['gold']}",
                      f"{b['precision']:.3f}", f"{b['recall']:.3f}", f"{b['f1']:.3f}", f"{f['pairwise']['f1']:.3f}",
                      "-" if base is None else f"{base:.3f}", "-" if base is None else f"{b['f1'] - base:+.3f}"))
    m = result["macro"]
    base = m.get("baseline_bcubed_f1")
    lines.append(("macro average", "", "", f"{m['bcubed']['precision']:.3f}", f"{m['bcubed']['recall']:.3f}",
                  f"{m['bcubed']['f1']:.3f}", f"{m['pairwise_f1']:.3f}", "-" if base is None else f"{base:.3f}",
                  "-" if base is None else f"{m['bcubed']['f1'] - base:+.3f}"))
    widths = [max(len(c), *(len(row[i]) for row in lines)) for i, c in enumerate(cols)]

    def fmt(row: Sequence[str]) -> str:
        return "  ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(row, widths)))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(cols), rule, *(fmt(r) for r in lines[:-1]), rule, fmt(lines[-1])])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="wirestream eval clustering", description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", metavar="FILE",
                    help="JSONL with story fields and a gold label ('-' = stdin; FILE:headlines = headline-only cut)")
    ap.add_argument("--suite", nargs="?", const=str(DEFAULT_DATA), metavar="DIR",
                    help=f"add the dev suite from DIR (default {DEFAULT_DATA}): " + ", ".join(SUITE))
    ap.add_argument("--headline-only", action="store_true", help="cut every body to its headline (flash items)")
    ap.add_argument("--shard-by", choices=("lang", "all"), default="lang")
    ap.add_argument("--window-days", type=float, default=3.0)
    ap.add_argument("--gold-field", default="_gold")
    ap.add_argument("--split", choices=("tune", "holdout"),
                    help="only the gold events of one half (CRC32 of the label: even = tune, odd = holdout), "
                         "the split bench/fit_clusterer.py fits on")
    ap.add_argument("--no-baseline", action="store_true", help="skip the baseline runs")
    ap.add_argument("--cache", type=Path, metavar="DIR", help="keep enriched stories here between runs")
    ap.add_argument("--json", action="store_true", help="print JSON figures instead of the table")
    args = ap.parse_args(argv)
    specs = list(args.paths)
    if args.suite is not None:
        missing = sorted({name.removesuffix(HEADLINES) for name in SUITE}
                         - {p.name for p in Path(args.suite).glob("*.jsonl") if p.is_file()})
        if missing:
            print(f"error: the dev suite is not in {args.suite}: missing {', '.join(missing)}", file=sys.stderr)
            return 2
        specs += suite_specs(Path(args.suite))
    if not specs:
        print("error: no file given (FILE... or --suite)", file=sys.stderr)
        return 2
    preps = []
    for spec in specs:
        try:
            preps.append(load(spec, shard_by=args.shard_by, gold_field=args.gold_field,
                              headline_only=args.headline_only, split=args.split, cache=args.cache))
        except OSError as exc:
            print(f"error: cannot read {spec}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    result = evaluate_suite(preps, window_days=args.window_days, baseline=not args.no_baseline)
    if args.json:
        out = result["files"][0] if len(result["files"]) == 1 else result
        print(json.dumps(out, indent=2))
    else:
        print(format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
