"""Finding source partitions the Faust consumer has stopped delivering (and where to rewind them).

Faust's consumer can lose the records of one fetch when a rebalance races with it: the Kafka
client's position has moved past them, Faust never handed them to the stream, and nothing was
acknowledged, so nothing is lost for good, but the partition stalls until the next restart or
rebalance. The symptom is plain to see from outside: the agent reading the topic is idle, the
client's position is ahead of the committed offset, and none of the three numbers moves. The
remedy is the one Faust itself uses after a rebalance: seek back to the committed offset (the
stages are idempotent, so a redelivered message is harmless).

:func:`stalled_partitions` is the decision, a pure function of two snapshots taken some seconds
apart; the consumer in :mod:`streams.runtime.app` takes the snapshots and seeks.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

TP = TypeVar("TP", bound=Hashable)

__all__ = ["PartitionProgress", "stalled_partitions"]


@dataclass(frozen=True)
class PartitionProgress:
    """One source partition as the consumer sees it at one moment."""

    position: int | None  # the client's next fetch offset
    committed: int | None  # the last committed offset (next to process); None: never committed
    busy: bool  # the agent reading this topic has unacknowledged messages in hand
    # the offset after the last message the stream handed on (None: not known, e.g. since a seek)
    handed_on: int | None = None


def stalled_partitions(before: Mapping[TP, PartitionProgress],
                       now: Mapping[TP, PartitionProgress]) -> dict[TP, int | None]:
    """The partitions stalled across both snapshots, with the offset to rewind each to.

    Stalled means: nothing moved between the two snapshots, the agent was idle at both, and the
    client had fetched past what was committed and past what the stream handed on. The rewind
    offset is the committed offset, or ``None`` (the partition's beginning) when nothing was ever
    committed.

    Fetched past the commit alone is no stall: everything fetched may have been processed with
    its commit still to come — a commit waits for the producer to drain the table changelog
    writes, seconds at full speed. Rewinding then had the worker process hundreds of stories a
    second time (bench/README.md "The event stage's acknowledgement wait").
    """
    stalled: dict[TP, int | None] = {}
    for tp, progress in now.items():
        earlier = before.get(tp)
        if earlier is None or earlier != progress or progress.busy:
            continue
        if progress.position is None:
            continue
        if progress.committed is not None and progress.position <= progress.committed:
            continue  # everything fetched was processed and committed
        if progress.committed is None and progress.position == 0:
            continue
        if progress.handed_on is not None and progress.handed_on >= progress.position:
            continue  # all fetched was handed on: the commit is what is late
        stalled[tp] = progress.committed
    return stalled
