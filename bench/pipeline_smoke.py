"""Throughput of one worker on the embedded broker (stories/s). Prints one JSON object.

    python bench/pipeline_smoke.py [--data FILE.jsonl] [--limit N] [--partitions 8]

Starts Tansu (in memory), creates the topics, produces the whole feed to ``wire.stories``
first, then starts one ``wirestream worker`` subprocess and times how long it takes until every
story has come out on ``wire.stories.clustered`` (all three stages: decode + enrich, cluster,
event state + novelty). ``stories_per_s`` is measured from the first output record to the last
(worker start-up excluded); ``end_to_end_s`` includes start-up.

Default feed: ``../shared/data/cluster-dev.jsonl`` when present (real news text), else the
bundled samples repeated under new uris.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streams.broker import EmbeddedBroker, create_topics, free_port, spawn_group, stop_group  # noqa: E402
from streams.config import Settings  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "cluster-dev.jsonl"


def load_feed(path: str | None, limit: int) -> tuple[list[bytes], str]:
    if path or DEV.exists():
        source = Path(path) if path else DEV
        lines = [ln for ln in source.read_bytes().splitlines() if ln.strip()][:limit]
        return lines, str(source)
    from importlib import resources

    samples = [ln for ln in resources.files("streams").joinpath("data", "samples.jsonl").read_bytes().splitlines()
               if ln.strip()]
    lines = []
    for i in range(limit):
        doc = orjson.loads(samples[i % len(samples)])
        doc["uri"] = f"{doc['uri']}:copy{i}"
        lines.append(orjson.dumps(doc))
    return lines, "bundled samples (repeated)"


async def main(args: argparse.Namespace) -> dict:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    lines, source = load_feed(args.data, args.limit)
    expected = set()
    for line in lines:
        doc = orjson.loads(line)
        expected.add((doc["uri"], int(doc.get("version", 1) or 1)))
    tag = uuid.uuid4().hex[:6]
    workdir = Path(tempfile.mkdtemp(prefix="wirestream-bench-"))
    async with EmbeddedBroker() as broker:
        settings = Settings(broker=broker.url, topic_prefix=f"b{tag}.", app_id=f"bench-{tag}",
                            partitions=args.partitions, data_dir=workdir / "data")
        await create_topics(settings)
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5,
                                    enable_idempotence=False)
        await producer.start()
        t_produce = time.perf_counter()
        futures = []
        for line in lines:
            doc = orjson.loads(line)
            futures.append(await producer.send(settings.topic("stories"), line, key=doc["uri"].encode()))
        await asyncio.gather(*futures)
        produce_s = time.perf_counter() - t_produce
        await producer.stop()

        consumer = AIOKafkaConsumer(settings.topic("stories.clustered"), settings.topic("story-updates"),
                                    settings.topic("dead-letter"), bootstrap_servers=broker.bootstrap,
                                    group_id=None, auto_offset_reset="earliest")
        await consumer.start()
        log = open(workdir / "worker.log", "wb")
        argv = [sys.executable, "-m", "streams.cli", "worker", "--broker", broker.url,
                "--web-port", str(free_port()), "--data-dir", str(settings.data_dir),
                "--topic-prefix", settings.topic_prefix, "--partitions", str(settings.partitions),
                "--app-id", settings.app_id, "--loglevel", "warning"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        t_start = time.perf_counter()
        worker = spawn_group(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
        seen: set = set()
        alerts = dead = 0
        t_first = t_last = None
        try:
            deadline = time.perf_counter() + args.timeout
            while seen < expected and time.perf_counter() < deadline:
                if worker.poll() is not None:
                    raise SystemExit(f"worker exited {worker.returncode}; see {workdir / 'worker.log'}")
                batches = await consumer.getmany(timeout_ms=500)
                for tp, messages in batches.items():
                    for message in messages:
                        if tp.topic.endswith("story-updates"):
                            alerts += 1
                        elif tp.topic.endswith("dead-letter"):
                            dead += 1
                            expected.discard((orjson.loads(message.value).get("key"), 1))
                        else:
                            rec = orjson.loads(message.value)
                            seen.add((rec["uri"], rec["version"]))
                            now = time.perf_counter()
                            t_first = t_first or now
                            t_last = now
        finally:
            stop_group(worker, timeout=15)
            log.close()
            await consumer.stop()
    processed = len(seen & expected)
    span = (t_last - t_first) if t_first and t_last and t_last > t_first else None
    return {
        "bench": "pipeline_smoke",
        "source": source,
        "stories": len(lines),
        "processed": processed,
        "dead_letters": dead,
        "alerts": alerts,
        "partitions": settings.partitions,
        "produce_s": round(produce_s, 3),
        "startup_s": round(t_first - t_start, 2) if t_first else None,
        "processing_s": round(span, 2) if span else None,
        "stories_per_s": round((processed - 1) / span, 1) if span else None,
        "end_to_end_s": round(t_last - t_start, 2) if t_last else None,
        "complete": processed == len(expected),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="JSONL feed (default: ../shared/data/cluster-dev.jsonl or samples)")
    parser.add_argument("--limit", type=int, default=2000, help="stories to send (default 2000)")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=600.0)
    result = asyncio.run(main(parser.parse_args()))
    print(orjson.dumps(result).decode())
