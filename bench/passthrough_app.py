"""The pipeline ceiling: a pass-through Faust app on the same topics, codecs and consumer settings.

    python bench/passthrough_app.py --broker kafka://127.0.0.1:PORT --app-id ID --topic-prefix P. \
        [--partitions 8] [--hops 1] [--web-port N] [--data-dir DIR]

One agent reads ``<prefix>stories`` (raw bytes, keyed by uri, same partitioning as the real
app), decodes each value with orjson and sends it unchanged (orjson codec) to
``<prefix>stories.clustered`` keyed by its uri. ``--hops 3`` chains three such agents through
``<prefix>enriched`` and ``<prefix>assigned`` (the real app's topology, with no work done), and
the last one waits for the broker's acknowledgement of each send, as the real event agent does.

The app is built by ``streams.runtime.app.new_faust_app``, as the real worker's is (broker timeouts,
fetch size and wait, serializers, at-least-once), so that ``bench/pipeline.py`` measures what the
framework and broker cost without the core: that is the ceiling of the real pipeline.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streams.runtime.app import new_faust_app  # noqa: E402
from streams.kafka.broker import create_topics  # noqa: E402
from streams.config import Settings  # noqa: E402
from streams.kafka.topics import JSON_CODEC  # noqa: E402


def create_passthrough_app(settings: Settings, hops: int = 1):
    # The same Faust app class and settings as the real worker: only the work differs.
    app = new_faust_app(settings, store="memory://")

    def json_topic(name: str):
        return app.topic(settings.topic(name), key_type=str, value_serializer=JSON_CODEC,
                         partitions=settings.partitions)

    stories = app.topic(settings.topic("stories"), key_type=bytes, value_type=bytes, key_serializer="raw",
                        value_serializer="raw", partitions=settings.partitions)
    clustered = json_topic("stories.clustered")

    if hops == 1:
        @app.agent(stories, name="passthrough.decode")
        async def passthrough(stream):
            async for event in stream.events():
                doc = orjson.loads(event.message.value)
                await clustered.send(key=doc["uri"], value=doc)
    else:
        enriched, assigned = json_topic("enriched"), json_topic("assigned")

        @app.agent(stories, name="passthrough.decode")
        async def hop1(stream):
            async for event in stream.events():
                doc = orjson.loads(event.message.value)
                await enriched.send(key=doc.get("language") or "en", value=doc)

        @app.agent(enriched, name="passthrough.cluster")
        async def hop2(stream):
            async for event in stream.events():
                await assigned.send(key=event.value["uri"], value=event.value)

        @app.agent(assigned, name="passthrough.event")
        async def hop3(stream):
            async for event in stream.events():
                fut = await clustered.send(key=event.value["uri"], value=event.value)
                await fut
    return app


def main() -> None:
    import faust

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", required=True)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--topic-prefix", required=True)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--hops", type=int, choices=(1, 3), default=1)
    parser.add_argument("--web-port", type=int, default=6066)
    parser.add_argument("--data-dir", default="passthrough-data")
    parser.add_argument("--loglevel", default="warning")
    args = parser.parse_args()
    settings = Settings.from_env(broker=args.broker, app_id=args.app_id, topic_prefix=args.topic_prefix,
                                 partitions=args.partitions, web_port=args.web_port, data_dir=Path(args.data_dir))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(create_topics(settings))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_passthrough_app(settings, args.hops)
    worker = faust.Worker(app, loop=loop, loglevel=args.loglevel, quiet=True)
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
