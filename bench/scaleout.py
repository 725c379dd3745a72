"""Scale-out benchmark: two ``wirestream worker``s vs one on the same broker. Prints one JSON object.

    python bench/scaleout.py [--stories 3000] [--runs 3] [--partitions 8] [--langs en,de,fr,es,it,pt,nl,ru]
                             [--shard-by lang|none]

For 1 and then 2 workers (same app id, fresh topics each time, 8 partitions): warm-up (every
language), wait until the consumer group has that many members and a second warm-up batch went
through (so no rebalance falls in the timed window), then produce ``--stories`` stories as fast
as possible and measure the sustained rate through ``stories.clustered`` (stories / (last
output − first send), as bench/pipeline.py). ``ratio`` = two / one, median over ``--runs``.

The corpus is multilingual so that clustering shards spread: with ``shard_by=lang`` (the
default) the clustering stage of one language lives on one partition (the partition of the
shard key, reported under ``shard_partitions``), so a one-language feed cannot spread its
clustering over two workers. English stories come from bench/corpus.py (cluster-dev); the other
languages are built from the sentences of ``langid-dev.jsonl`` (100 sentences per language,
~3 KB per story: a random subset of that language's sentences, so their events are synthetic
and overlap heavily). Equal shares per language.

The machine has 2 cores: two workers, the broker and this harness compete for them; the CPU
seconds of each during the timed window are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline import (  # noqa: E402
    DEFAULT_DEV, Collector, Profiler, Story, cpu_seconds, encode, group_members, log_tail,
    new_producer, output_consumer, produce_all, rss_mib, run_cli, spawn_worker, steady_rate, wire_stories,
    worker_metrics,
)
from corpus import SOURCES, load_rows  # noqa: E402

from streams.kafka.broker import EmbeddedBroker, create_topics, stop_group  # noqa: E402
from streams.config import Settings  # noqa: E402

LANGID_DEV = DEFAULT_DEV.parent / "langid-dev.jsonl"


def other_language_stories(sentences: list[str], lang: str, n: int, tag: str, rng: random.Random,
                           target_bytes: int = 3000) -> list[Story]:
    out = []
    for i in range(n):
        picked: list[str] = []
        size = 0
        pool = sentences[:]
        rng.shuffle(pool)
        for s in pool:
            picked.append(s)
            size += len(s.encode()) + 1
            if size >= target_bytes:
                break
        paragraphs = [" ".join(picked[j:j + 4]) for j in range(1, len(picked), 4)]
        out.append(encode({
            "uri": f"urn:bench{tag}:{lang}:{i}", "version": 1, "headline": picked[0][:120],
            "body_text": "\n\n".join(paragraphs), "language": lang,
            "versioncreated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1704067200 + 3 * i)),
            "source": SOURCES[rng.randrange(len(SOURCES))],
        }))
    return out


def multilingual(rows: list[dict[str, Any]], by_lang: dict[str, list[str]], langs: list[str], n: int,
                 tag: str, seed: int) -> list[Story]:
    rng = random.Random(seed)
    per = max(1, n // len(langs))
    parts = []
    for lang in langs:
        if lang == "en":
            parts.append(wire_stories(rows, per, f"{tag}en", seed))
        else:
            parts.append(other_language_stories(by_lang[lang], lang, per, tag, rng))
    mixed = [s for group in parts for s in group]
    # interleave languages, keeping each language's own order (versions after their first)
    order = sorted(range(len(mixed)), key=lambda k: (k % per, rng.random()))
    return [mixed[k] for k in order]


def shard_partitions(langs: list[str], partitions: int, shard_by: str) -> dict[str, int]:
    from aiokafka.partitioner import murmur2

    keys = langs if shard_by == "lang" else ["all"]
    return {k: (murmur2(k.encode()) & 0x7FFFFFFF) % partitions for k in keys}


def per_story(before: list[dict[str, float]], after: list[dict[str, float]], stories: int) -> dict[str, Any]:
    """From the workers' /metrics: messages each stage took in per story (1.0: no story handled
    twice) and ms a story in each stage's core call, summed over the workers."""
    keys = sorted({k for a in after for k in a})
    total = {k: sum(a.get(k, 0.0) - b.get(k, 0.0) for a, b in zip(after, before)) for k in keys}
    return {
        "stage_messages_per_story": {k.split(":", 1)[1]: round(v / stories, 3)
                                     for k, v in total.items() if k.startswith("stories_in:")},
        "core_ms_per_story": {k.split(":", 1)[1]: round(1000 * v / stories, 2)
                              for k, v in total.items() if k.startswith("core_s:")},
    }


