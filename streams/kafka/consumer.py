"""Faust's aiokafka transport with wirestream's settings and its fixes for rebalance races.

Faust's consumer can process a partition's messages twice after a rebalance (harmless here:
every stage is idempotent) but, in a few races, it can also skip one or stall a partition:

* A message reaching a stream while a rebalance is under way, or fetched before one, is skipped
  by the stream but still *acknowledged*, and its offset may then be committed although it was
  never processed. :meth:`WirestreamConsumer.ack` does not count those acknowledgements and
  reads the partition again from the skipped offset.
* Faust remembers the last offset it read from each partition, drops a message below it and
  takes a jump above it for a gap in the log (offsets to commit over); a rebalance can leave
  that memory stale (it is written after an await that can span the seek back), and then a
  message is dropped, or committed over, unprocessed. This consumer keeps no such memory
  (:class:`_NoReadOffsets`); it learns the log's real gaps (compaction, transaction markers)
  from the client's fetches instead.
* Records fetched but dropped before reaching the stream leave a hole. Each partition is
  processed in order: a message after a hole is held back (skipped, not committed) and the
  partition is read again from the hole (:meth:`WirestreamConsumer.holds_back`).
* Faust commits past one unacknowledged offset at the head of the acknowledged ones (it takes
  it for a transaction marker). :meth:`WirestreamConsumer._new_offset` commits past a head
  offset only when the fetches showed it is not in the log.
* As a last resort, a background task rewinds a partition that stays stalled to its committed
  offset (the decision is :func:`streams.kafka.stalls.stalled_partitions`).

Short fetch waits (see :func:`transport_class`) make these races likelier; the two-worker
integration test kills a worker mid-feed and checks that nothing is lost.
"""

from __future__ import annotations

import logging
from typing import Any

from .stalls import PartitionProgress, stalled_partitions
from .transactions import transaction_manager_class

log = logging.getLogger("wirestream")

# How often the consumer looks for stalled source partitions; more than Faust's commit interval
# (2.8 s), so that a committed offset has had time to catch up with what was processed.
STALL_CHECK_SECONDS = 5.0

__all__ = ["STALL_CHECK_SECONDS", "stream_class", "transport_class"]


def stream_class() -> Any:
    """``faust.Stream`` iterating in Python, so that acknowledgements go through the consumer,
    and skipping (holding back) a message the consumer wants to read again in order.

    Faust's compiled stream iterator inlines ``Consumer.ack``; the Python one calls it, which is
    where :class:`WirestreamConsumer` refuses stale acknowledgements. The cost is microseconds a
    message against milliseconds of processing.
    """
    import faust

    from faust.exceptions import Skip

    class WirestreamStream(faust.Stream):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if self._hold_back not in self._processors:
                self.add_processor(self._hold_back)

        def _hold_back(self, value: Any) -> Any:
            event = self.current_event
            holds_back = getattr(self.app.consumer, "holds_back", None)
            if event is not None and holds_back is not None and holds_back(event.message):
                raise Skip()
            return value

        def __aiter__(self) -> Any:
            iterator = self._py_aiter()
            self._active_agens.add(iterator)
            return iterator

    return WirestreamStream


