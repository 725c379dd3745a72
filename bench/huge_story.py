"""One huge story through the whole core, with and without the per-story work bound.

    PYTHONPATH=. python bench/huge_story.py [--sentences 200000]

A body of N short sentences (under the 1 MiB message limit) is decoded and processed by a fresh
``Pipeline`` as the first story of an event, then as a second outlet's story of the same event
(novelty then compares every sentence with the event's facts). Each case runs in its own process
so peak RSS is its own. Prints JSON: seconds and peak RSS per case, unbounded (no limit) and
bounded (``WorkLimits()``, the defaults: WIRESTREAM_MAX_STORY_CHARS / _SENTENCES).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _case(sentences: int, bounded: bool, out: mp.Queue) -> None:
    import orjson

    from streams.core.pipeline import Pipeline, WorkLimits
    from streams.core.validate import decode_story

    limits = WorkLimits() if bounded else WorkLimits(max_chars=10**9, max_sentences=10**9)
    words = ("Go", "No", "Up", "Ok", "Hi", "So", "We", "Me", "He", "Be")
    body = " ".join(f"{words[i % 10]}." for i in range(sentences))
    docs = [{"uri": f"urn:huge:{n}", "headline": "Huge", "body_text": body,
             "versioncreated": f"2024-01-01T0{n}:00:00Z"} for n in range(2)]
    raws = [orjson.dumps(d) for d in docs]
    # warm up (language models, word lists) so the figures are the huge story's own
    Pipeline().process_document({"uri": "w", "body_text": "Officials said the bridge reopened on Monday."}, arrival=0)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pipeline = Pipeline(limits=limits)
    times = []
    sentences_kept = 0
    for raw in raws:
        start = time.perf_counter()
        outcome = pipeline.process_story(decode_story(raw, max_bytes=len(raw), arrival=0.0))
        times.append(round(time.perf_counter() - start, 3))
        sentences_kept = len(outcome.enriched.sentences)
    out.put({"bounded": bounded, "bytes": len(raws[0]), "sentences_analysed": sentences_kept,
             "seconds_first_story": times[0], "seconds_second_story": times[1],
             "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
             "rss_growth_mib": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024, 1)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=200_000)
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    results = []
    for bounded in (False, True):
        queue: mp.Queue = ctx.Queue()
        proc = ctx.Process(target=_case, args=(args.sentences, bounded, queue))
        proc.start()
        results.append(queue.get())
        proc.join()
    print(json.dumps({"sentences": args.sentences, "cases": results}, indent=2))


if __name__ == "__main__":
    main()
