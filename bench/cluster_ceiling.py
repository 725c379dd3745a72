"""How far word overlap can go on a labelled file: nearest-neighbour accuracy of story similarities.

    python bench/cluster_ceiling.py [--dev ../shared/data/cluster-dev.jsonl] [--top 30]

Every story is turned into the clusterer's own features (headline + lead TF-IDF with the
background weights, names), and compared with *every* other story of the file, offline, with
the whole file in view (no stream order, no candidate search, no threshold). Printed as JSON:

* ``nn_accuracy``: the share of stories whose most similar other story is of the same gold event.
  A single-pass clusterer joins a story to an event only through such similarities, so when the
  nearest story is from another event, the join is wrong or missed whatever the threshold.
* ``mate_in_top``: the share of gold mates (story pairs of one event) found among each other's
  ``--top`` most similar stories.
* ``single_pass_f1``: B-cubed F1 of the plain single-pass algorithm (average similarity to an
  event's stories, file order) at the best of a few thresholds, on body cosine: the baseline.

numpy only (the dense similarity matrix of the dev file takes ~0.4 GB).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import orjson

from streams.core.clusterer import Clusterer
from streams.core.pipeline import enrich
from streams.core.validate import Rejected, story_from_document
from streams.eval.clustering import bcubed

DEFAULT_DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "cluster-dev.jsonl"


def similarity(vectors: list[dict[str, float]]) -> np.ndarray:
    """Cosine matrix of L2-normalized sparse vectors (terms in one story only are dropped: they add 0)."""
    df: dict[str, int] = defaultdict(int)
    for v in vectors:
        for t in v:
            df[t] += 1
    vocab = {t: i for i, t in enumerate(t for t, c in df.items() if c >= 2)}
    x = np.zeros((len(vectors), len(vocab)), dtype=np.float32)
    for row, v in enumerate(vectors):
        for t, w in v.items():
            col = vocab.get(t)
            if col is not None:
                x[row, col] = w
    s = x @ x.T
    np.fill_diagonal(s, -1.0)
    return s


def single_pass(s: np.ndarray, threshold: float, top: int) -> np.ndarray:
    labels = np.arange(len(s))
    members: dict[int, list[int]] = {}
    for i in range(len(s)):
        best, best_score = -1, -1.0
        if i:
            near = np.argpartition(-s[i, :i], min(top, i) - 1)[:top] if i > top else np.arange(i)
            for c in {int(labels[j]) for j in near}:
                score = float(s[i, members[c]].mean())
                if score > best_score:
                    best, best_score = c, score
        labels[i] = best if best_score >= threshold else i
        members.setdefault(int(labels[i]), []).append(i)
    return labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--headline-only", action="store_true")
    args = parser.parse_args(argv)

    clusterer = Clusterer({}, window_seconds=1e12)  # no live events: background weights only
    gold: list[str] = []
    feats = []
    try:
        fh = open(args.dev, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        print(f"error: cannot read {args.dev}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    with fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            label = row.pop("_gold", None)
            if label is None:
                continue
            if args.headline_only and row.get("headline"):
                row["body_text"] = row["headline"]
            try:
                enriched = enrich(story_from_document(row, arrival=0.0), "all")
            except Rejected:
                continue
            gold.append(label)
            feats.append(clusterer.features(enriched))
    labels = np.array(gold)
    out: dict[str, object] = {"stories": len(gold), "events": len(set(gold)), "headline_only": args.headline_only}
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    mates = int(same.sum())
    for name, vectors in (("body", [f.body for f in feats]), ("headline", [f.head for f in feats]),
                          ("names", [f.names for f in feats])):
        s = similarity(vectors)
        nn = s.argmax(axis=1)
        has_mate = same.any(axis=1)
        top = np.argpartition(-s, args.top, axis=1)[:, : args.top]
        found = int(sum(same[i, top[i]].sum() for i in range(len(s))))
        out[name] = {"nn_accuracy": round(float((labels[nn] == labels)[has_mate].mean()), 4),
                     "mate_in_top": round(found / mates, 4) if mates else None}
        if name == "body":
            gold_map = dict(enumerate(gold))
            f1s = {th: bcubed(dict(enumerate(single_pass(s, th, args.top))), gold_map)["f1"]
                   for th in (0.3, 0.35, 0.4, 0.45)}
            best = max(f1s, key=f1s.__getitem__)
            out[name]["single_pass_f1"] = {"threshold": best, "f1": round(f1s[best], 4)}
        del s
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
