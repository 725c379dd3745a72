"""Give the C allocator's freed memory back to the system on a timer (glibc ``malloc_trim``).

The worker rewrites big values whole on every story (an event's record and first results, each
message's bytes and decoded dict: KBs to 100s of KB, above pymalloc's 512-byte objects, so
glibc's malloc). glibc returns freed memory to the system only from the top of a heap; freed
chunks below a live one stay resident, so RSS rises in steps after each peak and never comes
back although the Python objects do not grow (bench/README.md "Bounded state").
``malloc_trim(0)`` releases the free pages inside every arena (madvise), not only the top.

:class:`MallocTrim` calls it from a worker timer every ``WIRESTREAM_MALLOC_TRIM_SECONDS``.
Where the C library has no ``malloc_trim`` (musl, macOS, Windows) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("wirestream")


def libc_malloc_trim() -> Callable[[], int] | None:
    """glibc's ``malloc_trim(0)`` as a function returning 1 if memory was released, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # no libc by that name, or not glibc (musl has no malloc_trim)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int

    def malloc_trim() -> int:
        return int(trim(0))

    return malloc_trim


@dataclass
class MallocTrim:
    """``tick()`` on a timer: ``trim`` (default: glibc's ``malloc_trim(0)``; None: nothing)."""

    trim: Callable[[], int] | None = field(default_factory=libc_malloc_trim)
    ticks: int = field(default=0, init=False)
    seconds: float = field(default=0.0, init=False)  # spent trimming, in all

    @property
    def available(self) -> bool:
        return self.trim is not None

    def tick(self) -> bool:
        """Trim once; True if the allocator released memory."""
        if self.trim is None:
            return False
        start = time.perf_counter()
        released = bool(self.trim())
        spent = time.perf_counter() - start
        self.ticks += 1
        self.seconds += spent
        log.debug("wirestream: malloc_trim: %s, %.1f ms", "released memory" if released else "nothing", 1000 * spent)
        return released
