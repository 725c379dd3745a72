"""Read one record back by its coordinates (topic, partition, offset).

A story that fails after the decode stage (cluster or event stage) is dead-lettered with the
bytes it arrived with on ``wire.stories``, not the internal message the stage had: the internal
messages carry the story's coordinates (``EnrichedStory.origin``), and this reads the original
record back. A rare path, so a short-lived consumer outside any group is fine.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..config import Settings


async def fetch_record(settings: Settings, topic: str, partition: int, offset: int, *,
                       timeout: float = 10.0) -> tuple[bytes | None, bytes | None]:
    """``(key, value)`` of the record at ``topic[partition]@offset``.

    Raises ``LookupError`` when it is not there any more (retention) or cannot be read in time.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from .connection import client_kwargs

    consumer = AIOKafkaConsumer(enable_auto_commit=False, group_id=None, auto_offset_reset="none",
                                request_timeout_ms=int(timeout * 1000), **client_kwargs(settings))
    tp = TopicPartition(topic, partition)
    try:
        await asyncio.wait_for(consumer.start(), timeout)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            batches: dict[Any, list[Any]] = await consumer.getmany(tp, timeout_ms=500, max_records=1)
            for record in batches.get(tp, ()):
                if record.offset == offset:
                    return record.key, record.value
                raise LookupError(f"{topic}[{partition}]@{offset} is gone (the next record is @{record.offset})")
        raise LookupError(f"{topic}[{partition}]@{offset} could not be read in {timeout:g} s")
    except LookupError:
        raise
    except Exception as exc:  # noqa: BLE001 - any client error means: not recoverable now
        raise LookupError(f"{topic}[{partition}]@{offset} could not be read: {type(exc).__name__}: {exc}") from None
    finally:
        await consumer.stop()
