"""The Faust app: created by a factory from ``Settings`` (nothing is created at import time).

    app = create_app(Settings.from_env())

builds the app with its topics (:mod:`streams.topics`), its changelog-backed tables and the
core's stages over them, and registers the (thin) agents of :mod:`streams.agents`.
:func:`run_worker` is what ``wirestream worker`` runs.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass
from typing import Any

import orjson

from .config import Settings
from .topics import JSON_CODEC, Topics, declare_topics

log = logging.getLogger("wirestream")


# --------------------------------------------------------------------------- codec

_codecs_registered = False


def register_codecs() -> None:
    """Register the ``orjson`` Faust codec (idempotent)."""
    global _codecs_registered
    if _codecs_registered:
        return
    from faust.serializers import codecs

    class OrjsonCodec(codecs.Codec):
        def _dumps(self, obj: Any) -> bytes:
            return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)

        def _loads(self, s: bytes) -> Any:
            return orjson.loads(s)

    codecs.register(JSON_CODEC, OrjsonCodec())
    _codecs_registered = True


# --------------------------------------------------------------------------- credentials


def broker_credentials(settings: Settings) -> Any:
    """Faust credentials for SASL / TLS from settings (``None`` for PLAINTEXT)."""
    import faust

    protocol = (settings.security_protocol or "PLAINTEXT").upper()
    ssl_context = None
    if protocol in {"SSL", "SASL_SSL"}:
        from aiokafka.helpers import create_ssl_context

        ssl_context = create_ssl_context(
            cafile=settings.ssl_cafile, certfile=settings.ssl_certfile, keyfile=settings.ssl_keyfile
        )
    if protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password,
            mechanism=settings.sasl_mechanism or "PLAIN",
            ssl_context=ssl_context,
        )
    if protocol == "SSL":
        return faust.SSLCredentials(ssl_context)
    return None


# --------------------------------------------------------------------------- app


def _draining_flush(buffer: Any) -> Any:
    """A ``ProducerBuffer.flush`` that really drains the buffer.

    Faust's own ``flush`` returns as soon as one message takes longer than 0.1 s to hand over,
    possibly with table changelog writes still queued; the consumer then commits offsets whose
    state changes are not in Kafka yet, and a crash loses them. Offsets must only be committed
    once everything before them was produced, so this waits until the buffer is empty (unless
    the producer is stopping).
    """
    original = buffer.flush

    async def flush() -> None:
        while buffer.size and not buffer.should_stop:
            buffer.message_sent.clear()
            try:
                await asyncio.wait_for(buffer.message_sent.wait(), timeout=1.0)
            except asyncio.TimeoutError:
                continue
        if buffer.size:
            await original()

    return flush


def _app_class() -> Any:
    import faust

    class WirestreamApp(faust.App):
        """``faust.App`` whose producer flush is a real flush (see :func:`_draining_flush`)."""

        def _new_producer(self) -> Any:
            producer = super()._new_producer()
            buffer = getattr(producer, "buffer", None)
            if buffer is not None and hasattr(buffer, "message_sent"):
                buffer.flush = _draining_flush(buffer)
            return producer

    return WirestreamApp


@dataclass
class Wiring:
    """Everything the agents use; reachable as ``app.wirestream``."""

    settings: Settings
    topics: Topics
    cluster: Any  # Faust table: profiles (p:), assignments (a:), uri_events (u:), journals (j:)
    cluster_state: Any  # JournaledState over it
    profiles: Any
    assignments: Any
    uri_events: Any
    events: Any  # Faust table: event id -> event state
    cluster_stage: Any
    event_stage: Any
    events_overlay: Any


def create_app(settings: Settings, **faust_options: Any) -> Any:
    """A configured Faust app with topics, tables and agents. ``faust_options`` override."""
    import faust

    from .core.pipeline import ClusterStage, EventStage
    from .tables import JournaledState, WriteBehind

    register_codecs()
    # Room for the largest accepted story plus what stages add (sentences, state) and
    # for a dead letter of an over-limit message (which is truncated, see agents).
    max_request = max(1024 * 1024, 4 * settings.max_message_bytes)
    options: dict[str, Any] = dict(
        broker=settings.broker,
        broker_credentials=broker_credentials(settings),
        store=settings.store,
        datadir=str(settings.data_dir),
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        key_serializer="raw",
        value_serializer=JSON_CODEC,
        processing_guarantee="at_least_once",
        producer_max_request_size=max_request,
        consumer_max_fetch_size=max_request,
        consumer_auto_offset_reset="earliest",
        autodiscover=False,
        table_standby_replicas=0,
        # Group membership. Faust's defaults (60 s) make a new group wait that long on some
        # brokers (Tansu delays the first join by up to the rebalance timeout); 10 s keeps
        # start and fail-over quick and is still ample for a revoke (flush + commit).
        broker_session_timeout=settings.session_timeout,
        broker_rebalance_timeout=settings.rebalance_timeout,
        broker_heartbeat_interval=1.0,
    )
    options.update(faust_options)
    app = _app_class()(settings.app_id, **options)

    topics = declare_topics(app, settings)

    def table(name: str) -> Any:
        schema = faust.Schema(key_type=str, key_serializer="raw", value_serializer=JSON_CODEC)
        return app.Table(name, schema=schema, partitions=settings.partitions, help=f"wirestream {name}")

    # Clustering state (keyed by shard): event profiles, idempotency records and uri -> event
    # share one table so that each story's writes are all-or-nothing (see JournaledState).
    cluster = table("cluster")
    cluster_state = JournaledState(cluster, ["p:", "a:", "u:"])
    profiles, assignments, uri_events = cluster_state.views
    # Event state (keyed by event id): one record per event, written after the outputs.
    events = table("events")

    cluster_stage = ClusterStage(profiles, assignments, uri_events, window_days=settings.event_window_days)
    events_overlay = WriteBehind(events)
    event_stage = EventStage(events_overlay)

    # The clusterer's index is a cache of the cluster table: rebuild it whenever the table's
    # partitions were (re)assigned and recovered from the changelog. The consumer resumes the
    # source partitions only after these callbacks ran.
    @cluster.on_recover
    async def _rebuild_cluster_index() -> None:
        cluster_state.recovered()
        cluster_stage.rebuild()
        log.info("wirestream: cluster state recovered, index rebuilt (%d event profiles)", len(profiles))

    app.wirestream = Wiring(
        settings=settings,
        topics=topics,
        cluster=cluster,
        cluster_state=cluster_state,
        profiles=profiles,
        assignments=assignments,
        uri_events=uri_events,
        events=events,
        cluster_stage=cluster_stage,
        event_stage=event_stage,
        events_overlay=events_overlay,
    )

    from .agents import register_agents

    register_agents(app, app.wirestream)
    return app


# --------------------------------------------------------------------------- worker


def run_worker(settings: Settings, *, loglevel: str = "info", connect_timeout: float = 30.0) -> None:
    """Check the broker, create the topics, run a Faust worker until SIGINT/SIGTERM.

    Raises :class:`streams.broker.BrokerError` (one line) when the broker is unreachable.
    """
    import faust

    from .broker import create_topics

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        created = loop.run_until_complete(create_topics(settings, timeout=connect_timeout))
    except BaseException:
        loop.close()
        raise
    if created:
        log.info("wirestream: created topics %s", ", ".join(created))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(settings)
    worker = faust.Worker(app, loop=loop, loglevel=loglevel, quiet=True)
    if not sys.stdout.isatty():
        worker.spinner = None  # no terminal escape codes in log files
    worker.execute_from_commandline()
