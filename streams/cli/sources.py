"""Reading stories from files: the one reader of ``wirestream ingest``, ``replay`` and ``demo --data``.

Accepted inputs (any mix; directories are walked recursively in name order, other files in
them are skipped and counted):

* ``*.jsonl`` / ``*.ndjson``, any explicitly named file of another suffix, and ``-`` (stdin): one
  JSON story per line (plain or ninjs);
* ``*.json``: one story document (plain or IPTC ninjs), or a JSON array of them;
* ``*.txt``: a plain article — the first non-empty line is the headline, the rest the body; its
  uri is ``urn:txt:<path relative to the argument>`` and its ``versioncreated`` the file's
  modification time (a text file carries no date of its own; the time it was written is the
  closest to when the story was filed, and it keeps a replay of a folder deterministic).

:func:`iter_sources` yields ``(where, source)`` — ``where`` is ``file:line`` (``file[i]`` in a JSON
array), ``source`` raw JSON bytes, a decoded document, or an exception for what could not be read;
:func:`read_story` turns a source into a ``Story`` or raises the core's ``Rejected`` with a reason.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from ..core.models import Rejection, Story

JSONL_SUFFIXES = {".jsonl", ".ndjson"}
JSON_SUFFIXES = {".json"}
TEXT_SUFFIXES = {".txt"}
STORY_SUFFIXES = JSONL_SUFFIXES | JSON_SUFFIXES | TEXT_SUFFIXES


class SourceError(ValueError):
    """An input named on the command line cannot be read at all (one line: which and why)."""


def check_paths(paths: Iterable[str]) -> None:
    """Raise :class:`SourceError` for the first argument that does not exist or cannot be read,
    before anything is processed (a typo in a file name should not half-run a command)."""
    for arg in paths:
        if arg == "-":
            continue
        path = Path(arg)
        if not path.exists():
            raise SourceError(f"{arg}: no such file or directory")
        if path.is_file():
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:
                raise SourceError(f"cannot read {arg}: {exc.strerror or exc}") from None


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
                 on_skip: Callable[[str], None] | None = None) -> Iterator[tuple[str, Any]]:
    """``(where, raw JSON bytes | document | exception)`` for every story in the inputs, in order."""
    for arg in paths:
        if arg == "-":
            yield from _iter_jsonl(stdin or sys.stdin.buffer, "<stdin>")
            continue
        root = Path(arg)
        if root.is_dir():
            files = sorted(p for p in root.rglob("*") if p.is_file())
            for path in files:
                if path.suffix.lower() not in STORY_SUFFIXES:
                    if on_skip:
                        on_skip(str(path))
                    continue
                yield from _iter_file(path, path.relative_to(root).as_posix())
        elif root.exists():
            yield from _iter_file(root, root.name)
        else:
            yield str(root), ValueError(f"{arg}: no such file or directory")


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


def read_story(source: Any, *, max_bytes: int, arrival: float) -> Story:
    """A source from :func:`iter_sources` as a ``Story``; ``Rejected`` (with a reason) otherwise.

    Raw lines are decoded as the workers decode messages (size, UTF-8, JSON, schema); documents
    are checked against the schema and, serialized, against the same size limit.
    """
    from ..core.pipeline import Rejected, decode_story, story_from_document

    if isinstance(source, BaseException):
        reason = "not_json" if isinstance(source, orjson.JSONDecodeError) else "unreadable"
        detail = f"not JSON: {source}" if reason == "not_json" else str(source)
        raise Rejected(Rejection(reason, detail))
    if isinstance(source, bytes):
        return decode_story(source, max_bytes=max_bytes, arrival=arrival)
    story = story_from_document(source, arrival=arrival)
    size = len(orjson.dumps(source))
    if size > max_bytes:
        raise Rejected(Rejection("too_large", f"{size} bytes, over the limit of {max_bytes}"))
    return story