def transport_class(fetch_max_wait_ms: int) -> Any:
    """Faust's aiokafka transport with the consumer's fetch wait as a setting, and the fixes above.

    Faust hard-codes ``fetch_max_wait_ms=1500`` for the worker's consumer. A fetch is answered
    after that wait when no data arrives sooner, and some brokers (Tansu) hold it for the full
    wait even when data does arrive: with three hops that is seconds per story at low load.
    """
    from faust.transport.drivers import aiokafka as fa
    from faust.types.tuples import ack_lock
    from mode import Service

    class ConsumerThread(fa.AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport: Any) -> Any:
            consumer = super()._create_worker_consumer(transport)
            consumer._fetch_max_wait_ms = fetch_max_wait_ms  # read by AIOKafkaConsumer.start()
            return consumer

    class WirestreamConsumer(fa.Consumer):
        def _new_consumer_thread(self) -> Any:
            return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

        def __post_init__(self) -> None:
            super().__post_init__()
            self._read_offset = _NoReadOffsets()
            # per partition: the next offset to process, in order (set by seeks and processing)
            self._next: dict[Any, int] = {}
            # per partition: the offset a skipped or missing message must be read again from;
            # later messages are held back (skipped, not committed) until it comes round
            self._rewind_to: dict[Any, int] = {}
            self._sought: set[Any] = set()
            # per partition: where the client's fetches have got to, and the gaps they showed in
            # the log (start -> end: compaction, transaction markers), which are no holes
            self._fetched_to: dict[Any, int] = {}
            self._log_gaps: dict[Any, dict[int, int]] = {}

        def holds_back(self, message: Any) -> bool:
            """Whether ``message`` must wait for an earlier one to be read (again) first."""
            tp, offset = message.tp, message.offset
            hold = self._rewind_to.get(tp)
            if hold is not None:
                if offset <= hold or not self._log_gap(tp, hold, offset):
                    if offset > hold:
                        return True
                    if offset == hold:  # reached: the partition is read in order again
                        del self._rewind_to[tp]
                    self._taken(tp, offset)
                    return False
                # the fetches showed nothing is in the log from ``hold`` up to here (an aborted
                # transaction, a transaction marker, compaction): the offset waited for never comes
                del self._rewind_to[tp]
            expected = self._next.get(tp)
            if expected is None or offset <= expected or self._log_gap(tp, expected, offset):
                self._taken(tp, offset)
                return False
            log.info("wirestream: %s[%d] got offset %d before %d; reading again from %d",
                     tp.topic, tp.partition, offset, expected, expected)
            self._rewind(tp, expected)
            return True

        def _taken(self, tp: Any, offset: int) -> None:
            # The stream hands the message on: the next one expected is after it, whether or not
            # it was acknowledged yet (the event stage acknowledges a story once its outputs were,
            # after it took the next ones: streams/runtime/agents.py).
            self._next[tp] = max(self._next.get(tp, offset + 1), offset + 1)

        def _rewind(self, tp: Any, offset: int) -> None:
            self._rewind_to[tp] = offset
            self._sought.discard(tp)

        def _log_gap(self, tp: Any, start: int, end: int) -> bool:
            gaps = self._log_gaps.get(tp, {})
            while start < end:
                if start not in gaps:
                    return False
                start = gaps[start]
            return True

        def ack(self, message: Any) -> bool:
            tp, offset = message.tp, message.offset
            transactions = getattr(self, "transactions", None)  # exactly-once only
            if transactions is not None and hasattr(transactions, "settled"):
                transactions.settled(message)
            generation = getattr(message, "generation_id", None)
            stale = generation is not None and generation != self.app.consumer_generation_id
            skipped = stale or not self.app.flow_control.is_active()
            hold = self._rewind_to.get(tp)
            if skipped or (hold is not None and offset > hold):
                # skipped by the stream (fetched before a rebalance, or met while one is under
                # way) or held back: settled, but not processed, so not committable
                with ack_lock:
                    message.acked = True
                    self._unacked_messages.discard(message)
                    committed = self._committed_offset[tp]
                    if skipped and (committed is None or offset >= committed) and (hold is None or offset < hold):
                        self._rewind(tp, offset)
                return False
            if hold == offset:
                del self._rewind_to[tp]
            self._next[tp] = max(self._next.get(tp, offset + 1), offset + 1)
            return super().ack(message)

        async def force_commit(self, topics: Any = None, start_new_transaction: bool = True) -> bool:
            transactions = getattr(self, "transactions", None)  # exactly-once only
            if transactions is None or not hasattr(transactions, "settled_events"):
                return await super().force_commit(topics, start_new_transaction=start_new_transaction)
            async with transactions.settled_events():  # see streams/kafka/transactions.py
                return await super().force_commit(topics, start_new_transaction=start_new_transaction)

        async def _getmany(self, active_partitions: Any, timeout: float) -> Any:
            records = await super()._getmany(active_partitions, timeout)
            for tp, batch in (records or {}).items():
                reached = self._fetched_to.get(tp)
                for record in batch:
                    if reached is not None and record.offset > reached:
                        self._log_gaps.setdefault(tp, {})[reached] = record.offset
                    reached = record.offset + 1
                if reached is not None:
                    self._fetched_to[tp] = reached
            return records

        def _sought_to(self, tp: Any, offset: int | None) -> None:
            self._fetched_to.pop(tp, None)
            self._next.pop(tp, None)
            if offset is not None:
                self._fetched_to[tp] = self._next[tp] = offset

        async def perform_seek(self) -> None:
            await super().perform_seek()
            for tp in list(self._next) + list(self._fetched_to):
                self._sought_to(tp, None)
            acking = self.app.topics.acks_enabled_for
            for tp in self.assignment():
                if acking(tp.topic):  # never committed: from the start (a gap up to the log's)
                    self._sought_to(tp, self._committed_offset.get(tp) or 0)

        async def seek_to_beginning(self, *partitions: Any) -> None:
            for tp in partitions:
                self._sought_to(tp, 0)
            # Faust's thread-delegating consumer declares this but never implements it
            await self._thread.seek_to_beginning(*partitions)

        async def seek_wait(self, partitions: Any) -> None:
            for tp, offset in partitions.items():
                self._sought_to(tp, offset)
            await super().seek_wait(partitions)

        def _new_offset(self, tp: Any) -> int | None:
            if tp in self._rewind_to:
                return None  # commit once the skipped message was processed
            committed = self._committed_offset[tp]
            acked = self._acked[tp]
            if committed is not None and acked:
                first = min(acked)
                if first > committed:
                    if not self._log_gap(tp, committed, first):
                        return None  # not processed yet: never commit over it
                    hole = range(committed, first)  # not in the log
                    acked.extend(hole)
                    self._acked_index[tp].update(hole)
                gaps = self._log_gaps.get(tp)
                for start in [g for g in gaps or () if g < committed]:
                    del gaps[start]
            return super()._new_offset(tp)

        async def on_partitions_revoked(self, revoked: Any) -> None:
            for tp in revoked:  # whoever gets them next starts from the committed offset
                self._rewind_to.pop(tp, None)
                self._sought.discard(tp)
                self._sought_to(tp, None)
                self._log_gaps.pop(tp, None)
            await super().on_partitions_revoked(revoked)

        @Service.task
        async def _seek_back_to_skipped(self) -> None:
            while not self.should_stop:
                await self.sleep(0.1)
                if not self.flow_active or self.app.rebalancing or not self.app.flow_control.is_active():
                    continue
                for tp, offset in list(self._rewind_to.items()):
                    if tp in self._sought:
                        continue
                    self._sought.add(tp)
                    log.info("wirestream: %s[%d] reading again from offset %d", tp.topic, tp.partition, offset)
                    try:
                        await self.seek_wait({tp: offset})
                    except Exception as exc:  # e.g. revoked meanwhile
                        log.warning("wirestream: could not seek %s[%d]: %r", tp.topic, tp.partition, exc)

        @Service.task
        async def _rewind_stalled_partitions(self) -> None:
            before: dict[Any, PartitionProgress] = {}
            while not self.should_stop:
                await self.sleep(STALL_CHECK_SECONDS)
                now = self._progress() if self.flow_active and not self.app.rebalancing else None
                stalled = stalled_partitions(before, now) if now else {}
                before = now or {}
                for tp, offset in stalled.items():
                    log.warning("wirestream: %s[%d] stalled at position %s with %s committed; "
                                "rewinding to %s", tp.topic, tp.partition, now[tp].position,
                                now[tp].committed, "the beginning" if offset is None else offset)
                    try:
                        if offset is None:
                            await self.seek_to_beginning(tp)
                        else:
                            await self.seek_wait({tp: offset})
                    except Exception as exc:  # e.g. revoked meanwhile; the next round looks again
                        log.warning("wirestream: could not rewind %s[%d]: %r", tp.topic, tp.partition, exc)
                    before = {}  # a seek moves things: start the comparison afresh

        def _progress(self) -> dict[Any, PartitionProgress] | None:
            """The agents' source partitions as this consumer sees them (None: not available)."""
            try:
                client = self._thread._ensure_consumer()
                assignment = client._subscription.subscription.assignment
                acking = self.app.topics.acks_enabled_for
                generation = self.app.consumer_generation_id
                busy = {m.tp.topic for m in list(self._unacked_messages)
                        if getattr(m, "generation_id", generation) == generation}
                progress = {}
                for tp in list(assignment.tps):
                    if not acking(tp.topic):
                        continue
                    state = assignment.state_value(tp)
                    position = state.position if state.has_valid_position else None
                    fetched = self._fetched_to.get(tp)
                    if self.in_transaction and position is not None and fetched is not None and fetched < position:
                        # the client stepped over records it never returned: transaction markers
                        # and aborted records (read_committed), nothing to process
                        position = fetched
                    progress[tp] = PartitionProgress(position, self._committed_offset.get(tp),
                                                     tp.topic in busy, self._next.get(tp))
                return progress
            except Exception:  # not started, mid-rebalance, or a client without these internals
                return None

    class Transport(fa.Transport):
        Consumer = WirestreamConsumer
        TransactionManager = transaction_manager_class(fa.Transport.TransactionManager)

    return Transport



class _NoReadOffsets(dict):
    """Faust's per-partition "last read offset", always unknown (see the module docstring)."""

    def __getitem__(self, key: Any) -> None:
        return None

    def get(self, key: Any, default: Any = None) -> Any:
        return default

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def update(self, *args: Any, **kwargs: Any) -> None:
        pass
