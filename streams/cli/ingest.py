"""``wirestream ingest``: send stories from files to ``wire.stories``.

The inputs (JSONL, ninjs ``.json``, ``.txt``, folders, ``-``) are read by
:mod:`streams.cli.sources`, the reader ``replay`` uses too.

Every story is checked locally with the core's own validation before it is sent (so a bad line
is reported as ``file:line: reason`` right away instead of landing in the dead-letter topic);
``--raw`` skips that and sends JSON lines byte for byte. Key = the story's uri.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import orjson

from ..config import Settings
from .sources import SourceError, check_paths, iter_sources, read_story


@dataclass(frozen=True)
class Item:
    """One story ready to send."""

    where: str  # file:line
    key: bytes
    value: bytes


@dataclass(frozen=True)
class Problem:
    """Something that cannot be sent, with where and why."""

    where: str
    reason: str
    detail: str


@dataclass
class Summary:
    sent: int = 0
    rejected: int = 0
    failed: int = 0  # refused by the broker
    reasons: Counter = field(default_factory=Counter)
    skipped_files: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "rejected": self.rejected, "failed": self.failed,
                "reasons": dict(self.reasons), "skipped_files": self.skipped_files}


# --------------------------------------------------------------------------- preparing


def prepare(sources: Iterable[tuple[str, Any]], *, max_bytes: int, validate: bool = True) -> Iterator[Item | Problem]:
    """Turn sources (:func:`streams.cli.sources.iter_sources`) into sendable items, or problems
    with ``where`` and ``reason``. ``validate=False`` (``--raw``) sends JSON lines byte for byte."""
    from ..core.pipeline import Rejected

    now = time.time()
    for where, src in sources:
        if not validate and isinstance(src, bytes):
            yield Item(where, _uri_of(src).encode("utf-8"), src)  # best-effort key
            continue
        try:
            story = read_story(src, max_bytes=max_bytes if validate else 1 << 62, arrival=now)
        except Rejected as refused:
            yield Problem(where, refused.rejection.reason, refused.rejection.detail)
            continue
        raw = src if isinstance(src, bytes) else orjson.dumps(src)
        yield Item(where, story.uri.encode("utf-8"), raw)


def _uri_of(raw: bytes) -> str:
    try:
        doc = orjson.loads(raw)
        if isinstance(doc, dict) and isinstance(doc.get("uri"), str):
            return doc["uri"]
    except orjson.JSONDecodeError:
        pass
    return ""


# --------------------------------------------------------------------------- sending


async def send_items(settings: Settings, items: Iterable[Item | Problem], *,
                     report: Callable[[str], None], progress: Any = None,
                     summary: Summary | None = None, connect_timeout: float = 10.0) -> Summary:
    """Produce the items to ``wire.stories`` (topics created first); problems are reported."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaError

    from ..kafka.broker import create_topics, kafka_client_kwargs

    summary = summary or Summary()
    await create_topics(settings, timeout=connect_timeout)
    topic = settings.topic("stories")
    producer = AIOKafkaProducer(
        acks="all",
        linger_ms=5,
        max_request_size=max(1024 * 1024, settings.max_message_bytes + 64 * 1024),
        enable_idempotence=False,  # not supported by every broker (Tansu); at-least-once
        **kafka_client_kwargs(settings),
    )
    await producer.start()
    pending: list[tuple[Item, Any]] = []

    async def settle() -> None:
        for item, fut in pending:
            try:
                await fut
            except KafkaError as exc:
                summary.failed += 1
                summary.reasons["broker:" + type(exc).__name__] += 1
                report(f"{item.where}: not sent: {type(exc).__name__}: {exc}")
            else:
                summary.sent += 1
            if progress is not None:
                progress.update(1)
        pending.clear()

    try:
        for entry in items:
            if isinstance(entry, Problem):
                summary.rejected += 1
                summary.reasons[entry.reason] += 1
                report(f"{entry.where}: rejected ({entry.reason}): {entry.detail}")
                if progress is not None:
                    progress.update(1)
                continue
            try:
                fut = await producer.send(topic, entry.value, key=entry.key)
            except KafkaError as exc:
                summary.failed += 1
                summary.reasons["broker:" + type(exc).__name__] += 1
                report(f"{entry.where}: not sent: {type(exc).__name__}: {exc}")
                continue
            pending.append((entry, fut))
            if len(pending) >= 500:
                await settle()
        await settle()
    finally:
        await producer.stop()
    return summary


def run_ingest(settings: Settings, paths: list[str], *, progress: bool | None = None,
               validate: bool = True, connect_timeout: float = 10.0) -> int:
    """The ``wirestream ingest`` command; returns the exit status."""
    from tqdm import tqdm

    from ..kafka.broker import BrokerError

    try:
        check_paths(paths)
    except SourceError as exc:
        print(f"wirestream: {exc}", file=sys.stderr)
        return 2
    show = sys.stderr.isatty() if progress is None else progress
    summary = Summary()
    bar = tqdm(unit=" stories", disable=not show, file=sys.stderr, desc="ingest")

    def report(line: str) -> None:
        bar.write(line, file=sys.stderr)

    def skipped(path: str) -> None:
        summary.skipped_files += 1

    items = prepare(iter_sources(paths, on_skip=skipped), max_bytes=settings.max_message_bytes,
                    validate=validate)
    try:
        asyncio.run(send_items(settings, items, report=report, progress=bar, summary=summary,
                               connect_timeout=connect_timeout))
    except BrokerError as exc:
        bar.close()
        print(f"wirestream: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        bar.close()
        print(f"wirestream: interrupted after {summary.sent} stories", file=sys.stderr)
        return 130
    bar.close()
    print(orjson.dumps({"summary": {**summary.to_dict(), "topic": settings.topic("stories")}}).decode(),
          file=sys.stderr)
    if summary.sent == 0:
        print("wirestream: nothing was sent", file=sys.stderr)
        return 1
    return 0
