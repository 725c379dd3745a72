"""``wirestream tail``: follow one of wirestream's public topics from any broker, like ``kcat -C``.

    wirestream tail                        # alerts, as the demo prints them, from now on
    wirestream tail events --from-beginning --json | jq .headline

It connects with the worker's settings (``WIRESTREAM_BROKER``, ``WIRESTREAM_TOPIC_PREFIX``, the
SASL/TLS variables: :mod:`streams.kafka.connection`), checks the broker first (the worker's
preflight: an unreachable broker or refused credentials is one line, exit 2), and reads every
partition without a consumer group, so it never takes messages from anyone nor commits offsets.
Ctrl-C (or SIGTERM, or a closed pipe) stops it cleanly with exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import orjson

from ..config import Settings
from .format import format_alert, format_clustered, format_dead_letter, format_event, format_webhook_dead_letter

#: what ``tail`` follows: name on the command line -> (logical topic, text formatter)
TOPICS: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "alerts": ("story-updates", format_alert),
    "events": ("events", format_event),
    "clustered": ("stories.clustered", format_clustered),
    "dead-letter": ("dead-letter", format_dead_letter),
    "webhook-dead-letter": ("webhook-dead-letter", format_webhook_dead_letter),
}


@dataclass
class TailOptions:
    what: str = "alerts"
    from_beginning: bool = False
    as_json: bool = False
    count: int | None = None  # stop after this many messages
    until_end: bool = False  # stop at the end of the topic (as it was when tail started)
    connect_timeout: float = 10.0


def render(what: str, value: bytes | None, as_json: bool) -> str | None:
    """One message as printed: its JSON on one line (``--json``) or the topic's text format."""
    if value is None:
        return None  # a tombstone (compacted topics): nothing to show
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if as_json:
        return orjson.dumps(doc).decode()
    return TOPICS[what][1](doc) if isinstance(doc, dict) else orjson.dumps(doc).decode()


async def tail(settings: Settings, options: TailOptions, out: IO[str], err: IO[str]) -> int:
    """Follow the topic until cancelled, ``count`` messages, or the end (``until_end``)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from ..kafka.broker import topic_partitions
    from ..kafka.connection import client_kwargs
    from ..kafka.preflight import preflight

    topic = settings.topic(TOPICS[options.what][0])
    await preflight(settings, timeout=options.connect_timeout)
    consumer = AIOKafkaConsumer(group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest" if options.from_beginning else "latest",
                                **client_kwargs(settings))
    await consumer.start()
    try:
        # not ``consumer.partitions_for_topic``: its cache may be empty here, and ``--until-end``
        # would have found no partitions and stopped before printing anything
        parts = await topic_partitions(settings, topic)
        if parts is None:
            print(f"wirestream: topic {topic} does not exist yet (has a worker run with "
                  f"WIRESTREAM_TOPIC_PREFIX={settings.topic_prefix!r}?)"
                  + ("" if options.until_end else "; waiting for it"), file=err, flush=True)
        consumer.subscribe([topic])
        ends: dict[Any, int] | None = None
        if options.until_end:
            if not options.from_beginning or not parts:
                return 0  # nothing was there when tail started
            ends = await _end_offsets(consumer, [TopicPartition(topic, p) for p in sorted(parts)],
                                      options.connect_timeout)
            if not ends:
                return 0
        shown = 0
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            for tp, messages in sorted(batches.items(), key=lambda kv: kv[0].partition):
                for message in messages:
                    text = render(options.what, message.value, options.as_json)
                    if text is None:
                        continue
                    out.write(text + "\n")
                    shown += 1
                    if options.count is not None and shown >= options.count:
                        out.flush()
                        return 0
            out.flush()
            if ends is not None:
                # the position, not the last message's offset: a transaction's commit marker
                # (exactly-once workers) takes an offset no message is returned for
                for tp in [tp for tp in ends if tp in consumer.assignment()]:
                    if await consumer.position(tp) >= ends[tp]:
                        ends.pop(tp)
                if not ends:
                    return 0
    finally:
        await consumer.stop()


async def _end_offsets(consumer: Any, tps: list[Any], timeout: float) -> dict[Any, int]:
    """End offset of each non-empty partition. aiokafka retries while a just-created topic's
    leaders are unknown or moving (``NotLeaderForPartition``); past ``timeout`` it is an error,
    never an empty topic, so ``--until-end`` cannot stop before the end it promised."""
    from aiokafka.errors import KafkaError

    from ..kafka.broker import BrokerError

    try:
        ends = await asyncio.wait_for(consumer.end_offsets(tps), timeout=max(timeout, 1.0) * 3)
    except (KafkaError, asyncio.TimeoutError) as exc:
        raise BrokerError(f"cannot read the end offsets of {tps[0].topic}: {type(exc).__name__} "
                          f"(partition leaders unknown?); try again") from exc
    return {tp: off for tp, off in ends.items() if off > 0}


def run_tail(settings: Settings, options: TailOptions) -> int:
    """The ``wirestream tail`` command; returns the exit status."""
    from ..kafka.broker import BrokerError

    async def main() -> int:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, task.cancel)
        return await tail(settings, options, sys.stdout, sys.stderr)

    try:
        return asyncio.run(main())
    except (asyncio.CancelledError, KeyboardInterrupt):
        return 0
    except BrokenPipeError:  # `wirestream tail | head`: the reader is gone, so are we
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except BrokerError as exc:
        print(f"wirestream: {exc}", file=sys.stderr)
        return 2
