"""The Faust agents: decode, call the core, send. No decisions are made here.

    wire.stories ─► decode ─► wire.enriched (key shard) ─► cluster ─► wire.assigned (key event id)
                      │                                                   │
                      └► wire.dead-letter                                 ▼
                                      event ─► wire.stories.clustered, wire.events, wire.story-updates
                                                                                      │
                                   webhooks (WebhookDispatcher.submit) ◄──────────────┘ ─► wire.webhook-dead-letter

* ``decode`` is stateless and runs over every partition of the input.
* ``cluster`` runs :class:`ClusterStage` over profiles / assignments / uri_events, kept in one
  journaled table so a story's writes survive a crash all or not at all; its input is keyed by
  shard so each shard's state lives on one partition (and worker).
* ``event`` runs :class:`EventStage` over the events table (through a write-behind overlay:
  outputs are acknowledged by the broker before the state change is written, so a crash can
  only cause a redelivery with the same ``alert_id``, never a lost alert).

* ``webhooks`` hands each alert to the :class:`~streams.runtime.delivery.WebhookDispatcher` (which
  never waits for HTTP: every endpoint has its own queue), so a slow or dead endpoint never
  holds up this agent, the others, or the pipeline.

A message the core refuses goes to the dead-letter topic; an unexpected error in a stage is
logged and dead-lettered too, and the agent goes on with the next message. A dead letter always
holds what arrived on ``wire.stories``: a later stage reads the original record back by the
coordinates its message carries (``EnrichedStory.origin``, :mod:`streams.kafka.fetch`).
The cluster stage also sends the event stage the events whose last uri expired
(:class:`~streams.core.pipeline.Expiry`, on ``wire.assigned`` keyed by event id). Every stage counts
stories in and out and times its core call (:class:`streams.runtime.metrics.Metrics`).
"""

from __future__ import annotations

import logging
import traceback
import weakref
from collections import deque
from dataclasses import replace
from time import perf_counter
from typing import Any

from ..core.deadletter import dead_letter_record
from ..core.models import AssignedStory, EnrichedStory, Rejection
from ..core.pipeline import Expiry, Rejected, decode_story, enrich
from ..kafka.fetch import fetch_record
from .metrics import Metrics

# What a value that cannot be serialized raises at send (orjson: TypeError subclasses; an int out
# of 64-bit range): the message is dead-lettered instead of the agent crashing.
_UNSENDABLE = (TypeError, ValueError, OverflowError)

log = logging.getLogger("wirestream.agents")

def _internal_error(stage: str, exc: BaseException) -> Rejection:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno}" if last else ""
    return Rejection("internal", f"{stage}: {type(exc).__name__}: {exc}{where}")


