"""Line up a ``bench/pipeline.py --trace DIR`` run: where the slowest stories waited, and what the
worker's probe (``bench/loop_probe.py``) logged meanwhile (bench only).

    python bench/stall_report.py DIR [--worst 12] [--around 1.5]

For each worker traced in DIR (``<app id>-timeline.jsonl`` + ``<app id>-probe.jsonl``): the
slowest stories of the fixed-rate phase with the time each hop took — ``decode`` (sent → the
enriched record produced), ``cluster`` (→ assigned), ``event`` (→ clustered), ``harness`` (the
clustered record produced → seen by the harness) — then every probe record (loop stalls with
their stack samples, collector passes, slow shell calls) within ``--around`` seconds of them.
Times are seconds into the fixed-rate phase.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def hop_ms(row: dict) -> dict[str, float | None]:
    def d(a: str, b: str) -> float | None:
        return round(1000 * (row[b] - row[a])) if a in row and b in row else None

    return {"decode": d("sent", "enriched_ts"), "cluster": d("enriched_ts", "assigned_ts"),
            "event": d("assigned_ts", "clustered_ts"), "harness": d("clustered_ts", "clustered_at"),
            "alert": d("sent", "alert_at")}


def report(timeline: Path, worst: int, around: float) -> None:
    rows = load(timeline)
    t0 = rows[0]["phase_start_monotonic"]
    stories = [r for r in rows[1:] if "alert_at" in r]
    print(f"== {timeline.name}: {len(stories)} alerts")
    if not stories:
        return
    slow = sorted(stories, key=lambda r: r["alert_at"] - r["sent"], reverse=True)[:worst]
    print("  sent_s   alert_ms  decode  cluster  event  harness")
    for r in sorted(slow, key=lambda r: r["sent"]):
        h = hop_ms(r)
        print(f"  {r['sent']:6.2f}  {h['alert']:8}  {h['decode']!s:>6}  {h['cluster']!s:>7}  {h['event']!s:>5}  {h['harness']!s:>7}")
    typical = sorted(hop_ms(r)["alert"] for r in stories)
    print(f"  median alert {typical[len(typical) // 2]} ms")
    probe_path = timeline.with_name(timeline.name.replace("-timeline.jsonl", "-probe.jsonl"))
    if not probe_path.exists():
        return
    lo = min(r["sent"] for r in slow) - around
    hi = max(r["alert_at"] for r in slow) + around
    print(f"  probe records between {lo:.2f} and {hi:.2f} s:")
    for rec in load(probe_path):
        at = rec["mono"] - t0
        if not lo <= at <= hi:
            continue
        extra = {k: v for k, v in rec.items() if k not in ("kind", "mono", "wall", "stacks", "began")}
        began = f" began {rec['began'] - t0:.2f}" if "began" in rec else ""
        print(f"    {at:7.2f} {rec['kind']:5}{began} {extra}")
        for n, stack in rec.get("stacks", [])[:3]:
            print(f"        {n}x " + " < ".join(stack[:8]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dir")
    p.add_argument("--worst", type=int, default=12)
    p.add_argument("--around", type=float, default=1.5)
    args = p.parse_args()
    for timeline in sorted(Path(args.dir).glob("*-timeline.jsonl")):
        report(timeline, args.worst, args.around)


if __name__ == "__main__":
    main()