BURN = "import time\nend = time.monotonic() + {s}\nwhile time.monotonic() < end: pass\n"


async def run_workers(n: int, broker: EmbeddedBroker, workdir: Path, args: argparse.Namespace,
                      corpus: dict[str, list[Story]], burn: bool = False, run: int = 0) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    settings = Settings(broker=broker.url, topic_prefix=f"s{tag}.", app_id=f"scale-{n}-{tag}",
                        partitions=args.partitions, data_dir=workdir)
    await create_topics(settings)
    consumer = await output_consumer(broker.bootstrap, settings)
    col = Collector()
    reader = asyncio.create_task(col.run(consumer))
    producer = await new_producer(broker.bootstrap, linger_ms=5)
    env = {"WIRESTREAM_SHARD_BY": args.shard_by}
    workers = [spawn_worker("pipeline", settings, workdir, index=i, env=env) for i in range(n)]
    topic = settings.topic("stories")
    result: dict[str, Any] = {"workers": n, "busy_loop": burn}
    try:
        t0 = time.monotonic()
        for batch in ("warmup1", "warmup2"):
            await produce_all(producer, topic, corpus[batch])
            if not await col.wait_for([(s.uri, s.version) for s in corpus[batch]], args.timeout, workers):
                raise RuntimeError(f"{n} workers: warm-up did not complete:\n{log_tail(workers[-1])}")
            if batch == "warmup1":
                members = None
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    members = await group_members(broker.bootstrap, settings.app_id)
                    if members is None or members >= n:
                        break
                    await asyncio.sleep(1)
                result["group_members"] = members
                if members is None:
                    await asyncio.sleep(5)  # broker cannot describe groups: leave time for a rebalance
        result["startup_s"] = round(time.monotonic() - t0, 2)
        stories = corpus["full"]
        keys = [(s.uri, s.version) for s in stories]
        pids = {f"worker{i}": w.pid for i, w in enumerate(workers)}
        pids.update(broker=broker.proc.pid, harness=os.getpid())
        burner = None
        if burn:  # the control: one worker while a busy loop holds the other core
            burner = subprocess.Popen([sys.executable, "-c", BURN.format(s=args.timeout)])
            pids["busy_loop"] = burner.pid
        label = f"{n}{'+busy' if burn else ''}-{run}"
        profilers = [Profiler(w.pid, Path(args.profile) / f"scaleout-{label}-w{i}.txt" if args.profile else None)
                     for i, w in enumerate(workers)]
        metrics0 = [worker_metrics(w) for w in workers]
        cpu0 = cpu_seconds(pids)
        try:
            with contextlib.ExitStack() as stack:
                for prof in profilers:
                    stack.enter_context(prof)
                t_start, _ = await produce_all(producer, topic, stories)
                complete = await col.wait_for(keys, args.timeout, workers)
                cpu1 = cpu_seconds(pids)
                metrics1 = [worker_metrics(w) for w in workers]
        finally:
            if burner is not None:
                burner.kill()
                burner.wait()
        arrivals = [col.clustered[k] for k in keys if k in col.clustered]
        rate = steady_rate(arrivals)
        t_last = max(arrivals) if arrivals else t_start
        result.update({
            "stories": len(stories), "processed": len(arrivals), "complete": complete,
            "stories_per_s": round(len(arrivals) / (t_last - t_start), 1) if t_last > t_start else None,
            "output_window_per_s": round(rate, 1) if rate else None,
            "elapsed_s": round(t_last - t_start, 2),
            "cpu_s": {k: round(cpu1[k] - cpu0[k], 2) for k in cpu0},
            "worker_cpu_ms_per_story": round(1000 * sum(cpu1[k] - cpu0[k] for k in cpu0 if k.startswith("worker"))
                                             / max(1, len(arrivals)), 2),
            **per_story(metrics0, metrics1, max(1, len(arrivals))),
            "dead_letters": col.dead,
            "rss_mib": [rss_mib(w)["rss_mib"] for w in workers],
        })
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader
        for w in workers:
            stop_group(w, timeout=15)
        for closer in (producer.stop, consumer.stop):
            with contextlib.suppress(Exception):
                await closer()
    return result