def register_agents(app: Any, wiring: Any) -> dict[str, Any]:
    """Define the agents on ``app`` (``webhooks`` only when endpoints are configured)."""
    settings = wiring.settings
    metrics: Metrics = getattr(wiring, "metrics", None) or Metrics()
    topics = wiring.topics
    max_bytes = settings.max_message_bytes
    shard_by = settings.shard_by
    limits = settings.work_limits

    def as_bytes(value: Any) -> bytes | None:
        if value is None or isinstance(value, bytes):
            return value
        return str(value).encode("utf-8")

    async def dead_letter(message: Any, rejection: Rejection, value: bytes | None = None, *,
                          stage: str = "decode", origin: Any = None) -> None:
        """Dead-letter what arrived on wire.stories: ``message`` itself (decode stage), or the
        record at ``origin`` read back (later stages; their message only when it is gone)."""
        raw_key = as_bytes(message.key)
        raw_value = as_bytes(message.value if value is None else value)
        where = (message.topic, message.partition, message.offset)
        original = stage == "decode"
        if not original:
            try:
                try:
                    origin_at = (str(origin[0]), int(origin[1]), int(origin[2]))
                except (TypeError, ValueError, IndexError, KeyError):
                    raise LookupError("the message does not say where the story arrived") from None
                where = origin_at
                raw_key, raw_value = await fetch_record(settings, *where)
                original = True
            except LookupError as exc:
                rejection = Rejection(rejection.reason, f"{rejection.detail} (original not readable: {exc}; "
                                      "value is the internal message)", rejection.field)
        record = dead_letter_record(
            raw_key, raw_value, rejection,
            topic=where[0], partition=where[1], offset=where[2], max_bytes=max_bytes, stage=stage, original=original,
        )
        await topics.dead_letter.send(key=raw_key, value=record)
        metrics.dead_letter(rejection.reason)

    def origin_of(value: Any) -> Any:
        """The original coordinates in an internal message (``enriched.origin``), if it has them."""
        if isinstance(value, dict):
            inner = value.get("enriched", value)
            if isinstance(inner, dict):
                return inner.get("origin")
        return None

    async def stage_failed(stage: str, event: Any, exc: BaseException, doing: str) -> None:
        """Log a stage's unexpected error (with its traceback) and dead-letter the original story."""
        message = event.message
        log.error("%s stage %s %s[%s]@%s", stage, doing, message.topic, message.partition, message.offset,
                  exc_info=exc)
        await dead_letter(message, _internal_error(stage, exc), stage=stage, origin=origin_of(event.value))

    # ------------------------------------------------------------------ stage 1: decode
    @app.agent(topics.stories, name="wirestream.decode")
    async def decode(stream: Any) -> Any:
        async for event in stream.events():
            message = event.message
            metrics.story_in("decode")
            start = perf_counter()
            try:
                story = decode_story(message.value or b"", max_bytes=max_bytes, arrival=message.timestamp)
                enriched = replace(enrich(story, shard_by, limits),
                                   origin=(message.topic, message.partition, message.offset))
            except Rejected as refused:
                metrics.observe_processing("decode", perf_counter() - start)
                await dead_letter(message, refused.rejection)
                continue
            except Exception as exc:  # a bug in the core must not stop the stream
                log.exception("decode stage failed on %s[%s]@%s", message.topic, message.partition, message.offset)
                await dead_letter(message, _internal_error("decode", exc))
                continue
            metrics.observe_processing("decode", perf_counter() - start)
            # without the raw body: cluster and event work on the normalized sentences (the
            # message is ~half the size, for the broker and both later hops)
            try:
                await topics.enriched.send(key=enriched.shard, value=enriched.to_dict(body=False))
            except _UNSENDABLE as exc:
                log.exception("decode stage cannot send %s[%s]@%s", message.topic, message.partition, message.offset)
                await dead_letter(message, _internal_error("decode", exc))
                continue
            metrics.story_out("decode")

    # ------------------------------------------------------------------ stage 2: cluster
    cluster_stage = wiring.cluster_stage
    cluster_state = wiring.cluster_state

    @app.agent(topics.enriched, name="wirestream.cluster")
    async def cluster(stream: Any) -> Any:
        async for event in stream.events():
            cluster_state.discard()
            metrics.story_in("cluster")
            start = perf_counter()
            try:
                enriched = EnrichedStory.from_dict(event.value)
                if cluster_state.needs_replay(enriched.shard):
                    # first story of this shard since recovery: finish a step a crash cut short
                    if cluster_state.replay(enriched.shard):
                        cluster_stage.rebuild()
                assignment = cluster_stage.process(enriched)
                expired = list(cluster_stage.expired)
                cluster_state.commit(enriched.shard)
            except Exception as exc:
                cluster_state.discard()
                cluster_stage.rebuild()  # its index may hold the discarded writes
                await stage_failed("cluster", event, exc, "failed on")
                continue
            metrics.observe_processing("cluster", perf_counter() - start)
            for expiry in expired:  # events no uri leads to any more: their state can go
                await topics.assigned.send(key=expiry.event_id, value=expiry.to_dict())
            assigned = AssignedStory(enriched, assignment)
            try:
                await topics.assigned.send(key=assignment.event_id, value=assigned.to_dict())
            except _UNSENDABLE as exc:
                await stage_failed("cluster", event, exc, "cannot send")
                continue
            metrics.story_out("cluster")

    # ------------------------------------------------------------------ stage 3: event
    event_stage = wiring.event_stage
    overlay = wiring.events_overlay
    # Stories whose outputs may still be on their way while the stage goes on (see Settings.
    # event_in_flight): with exactly-once the outputs commit with the state, one story at a time.
    in_flight_max = settings.event_in_flight if settings.processing_guarantee != "exactly_once" else 1

    from faust.streams import _current_event

    @app.agent(topics.assigned, name="wirestream.event")
    async def event_state(stream: Any) -> Any:
        # Each story's outputs must be acknowledged by the broker before its state is written
        # (WriteBehind), and its input acknowledged (committable) only after that. The stage does
        # not wait for that before the next story while more are queued: a story's writes are set
        # aside (overlay.take; later stories read them) with its send futures, and settled in
        # order — futures awaited, writes applied, input acknowledged — once acknowledged, and all
        # of them whenever the queue runs dry or in_flight_max are out.
        events = stream.noack()
        in_flight: deque[tuple[list[Any], dict[Any, Any], Any, Any]] = deque()

        def queued() -> bool:
            queue = getattr(events.channel, "queue", None)
            return queue is not None and not queue.empty()

        async def settle(everything: bool) -> None:
            while in_flight and (everything or all(fut.done() for fut in in_flight[0][0])):
                pending, writes, source, result = in_flight[0]
                for fut in pending:  # acknowledged by the broker before the state is written
                    await fut
                in_flight.popleft()
                # a table write goes to the changelog partition of the stream's current event:
                # the story's own, which is no longer the current one
                token = _current_event.set(weakref.ref(source))
                try:
                    overlay.settle(writes)
                finally:
                    _current_event.reset(token)
                await events.ack(source)
                metrics.story_out("event")
                if result.alert is not None and not result.repeated:  # a repeat sends its first alert again
                    metrics.alert_emitted()

        async for event in events.events():
            overlay.discard()
            if isinstance(event.value, dict) and "expire" in event.value:
                await settle(True)  # an expiry's writes go after every earlier story's
                try:
                    event_stage.expire(Expiry.from_dict(event.value))
                    overlay.flush()
                except Exception:  # noqa: BLE001 - an expiry is housekeeping: log it, go on
                    overlay.discard()
                    log.exception("event stage: cannot apply expiry %r", event.value)
                await events.ack(event)
                continue
            metrics.story_in("event")
            start = perf_counter()
            try:
                assigned = AssignedStory.from_dict(event.value)
                result = event_stage.process(assigned)
            except Exception as exc:
                overlay.discard()
                await stage_failed("event", event, exc, "failed on")
                await events.ack(event)
                continue
            metrics.observe_processing("event", perf_counter() - start)
            event_id = assigned.assignment.event_id
            if not result.send:  # already committed with the state (exactly-once): nothing to repeat
                await settle(True)
                overlay.flush()
                await events.ack(event)
                metrics.story_out("event")
                continue
            try:
                pending = [await topics.clustered.send(key=event_id, value=result.clustered)]
                if result.event is not None:
                    pending.append(await topics.events.send(key=event_id, value=result.event))
                if result.alert is not None:
                    pending.append(await topics.story_updates.send(key=event_id, value=result.alert))
            except _UNSENDABLE as exc:
                overlay.discard()
                await stage_failed("event", event, exc, "cannot send")
                await events.ack(event)
                continue
            in_flight.append((pending, overlay.take(), event, result))
            await settle(len(in_flight) >= in_flight_max or not queued())

    agents = {"decode": decode, "cluster": cluster, "event": event_state}

    # ------------------------------------------------------------------ webhooks
    dispatcher = getattr(wiring, "dispatcher", None)
    if dispatcher is not None and dispatcher.endpoints:

        @app.agent(topics.story_updates, name="wirestream.webhooks")
        async def webhooks(stream: Any) -> Any:
            async for event in stream.events():
                metrics.story_in("webhooks")
                start = perf_counter()
                try:
                    await dispatcher.start()  # idempotent; normally started on table recovery
                    queued = dispatcher.submit(event.value)
                except Exception:  # a malformed alert must not stop the deliveries of the others
                    log.exception("webhooks: cannot queue the alert at %s[%s]@%s", event.message.topic,
                                  event.message.partition, event.message.offset)
                    continue
                metrics.observe_processing("webhooks", perf_counter() - start)
                if queued:
                    metrics.story_out("webhooks")

        agents["webhooks"] = webhooks
    return agents
