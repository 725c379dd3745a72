"""``wirestream ingest``: send stories from files to ``wire.stories``.

Accepted inputs (any mix, directories are walked in name order):

* ``*.jsonl`` / ``*.ndjson`` and ``-`` (stdin): one JSON story per line (plain or ninjs);
* ``*.json``: one story document (plain or IPTC ninjs), or a JSON array of them;
* ``*.txt``: a plain article — the first non-empty line is the headline, the rest the body;
  its uri is ``urn:txt:<path relative to the argument>`` and its time the file's mtime.

Every story is checked locally with the core's own validation before it is sent (so a bad line
is reported as ``file:line: reason`` right away instead of landing in the dead-letter topic);
``--raw`` skips that and sends JSON lines byte for byte. Key = the story's uri.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

import orjson

from ..config import Settings

JSONL_SUFFIXES = {".jsonl", ".ndjson"}
JSON_SUFFIXES = {".json"}
TEXT_SUFFIXES = {".txt"}


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


# --------------------------------------------------------------------------- reading


def _mtime_rfc3339(path: Path) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(path.stat().st_mtime))


def text_article(path: Path, name: str) -> dict[str, Any]:
    """A plain-text article as a story document: first non-empty line is the headline."""
    text = path.read_text("utf-8")
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    headline = lines[0].strip() if lines else ""
    body = "\n".join(lines[1:]).strip()
    return {"uri": f"urn:txt:{name}", "version": 1, "headline": headline, "body_text": body,
            "versioncreated": _mtime_rfc3339(path)}


def _iter_jsonl(stream: IO[bytes], label: str) -> Iterator[tuple[str, bytes]]:
    for number, line in enumerate(stream, 1):
        line = line.rstrip(b"\r\n")
        if line.strip():
            yield f"{label}:{number}", line


def iter_sources(paths: Iterable[str], stdin: IO[bytes] | None = None,
                 on_skip: Callable[[str], None] | None = None) -> Iterator[tuple[str, bytes | dict]]:
    """``(where, raw JSON bytes | document)`` for every story in the inputs, in order."""
    for arg in paths:
        if arg == "-":
            yield from _iter_jsonl(stdin or sys.stdin.buffer, "<stdin>")
            continue
        root = Path(arg)
        if root.is_dir():
            files = sorted(p for p in root.rglob("*") if p.is_file())
            for path in files:
                if path.suffix.lower() not in JSONL_SUFFIXES | JSON_SUFFIXES | TEXT_SUFFIXES:
                    if on_skip:
                        on_skip(str(path))
                    continue
                yield from _iter_file(path, path.relative_to(root).as_posix())
        elif root.exists():
            yield from _iter_file(root, root.name)
        else:
            yield str(root), ValueError(f"{arg}: no such file or directory")  # type: ignore[misc]


def _iter_file(path: Path, name: str) -> Iterator[tuple[str, Any]]:
    suffix = path.suffix.lower()
    try:
        if suffix in TEXT_SUFFIXES:
            yield f"{path}:1", text_article(path, name)
        elif suffix in JSON_SUFFIXES:
            data = path.read_bytes()
            try:
                doc = orjson.loads(data)
            except orjson.JSONDecodeError as exc:
                yield f"{path}:{getattr(exc, 'lineno', 1)}", exc
                return
            if isinstance(doc, list):
                for i, item in enumerate(doc):
                    yield f"{path}[{i}]", item
            else:
                yield f"{path}:1", doc
        else:  # JSONL (also the default for an explicitly named file)
            with open(path, "rb") as stream:
                yield from _iter_jsonl(stream, str(path))
    except UnicodeDecodeError as exc:
        yield f"{path}:1", ValueError(f"not UTF-8: {exc.reason} at byte {exc.start}")
    except OSError as exc:
        yield str(path), ValueError(f"cannot read: {exc.strerror or exc}")


def prepare(sources: Iterable[tuple[str, Any]], *, max_bytes: int, validate: bool = True) -> Iterator[Item | Problem]:
    """Turn sources into sendable items, or problems with ``where`` and ``reason``."""
    from ..core.pipeline import Rejected, decode_story, story_from_document

    now = time.time()
    for where, src in sources:
        if isinstance(src, BaseException):
            reason = "not_json" if isinstance(src, orjson.JSONDecodeError) else "unreadable"
            yield Problem(where, reason, str(src))
            continue
        if isinstance(src, bytes):
            raw = src
            try:
                story = decode_story(raw, max_bytes=max_bytes, arrival=now) if validate else None
            except Rejected as refused:
                yield Problem(where, refused.rejection.reason, refused.rejection.detail)
                continue
            if story is None:  # --raw: best effort key, bytes as they are
                key = _uri_of(raw)
            else:
                key = story.uri
        else:
            raw = orjson.dumps(src)
            try:
                story = story_from_document(src, arrival=now)
            except Rejected as refused:
                yield Problem(where, refused.rejection.reason, refused.rejection.detail)
                continue
            if validate and len(raw) > max_bytes:
                yield Problem(where, "too_large", f"{len(raw)} bytes, over the limit of {max_bytes}")
                continue
            key = story.uri
        yield Item(where, key.encode("utf-8"), raw)


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
