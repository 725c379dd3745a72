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
task). A commit must not split an event (outputs in the transaction, offset not): the consumer
commits inside :meth:`settled_events`, which keeps new events from sending and waits until the
events under way are acknowledged, so the offsets Faust then computes cover every output sent;
the commit flushes the producer buffer (table changelog writes) into the transactions first.

Known gap: Faust's committable offset of a partition can lag behind the events that sent into
the transaction (it stops at an offset it cannot account for, e.g. a transaction marker it did
not see as a gap). The transaction then commits outputs whose input is read again after a crash:
with three kills, every alert still came out exactly once (the event's state commits with it, so
the replay is recognised), but some clustered records came out twice. Each such commit is logged
("exactly-once: transaction … commits outputs of …"). Records sent outside an event (none in the pipeline) keep Faust's choice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
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
            # (partition, offset) of the events under way that have sent something
            self._busy: set[tuple[Any, int]] = set()
            # transactional id -> source partition -> highest offset that sent into the open transaction
            self._sent: dict[str, dict[Any, int]] = {}
            # set while no commit is under way: new events may send
            self._open = asyncio.Event()
            self._open.set()

        def _tid(self, tp: Any) -> str:
            return f"{self.app.conf.id}-{self.app.assignor.group_for_topic(tp.topic)}-{tp.partition}"

        async def send(self, topic: str, key: Any, value: Any, partition: Any, timestamp: Any, headers: Any,
                       *, transactional_id: str | None = None) -> Any:
            event = current_event()
            if event is None:  # not on behalf of an input message
                return await super().send(topic, key, value, partition, timestamp, headers,
                                          transactional_id=transactional_id)
            message = event.message
            if (message.tp, message.offset) not in self._busy:
                await self._open.wait()  # a commit is under way
                self._busy.add((message.tp, message.offset))
            tid = self._tid(message.tp)
            sent = self._sent.setdefault(tid, {})
            sent[message.tp] = max(sent.get(message.tp, -1), message.offset)
            p = self.consumer.key_partition(topic, key, partition)
            return await self.producer.send(topic, key, value, p, timestamp, headers, transactional_id=tid)

        def settled(self, message: Any) -> None:
            """The consumer acknowledged ``message``: all it sends is sent."""
            self._busy.discard((message.tp, message.offset))

        @contextlib.asynccontextmanager
        async def settled_events(self) -> Any:
            """While held, no event starts sending, and those under way have been acknowledged:
            the consumer commits inside it, so the offsets it computes cover every output in the
            transactions it commits."""
            self._open.clear()
            try:
                deadline = time.monotonic() + SETTLE_TIMEOUT
                while self._busy:
                    if time.monotonic() > deadline:
                        log.warning("wirestream: committing with %d events still under way", len(self._busy))
                        break
                    await asyncio.sleep(0.002)
                yield
            finally:
                self._open.set()

        async def commit(self, offsets: Any, start_new_transaction: bool = True) -> bool:
            await self.app.producer.flush()  # buffered table changelog writes into the transactions
            tids = {self._tid(tp) for tp in offsets}
            for tid in tids:
                for tp, last in (self._sent.pop(tid, None) or {}).items():
                    if offsets.get(tp) is None or offsets[tp] <= last:
                        # a crash before the next commit replays these inputs; the event stage, whose state committed with the outputs, sends nothing for them again
                        log.warning("wirestream: exactly-once: transaction %s commits outputs of %s[%d]@%d "
                                    "but the offset only up to %s", tid, tp.topic, tp.partition, last,
                                    offsets.get(tp))
            return await super().commit(offsets, start_new_transaction=start_new_transaction)

    return SourceTransactions
