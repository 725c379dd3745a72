"""Faust's aiokafka transport with wirestream's settings and its fixes for rebalance races.

Faust's consumer can process a partition's messages twice after a rebalance (harmless here:
every stage is idempotent) but, in a few races, it can also skip one or stall a partition:

* A message reaching a stream while a rebalance is under way, or fetched before one, is skipped
  by the stream but still *acknowledged*, and its offset may then be committed although it was
  never processed. :meth:`WirestreamConsumer.ack` does not count those acknowledgements; the
  partition is sought back to its committed offset after the rebalance, so the message comes
  again.
* Faust remembers the last offset it read from each partition, drops a message below it and
  takes a jump above it for a gap in the log (offsets to commit over); a rebalance can leave
  that memory stale (it is written after an await that can span the seek back), and then a
  message is dropped, or committed over, unprocessed. Wirestream's input topics are neither
  compacted nor gapped, the client never returns a record twice unless sought back (and a
  redelivery is harmless here), so the consumer keeps no such memory (:class:`_NoReadOffsets`).
* Faust commits past one unacknowledged offset at the head of the acknowledged ones (it takes
  it for a transaction marker), so the stale message above could still be committed over when
  its second delivery is lost too. :meth:`WirestreamConsumer._new_offset` commits nothing past
  an offset whose stale acknowledgement was refused until it is processed again.
* Records fetched by the client but dropped before reaching the stream leave the partition
  stalled. A background task rewinds such a partition to its committed offset (the decision
  is :func:`streams.stalls.stalled_partitions`).

Short fetch waits (see :func:`transport_class`) make these races likelier; the two-worker
integration test kills a worker mid-feed and checks that nothing is lost.
"""

from __future__ import annotations

import logging
from typing import Any

from .stalls import PartitionProgress, stalled_partitions

log = logging.getLogger("wirestream")

# How often the consumer looks for stalled source partitions; more than Faust's commit interval
# (2.8 s), so that a committed offset has had time to catch up with what was processed.
STALL_CHECK_SECONDS = 5.0

__all__ = ["STALL_CHECK_SECONDS", "stream_class", "transport_class"]


def stream_class() -> Any:
    """``faust.Stream`` iterating in Python, so that acknowledgements go through the consumer.

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
            # per partition: the offset a skipped message must be processed again from; later
            # messages are held back (skipped, not committed) until it comes round again
            self._rewind_to: dict[Any, int] = {}
            self._sought: set[Any] = set()

        def holds_back(self, message: Any) -> bool:
            """Whether ``message`` must wait for an earlier, skipped one to come round again."""
            hold = self._rewind_to.get(message.tp)
            return hold is not None and message.offset > hold

        def ack(self, message: Any) -> bool:
            tp, offset = message.tp, message.offset
            generation = getattr(message, "generation_id", None)
            stale = generation is not None and generation != self.app.consumer_generation_id
            skipped = stale or not self.app.flow_control.is_active()
            if skipped or self.holds_back(message):
                # skipped by the stream (fetched before a rebalance, or met while one is under
                # way) or held back: settled, but not processed, so not committable
                with ack_lock:
                    message.acked = True
                    self._unacked_messages.discard(message)
                    committed = self._committed_offset[tp]
                    hold = self._rewind_to.get(tp)
                    if skipped and (committed is None or offset >= committed) and (hold is None or offset < hold):
                        self._rewind_to[tp] = offset
                        self._sought.discard(tp)
                return False
            if self._rewind_to.get(tp) == offset:
                del self._rewind_to[tp]
            return super().ack(message)

        def _new_offset(self, tp: Any) -> int | None:
            if tp in self._rewind_to:
                return None  # commit once the skipped message was processed
            return super()._new_offset(tp)

        async def on_partitions_revoked(self, revoked: Any) -> None:
            for tp in revoked:  # whoever gets them next starts from the committed offset
                self._rewind_to.pop(tp, None)
                self._sought.discard(tp)
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
                    log.info("wirestream: %s[%d] skipped offset %d in a rebalance; reading again from it",
                             tp.topic, tp.partition, offset)
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
                    progress[tp] = PartitionProgress(position, self._committed_offset.get(tp),
                                                     tp.topic in busy)
                return progress
            except Exception:  # not started, mid-rebalance, or a client without these internals
                return None

    class Transport(fa.Transport):
        Consumer = WirestreamConsumer

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
