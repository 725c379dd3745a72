"""Keep the cyclic garbage collector's full passes off the worker's long-lived state.

A worker holds its tables (clustering profiles, idempotency and uri records, event states) in
memory: hundreds of thousands of containers that live for days. CPython's collector walks
every tracked object on each full (generation 2) pass, and those passes come more rarely but
take longer as the state grows: 100–940 ms each in ``bench/pipeline.py`` (logged with
``gc.callbacks``), every story in flight waiting meanwhile — most of the produce → alert p99
at 50 stories/s. The state makes no garbage cycles that need the collector (those passes
collected nothing).

:class:`GcPolicy` moves what is alive to the permanent generation (``gc.freeze``) every
``freeze_seconds``, after a young collection (so that young garbage is not frozen), so later
passes only walk what was allocated since. Cyclic garbage that forms among frozen objects (a
message's futures promoted while in flight, then dropped) is kept until the next full pass,
which runs every ``full_seconds``: unfreeze, collect everything, freeze again — one pause per
period instead of one every few seconds. Its duration and what it collected are logged.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("wirestream")


@dataclass
class GcPolicy:
    """``tick()`` on a timer: freezes (young pass + ``gc.freeze``) or, when due, a full pass."""

    freeze_seconds: float
    full_seconds: float
    clock: Callable[[], float] = time.monotonic
    _last_full: float | None = field(default=None, init=False)

    def tick(self) -> str:
        """What ran: "full" (unfreeze, collect all, freeze: the first tick, then every
        ``full_seconds``) or "freeze" (young pass, freeze)."""
        if self._last_full is None or self.clock() - self._last_full >= self.full_seconds:
            self.full()
            return "full"
        gc.collect(1)
        gc.freeze()
        return "freeze"

    def full(self) -> int:
        start = time.perf_counter()
        gc.unfreeze()
        collected = gc.collect()
        gc.freeze()
        self._last_full = self.clock()
        log.info("wirestream: full garbage collection: %d objects collected, %.0f ms, %d objects kept",
                 collected, 1000 * (time.perf_counter() - start), gc.get_freeze_count())
        return collected
