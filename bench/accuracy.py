"""Accuracy of the core on labelled data: language, event clustering, story updates.

Prints one JSON object with every figure the README's Accuracy table quotes:

    python bench/accuracy.py [--data ../shared/data] [--quick]

Each part is the same evaluator `wirestream eval KIND FILE` runs, so any labelled file of the
same shape can be measured the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

import orjson

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def run(module: str, argv: list[str]) -> dict:
    import importlib

    out = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = importlib.import_module(module).main(argv)
    if code:
        raise SystemExit(f"{module} exited with {code}")
    result = orjson.loads(out.getvalue())
    result["_seconds"] = round(time.perf_counter() - t0, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--quick", action="store_true", help="skip the headline-only clustering run")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"accuracy: no data directory at {args.data}", file=sys.stderr)
        raise SystemExit(2)
    cluster_file = str(args.data / "cluster-dev.jsonl")
    figures = {
        "langid": run("streams.eval.langid", [str(args.data / "langid-dev.jsonl"), "--no-per-language"]),
        "langid_short_texts": run("streams.eval.langid", [str(args.data / "langid-dev-papluca.jsonl"),
                                                          "--no-per-language"]),
        "clustering": run("streams.eval.clustering", [cluster_file]),
        "novelty": run("streams.eval.novelty", [cluster_file, "--seeds", str(args.data / "seeds.jsonl")]),
        "novelty_full_length": run("streams.eval.novelty", [str(args.data / "cluster-dev-multinews.jsonl")]),
    }
    if not args.quick:
        figures["clustering_headline_only"] = run("streams.eval.clustering", [cluster_file, "--headline-only"])
    print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