async def main(args: argparse.Namespace) -> dict[str, Any]:
    langs = [x.strip() for x in args.langs.split(",") if x.strip()]
    rows = load_rows(Path(args.dev))
    by_lang: dict[str, list[str]] = {}
    for r in load_rows(Path(args.langid_dev)):
        by_lang.setdefault(r["lang"], []).append(r["text"])
    missing = [x for x in langs if x != "en" and x not in by_lang]
    if missing:
        raise SystemExit(f"no sentences for {missing} in {args.langid_dev}")
    corpus = {
        "warmup1": multilingual(rows, by_lang, langs, 20 * len(langs), "w1", 101),
        "warmup2": multilingual(rows, by_lang, langs, 10 * len(langs), "w2", 102),
        "full": multilingual(rows, by_lang, langs, args.stories, "f", 7),
    }
    workdir = Path(tempfile.mkdtemp(prefix="wirestream-scaleout-"))
    configs = [(1, False), (2, False)] + ([(1, True)] if args.busy_loop_control else [])
    runs: dict[Any, list[dict[str, Any]]] = {c: [] for c in configs}
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    try:
        async with EmbeddedBroker() as broker:
            for run in range(args.runs):
                for n, burn in configs:
                    res = await run_workers(n, broker, workdir, args, corpus, burn=burn, run=run)
                    runs[(n, burn)].append(res)
                    print(orjson.dumps({"run": run, **res}).decode(), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    def med(config: Any, key: str = "stories_per_s") -> float | None:
        vals = [r[key] for r in runs.get(config, []) if r.get(key)]
        return round(statistics.median(vals), 2) if vals else None

    one, two = med((1, False)), med((2, False))
    ratios = [b["stories_per_s"] / a["stories_per_s"] for a, b in zip(runs[(1, False)], runs[(2, False)])
              if a.get("stories_per_s") and b.get("stories_per_s")]
    names = {(1, False): "1", (2, False): "2", (1, True): "1+busy_loop"}
    cpu = {names[c]: med(c, "worker_cpu_ms_per_story") for c in configs}
    return {
        "bench": "scaleout",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "stories": len(corpus["full"]), "langs": langs, "shard_by": args.shard_by, "partitions": args.partitions,
        "shard_partitions": shard_partitions(langs, args.partitions, args.shard_by),
        "one_worker_stories_per_s": one,
        "two_workers_stories_per_s": two,
        "ratio_two_to_one": round(two / one, 3) if one and two else None,
        "ratio_per_run": [round(r, 3) for r in ratios],
        "worker_cpu_ms_per_story": cpu,
        "target_ratio": 1.5,
        "runs_detail": {names[k]: v for k, v in runs.items()},
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dev", default=str(DEFAULT_DEV))
    p.add_argument("--langid-dev", default=str(LANGID_DEV))
    p.add_argument("--stories", type=int, default=3000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--langs", default="en,de,fr,es,it,pt,nl,ru")
    p.add_argument("--shard-by", choices=("lang", "none"), default="lang")
    p.add_argument("--timeout", type=float, default=900.0)
    p.add_argument("--busy-loop-control", action="store_true",
                   help="also run one worker while a busy loop holds the other core (is two workers' "
                        "higher CPU a story contention for the cores?)")
    p.add_argument("--profile", default=None, metavar="DIR",
                   help="record every worker with py-spy during the timed window (collapsed stacks into DIR)")
    return p


if __name__ == "__main__":
    run_cli(main, parser())
