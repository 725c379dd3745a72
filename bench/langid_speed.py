"""Language step speed and memory: short texts a second in one process, and what the engines
cost the worker in RSS. Prints one JSON object:

    python bench/langid_speed.py [--data ../shared/data] [--passes 2]

The texts are the short real sentences of both language dev files (17,500, median ~95
characters). ``rss_growth_mb`` is the resident memory after every script's models are loaded
and every text was seen once, minus the memory before the first detection (imports done):
what a worker pays for language identification. ``cpu_texts_per_s`` counts this process's CPU
time only (steadier than wall time on a busy machine; ``load_avg_1m`` says how busy it was).
Targets (issue 14): >= 2,000 texts/s, <= 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streams.core import langid  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FILES = ("langid-dev.jsonl", "langid-dev-papluca.jsonl")


def rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--passes", type=int, default=2, help="timed passes over the texts")
    args = parser.parse_args()
    paths = [args.data / name for name in FILES]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"langid_speed: missing {', '.join(missing)}", file=sys.stderr)
        raise SystemExit(2)
    texts = [json.loads(line)["text"] for p in paths for line in p.open(encoding="utf-8") if line.strip()]

    before = rss_mb()
    t0 = time.perf_counter()
    for text in texts:  # first pass: engines build, models load per script
        langid.analyse(text)
    first = time.perf_counter() - t0
    after = rss_mb()

    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.passes):
        for text in texts:
            langid.analyse(text)
    timed, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = len(texts) * args.passes
    print(json.dumps({
        "engine": langid.engine_name(),
        "texts": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "texts_per_s": round(n / timed),
        "ms_per_text": round(timed * 1000 / n, 4),
        # CPU time of this process: what a worker pays, and steadier on a shared machine
        "cpu_texts_per_s": round(n / cpu),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "first_pass_s": round(first, 2),
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "rss_growth_mb": round(after - before, 1),
        "rss_peak_mb": round(rss_mb("VmHWM"), 1),
        "lingua_detectors": langid.lingua_engine().loaded(),
    }, indent=1))


if __name__ == "__main__":
    main()
