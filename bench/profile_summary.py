"""Where a worker's time goes: a py-spy collapsed-stack file (``bench/pipeline.py --profile``) by step.

    python bench/profile_summary.py FILE [FILE ...] [--top 25]

Prints one JSON object per file: samples, and the share of samples in each bucket. A sample goes
to the first bucket (in the order below) one of whose markers occurs in its stack, so the core's
own work is counted as core even when Faust called it, and the rest is split by what the shell
does around it. ``top_leaf_functions``: the functions most often on top of the stack outside the
core (what to look at next).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
from pathlib import Path

# (bucket, markers): first match wins, so the order matters
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("core: cluster", ("ClusterStage.process", "clustering/", "(streams/core/cluster")),
    ("core: event", ("EventStage.process", "EventStage.expire", "novelty.py", "events.py (streams/core")),
    ("core: decode + enrich", ("decode_story", "enrich (", "normalize.py", "langid")),
    ("core: models to/from dict", ("streams/core/models.py",)),
    ("journal + overlay (runtime/tables)", ("runtime/tables.py",)),
    ("table changelog (Faust)", ("faust/tables/", "faust/stores/")),
    ("dead letters", ("dead_letter",)),
    ("serialization (orjson codec, Faust schema)", ("OrjsonCodec", "faust/serializers/", "loads_value",
                                                     "dumps_value", "loads_key", "dumps_key")),
    ("producer (Faust + aiokafka send path)", ("aiokafka/producer/", "faust/transport/producer",
                                               "Producer.send", "_send_attached", "publish_message")),
    ("consumer fetch (aiokafka)", ("aiokafka/consumer/", "aiokafka/record/")),
    ("consumer (Faust: ack, commit, buffers)", ("faust/transport/consumer", "faust/transport/conductor",
                                               "streams/kafka/consumer.py", "faust/transport/drivers")),
    ("stream + agent machinery (Faust)", ("faust/streams", "faust/agents", "faust/events", "faust/topics",
                                          "faust/channels", "streams/runtime/agents.py")),
    ("metrics", ("runtime/metrics.py", "prometheus_client")),
    ("network (aiokafka conn, sockets)", ("aiokafka/conn.py", "sock_", "socket", "_write_to_self")),
    ("event loop, selector", ("asyncio/", "selectors.py", "uvloop")),
]

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def bucket_of(stack: str) -> str:
    for name, markers in BUCKETS:
        if any(m in stack for m in markers):
            return name
    return "other"


def summarize(path: Path, top: int) -> dict:
    buckets: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        name = bucket_of(stack)
        buckets[name] += n
        if not name.startswith("core"):
            leaf = stack.rsplit(";", 1)[-1]
            m = _FRAME.match(leaf)
            leaves[f"{m['func']} ({m['file'].rsplit('site-packages/', 1)[-1]})" if m else leaf] += n
    share = {k: round(100 * v / total, 1) for k, v in buckets.most_common()} if total else {}
    return {
        "file": str(path),
        "samples": total,
        "percent_by_bucket": share,
        "percent_core": round(sum(v for k, v in share.items() if k.startswith("core")), 1),
        "top_leaf_functions": {k: round(100 * v / total, 1) for k, v in leaves.most_common(top)} if total else {},
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()
    for f in args.files:
        print(json.dumps(summarize(f, args.top), indent=2))


if __name__ == "__main__":
    main()
