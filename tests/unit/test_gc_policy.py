"""GcPolicy: young passes + freeze on every tick, a real full pass on the first tick and every full_seconds."""

import gc
import weakref

from streams.runtime.gc_policy import GcPolicy


class _Node:
    def __init__(self) -> None:
        self.other: object = None


def test_full_pass_first_then_freezes_then_full_again_when_due():
    now = [1000.0]
    policy = GcPolicy(freeze_seconds=10, full_seconds=60, clock=lambda: now[0])
    try:
        assert policy.tick() == "full"
        assert gc.get_freeze_count() > 0
        now[0] += 10
        assert policy.tick() == "freeze"
        now[0] += 49.9
        assert policy.tick() == "freeze"
        now[0] += 0.2
        assert policy.tick() == "full"
    finally:
        gc.unfreeze()


def test_cycle_frozen_alive_then_dropped_is_collected_by_the_next_full_pass():
    now = [0.0]
    policy = GcPolicy(freeze_seconds=10, full_seconds=60, clock=lambda: now[0])
    try:
        policy.tick()
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        probe = weakref.ref(a)
        now[0] += 10
        policy.tick()  # the live cycle is frozen
        del a, b
        gc.collect()
        assert probe() is not None  # frozen: ordinary passes leave it
        now[0] += 60
        assert policy.tick() == "full"
        assert probe() is None
    finally:
        gc.unfreeze()


def test_young_garbage_is_not_frozen():
    now = [0.0]
    policy = GcPolicy(freeze_seconds=10, full_seconds=60, clock=lambda: now[0])
    try:
        policy.tick()
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        probe = weakref.ref(a)
        del a, b  # garbage before the tick: its young pass collects it
        now[0] += 10
        policy.tick()
        assert probe() is None
    finally:
        gc.unfreeze()
