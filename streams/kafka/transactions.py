"""Exactly-once (``WIRESTREAM_PROCESSING_GUARANTEE=exactly_once``): Faust's transaction manager,
made to put each input message's outputs in the transaction that commits its offset.

Faust (faust-streaming 0.15) keeps one transactional producer per assigned partition and commits
a source partition's offsets in *its* transaction, but sends every record in the transaction of
the record's *destination* partition. Outputs of a message read from ``stories[0]`` and keyed to
``enriched[3]`` then sit in partition 3's transaction, which commits only when partition 3 of a
source topic commits — maybe never: a ``read_committed`` reader (the next stage included) waits
forever, and a crash between the two commits loses or repeats outputs.

:class:`SourceTransactions` sends what an agent sends while processing an event in the
transaction of the event's source partition (Kafka Streams does the same: one producer per
task). A commit must not split an event: it closes the gate to *new* events of the partitions
it commits, waits until the events under way are acknowledged (their sends are in the
transaction by then), flushes the producer buffer (table changelog writes), commits, and opens
the gate again. Records sent outside an event (none in the pipeline) keep Faust's choice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import Any

log = logging.getLogger("wirestream")

#: how long a commit waits for the events under way before committing anyway (with a warning)
SETTLE_TIMEOUT = 30.0


def transaction_manager_class(base: Any) -> Any:
    """A subclass of Faust's ``TransactionManager`` ``base`` (see the module docstring)."""
    from faust import current_event

    class SourceTransactions(base):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # transactional id -> offsets of the events under way that have sent something
            self._busy: dict[str, set[int]] = defaultdict(set)
            # transactional id -> set while no commit of it is under way (new events may send)
            self._open: dict[str, asyncio.Event] = {}

        def _tid(self, tp: Any) -> str:
            return f"{self.app.conf.id}-{self.app.assignor.group_for_topic(tp.topic)}-{tp.partition}"

        def _gate(self, tid: str) -> asyncio.Event:
            gate = self._open.get(tid)
            if gate is None:
                gate = self._open[tid] = asyncio.Event()
                gate.set()
            return gate

        async def send(self, topic: str, key: Any, value: Any, partition: Any, timestamp: Any, headers: Any,
                       *, transactional_id: str | None = None) -> Any:
            event = current_event()
            if event is None:  # not on behalf of an input message
                return await super().send(topic, key, value, partition, timestamp, headers,
                                          transactional_id=transactional_id)
            message = event.message
            tid = self._tid(message.tp)
            busy = self._busy[tid]
            if message.offset not in busy:
                await self._gate(tid).wait()  # a commit of this partition is under way
                busy.add(message.offset)
            p = self.consumer.key_partition(topic, key, partition)
            return await self.producer.send(topic, key, value, p, timestamp, headers, transactional_id=tid)

        def settled(self, message: Any) -> None:
            """The consumer acknowledged ``message``: all it sends is sent."""
            busy = self._busy.get(self._tid(message.tp))
            if busy:
                busy.discard(message.offset)

        async def commit(self, offsets: Any, start_new_transaction: bool = True) -> bool:
            tids = {self._tid(tp) for tp in offsets}
            for tid in tids:
                self._gate(tid).clear()
            try:
                deadline = time.monotonic() + SETTLE_TIMEOUT
                while any(self._busy.get(tid) for tid in tids):
                    if time.monotonic() > deadline:
                        log.warning("wirestream: committing with events still under way: %s",
                                    {t: sorted(self._busy[t]) for t in tids if self._busy.get(t)})
                        break
                    await asyncio.sleep(0.002)
                await self.app.producer.flush()  # buffered table changelog writes into the transaction
                return await super().commit(offsets, start_new_transaction=start_new_transaction)
            finally:
                for tid in tids:
                    self._gate(tid).set()

    return SourceTransactions
