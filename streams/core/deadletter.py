"""The dead-letter record for an input wirestream refused (``schemas/dead-letter.schema.json``)."""

from __future__ import annotations

import base64
import time
from typing import Any

from .models import Rejection


def _rfc3339(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1000):03d}Z"


def _text_or_base64(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def dead_letter_record(
    key: bytes | None,
    value: bytes | None,
    rejection: Rejection,
    *,
    topic: str,
    partition: int | None,
    offset: int | None,
    max_bytes: int,
    now: float | None = None,
    stage: str = "decode",
    original: bool = True,
) -> dict[str, Any]:
    """The dead-letter value (``schemas/dead-letter.schema.json``).

    The original value is kept whole — UTF-8 text, or base64 when it is not UTF-8 — except for
    a ``too_large`` message, of which the first ``max_bytes`` are kept (``truncated``, ``size``)
    so that a dead letter is never much larger than the limit it broke. ``stage`` is the stage
    that gave up on it; ``original`` is False only when a later stage failed and the original
    record could not be read back: the value is then the stage's internal message, and
    topic/partition/offset still name the original.
    """
    raw = value or b""
    size = len(raw)
    truncated = rejection.reason == "too_large" and size > max_bytes
    if truncated:
        raw = raw[:max_bytes]
        try:  # do not let the cut turn UTF-8 text into "not UTF-8"
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start >= len(raw) - 3:
                raw = raw[: exc.start]
    text, encoding = _text_or_base64(raw)
    key_text, key_encoding = (None, None) if key is None else _text_or_base64(key)
    return {
        "reason": rejection.reason,
        "detail": rejection.detail,
        "field": rejection.field,
        "key": key_text,
        "key_encoding": key_encoding,
        "value": text,
        "encoding": encoding,
        "size": size,
        "truncated": truncated,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "time": _rfc3339(time.time() if now is None else now),
        "stage": stage,
        "original": original,
    }
