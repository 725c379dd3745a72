"""The Faust app: created by a factory from ``Settings`` (nothing is created at import time).

    app = create_app(Settings.from_env())

builds the app with its topics (:mod:`streams.kafka.topics`), its changelog-backed tables and the
core's stages over them, registers the (thin) agents of :mod:`streams.runtime.agents`, the webhook
dispatcher (:func:`wire_webhooks`) and the HTTP API (:mod:`streams.web.views`).
:func:`run_worker` is what ``wirestream worker`` runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson

from ..config import Settings
from ..kafka.topics import JSON_CODEC, Topics, declare_topics

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
    """Faust credentials for SASL / TLS from settings (``None`` for PLAINTEXT): see :mod:`streams.kafka.connection`."""
    from ..kafka.connection import faust_credentials

    return faust_credentials(settings)


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


def _app_class(fetch_max_wait_ms: int) -> Any:
    import faust

    from ..kafka.consumer import transport_class

    transport = transport_class(fetch_max_wait_ms)

    class WirestreamApp(faust.App):
        """``faust.App`` whose producer flush is a real flush (see :func:`_draining_flush`)
        and whose consumer is :mod:`streams.kafka.consumer`'s (fetch wait, rebalance fixes)."""

        def _new_producer(self) -> Any:
            producer = super()._new_producer()
            buffer = getattr(producer, "buffer", None)
            if buffer is not None and hasattr(buffer, "message_sent"):
                buffer.flush = _draining_flush(buffer)
            return producer

        def _new_transport(self) -> Any:
            return transport(self.conf.broker_consumer, self)

        def _new_web(self) -> Any:
            # None of Faust's own pages: /router and /table/{name}/{key} dump raw state without
            # authentication, and the index, /stats and /graph are not part of the API. (The
            # settings in faust_options turn off those that have one; the index has none.)
            from faust.web.base import BlueprintManager

            web = super()._new_web()
            web.blueprints = BlueprintManager([])
            return web

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
    metrics: Any = None  # streams.runtime.metrics.Metrics (one per app, own registry)
    pending: Any = None  # Faust table: webhook deliveries not yet done (see wire_webhooks)
    dispatcher: Any = None  # streams.runtime.delivery.WebhookDispatcher


def faust_options(settings: Settings) -> dict[str, Any]:
    """The Faust settings of every wirestream app (the benchmark ceiling app uses them too)."""
    # Room for the largest accepted story plus what stages add (sentences, state) and
    # for a dead letter of an over-limit message (which is truncated, see agents).
    from ..kafka.consumer import stream_class
    from ..web.views import api_middlewares

    max_request = settings.max_request_bytes
    return dict(
        broker=settings.broker,
        broker_credentials=broker_credentials(settings),
        store=settings.store,
        datadir=str(settings.data_dir),
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_bind or settings.web_host,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        key_serializer="raw",
        value_serializer=JSON_CODEC,
        processing_guarantee=settings.processing_guarantee,
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
        Stream=stream_class(),
        # The web port serves the documented API only (streams.web.views): no Faust pages, JSON
        # 404 for anything else, and the bearer-token gate when WIRESTREAM_API_TOKEN is set.
        web_router_enabled=False,
        web_tables_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_metrics_enabled=False,
        web_application_options={"middlewares": api_middlewares(settings.api_token)},
    )


def new_faust_app(settings: Settings, **overrides: Any) -> Any:
    """An empty Faust app with wirestream's codecs, settings and transport; ``overrides`` win."""
    register_codecs()
    return _app_class(settings.fetch_max_wait_ms)(settings.app_id, **{**faust_options(settings), **overrides})


def create_app(settings: Settings, **overrides: Any) -> Any:
    """A configured Faust app with topics, tables and agents. ``overrides`` are Faust settings."""
    import faust

    from ..core.pipeline import ClusterStage, EventStage
    from .metrics import Metrics
    from .tables import JournaledState, WriteBehind

    app = new_faust_app(settings, **overrides)

    topics = declare_topics(app, settings)

    def table(name: str, **extra: Any) -> Any:
        schema = faust.Schema(key_type=str, key_serializer="raw", value_serializer=JSON_CODEC)
        return app.Table(name, schema=schema, partitions=settings.partitions, help=f"wirestream {name}", **extra)

    # Clustering state (keyed by shard): event profiles, idempotency records and uri -> event
    # share one table so that each story's writes are all-or-nothing (see JournaledState).
    cluster = table("cluster")
    cluster_state = JournaledState(cluster, ["p:", "a:", "u:"])
    profiles, assignments, uri_events = cluster_state.views
    # Event state (keyed by event id): one record per event, written after the outputs.
    # An event's record grows with its stories and facts: its changelog accepts the producer's
    # largest record, not the broker's default (1 MiB on Apache Kafka).
    events = table("events", extra_topic_configs={"max.message.bytes": str(settings.max_request_bytes)})

    cluster_stage = ClusterStage(profiles, assignments, uri_events, window_days=settings.event_window_days,
                                 uri_retention_days=settings.uri_retention_days)
    events_overlay = WriteBehind(events)
    event_stage = EventStage(events_overlay,
                             outputs_commit_with_state=settings.processing_guarantee == "exactly_once")

    # The clusterer's index is a cache of the cluster table: rebuild it whenever the table's
    # partitions were (re)assigned and recovered from the changelog. The consumer resumes the
    # source partitions only after these callbacks ran.
    @cluster.on_recover
    async def _rebuild_cluster_index() -> None:
        cluster_state.recovered()
        cluster_stage.rebuild()
        log.info("wirestream: cluster state recovered, index rebuilt (%d event profiles)", len(profiles))

    if settings.gc_freeze_seconds > 0:
        from .gc_policy import GcPolicy

        gc_policy = GcPolicy(settings.gc_freeze_seconds, settings.gc_full_seconds)

        @app.timer(interval=settings.gc_freeze_seconds, name="wirestream.gc")
        async def _gc_freeze() -> None:
            gc_policy.tick()

    if settings.malloc_trim_seconds > 0:
        from .malloc_trim import MallocTrim

        malloc_trim = MallocTrim()
        if not malloc_trim.available:
            log.info("wirestream: %s set but this C library has no malloc_trim: ignored",
                     "WIRESTREAM_MALLOC_TRIM_SECONDS")

        @app.timer(interval=settings.malloc_trim_seconds, name="wirestream.malloc_trim")
        async def _malloc_trim() -> None:
            malloc_trim.tick()

    metrics = Metrics()
    pending, dispatcher = wire_webhooks(app, settings, topics, metrics)

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
        metrics=metrics,
        pending=pending,
        dispatcher=dispatcher,
    )

    from .agents import register_agents
    from ..web.views import register_views

    register_agents(app, app.wirestream)
    register_views(app, app.wirestream)
    return app


# --------------------------------------------------------------------------- webhooks


class ActivePartitionEntries(MutableMapping):
    """The pending-deliveries table as the dispatcher's store.

    Reads and writes go straight to the table. Iteration — what ``WebhookDispatcher.resume()``
    scans — yields only the entries whose changelog partition is *actively* assigned to this
    worker: a standby replica holds copies of another worker's pending deliveries, and an
    in-memory table keeps what this worker wrote to partitions it does not own; resuming those
    would make two workers deliver the same alert.
    """

    def __init__(self, table: Any, is_active: Callable[[], Callable[[str], bool]]) -> None:
        self.table = table
        self._is_active = is_active

    def __getitem__(self, key: str) -> Any:
        return self.table[key]

    def get(self, key: str, default: Any = None) -> Any:
        value = self.table.get(key)
        return default if value is None else value

    def __contains__(self, key: object) -> bool:
        return self.table.get(key) is not None

    def __setitem__(self, key: str, value: Any) -> None:
        self.table[key] = value

    def __delitem__(self, key: str) -> None:
        del self.table[key]

    def pop(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        value = self.table.get(key)
        if value is None:
            return default
        del self.table[key]
        return value

    def __iter__(self) -> Iterator[str]:
        active = self._is_active()
        for key in list(self.table.keys()):
            if self.table.get(key) is not None and active(key):
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)


def wire_webhooks(app: Any, settings: Settings, topics: Topics, metrics: Any) -> tuple[Any, Any]:
    """The pending-deliveries table and the webhook dispatcher, started and stopped with the app.

    Pending deliveries live in a changelog-backed table (always in memory: it is small, and it
    is written from the dispatcher's own tasks, hence ``use_partitioner``), so a worker that
    stops or dies loses none: whoever gets the partition next recovers it and resumes them.
    """
    import faust
    from mode import Service

    from .delivery import WebhookDispatcher

    schema = faust.Schema(key_type=str, key_serializer="raw", value_serializer=JSON_CODEC)
    pending = app.Table("webhook-pending", schema=schema, default=None, use_partitioner=True,
                        store="memory://", partitions=settings.partitions,
                        help="wirestream webhook deliveries not yet done")

    def active_keys() -> Callable[[str], bool]:
        topic = pending.changelog_topic.get_topic_name()
        actives = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}

        def is_active(key: str) -> bool:
            try:  # the partition use_partitioner writes it to: the hash of the serialized key
                raw = pending.changelog_topic.prepare_key(key, None)[0]
                return app.producer.key_partition(topic, raw).partition in actives
            except Exception:  # noqa: BLE001 - no metadata yet: not ours to resume now
                return False

        return is_active

    async def to_dead_letter(record: dict[str, Any]) -> None:
        fut = await topics.webhook_dead_letter.send(key=record["alert_id"], value=record)
        await fut  # acknowledged before the pending entry is deleted

    dispatcher = WebhookDispatcher.from_settings(
        settings, store=ActivePartitionEntries(pending, active_keys), on_dead_letter=to_dead_letter,
        metrics=metrics)

    @pending.on_recover
    async def _resume_webhooks() -> None:  # after every (re)assignment + recovery
        await dispatcher.start()
        resumed = dispatcher.resume()
        if resumed:
            log.info("wirestream: resumed %d pending webhook deliveries", resumed)

    @app.service
    class WebhookService(Service):
        """Starts the dispatcher with the app; on shutdown in-flight requests get 5 s."""

        async def on_start(self) -> None:
            await dispatcher.start()

        async def on_stop(self) -> None:
            await dispatcher.close(grace=5)

    return pending, dispatcher


# --------------------------------------------------------------------------- worker


def startup_line(settings: Settings, endpoints: Any = ()) -> tuple[str, dict[str, Any]]:
    """The one line a worker logs at start: what it is connected to (secrets masked), and the same as fields."""
    from ..kafka.connection import describe_auth

    fields = {
        "broker": settings.broker,
        "auth": describe_auth(settings),
        "store": settings.store,
        "web": f"http://{settings.web_host}:{settings.web_port}",
        "input": settings.topic("stories"),
        "alerts": settings.topic("story-updates"),
        "partitions": settings.partitions,
        "app_id": settings.app_id,
        "webhooks": [ep.display_url for ep in endpoints],
    }
    hooks = ", ".join(fields["webhooks"]) or "none"
    text = (f"wirestream: worker {settings.app_id} · broker {fields['broker']} · {fields['auth']} · "
            f"store {settings.store} · API {fields['web']} · reads {fields['input']}, alerts to {fields['alerts']} · "
            f"{settings.partitions} partition{'' if settings.partitions == 1 else 's'} · webhooks: {hooks}")
    return text, fields


def run_worker(settings: Settings, *, connect_timeout: float = 30.0) -> None:
    """Check the settings and the broker, create the topics, run a Faust worker until SIGINT/SIGTERM.

    Raises :class:`streams.config.ConfigError` for a local problem (store binding, web port,
    webhook endpoints) and :class:`streams.kafka.broker.BrokerError` (one line, no secret) when the
    security settings cannot work, the broker is unreachable or it refuses the credentials
    (:mod:`streams.kafka.preflight`).
    """
    import faust

    from ..kafka.broker import BrokerError, create_topics
    from ..kafka.preflight import preflight
    from .delivery import load_endpoints
    from .logs import setup_logging
    from .startup import check_store, check_web_port

    setup_logging(settings.log_level, settings.log_format)
    check_store(settings)
    check_web_port(settings)
    endpoints = load_endpoints(settings)  # a bad webhook URL stops us before we connect
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        kafka = loop.run_until_complete(preflight(settings, timeout=connect_timeout))
        if settings.processing_guarantee == "exactly_once" and kafka.is_tansu:
            raise BrokerError(
                f"WIRESTREAM_PROCESSING_GUARANTEE=exactly_once needs Kafka transactions, which the broker at "
                f"{kafka.host}:{kafka.port} (Tansu) does not have; use Apache Kafka, or at_least_once")
        created = loop.run_until_complete(create_topics(settings, timeout=connect_timeout))
    except BaseException:
        loop.close()
        raise
    text, fields = startup_line(settings, endpoints)
    log.info(text, extra=fields)
    if created:
        log.info("wirestream: created topics %s", ", ".join(created))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {}
    if kafka.is_tansu and not settings.store.startswith("memory"):
        # Tansu (0.6) answers ListOffsets(latest) with the base offset of the last record batch
        # + 1, not the last offset + 1, so a local store's persisted changelog offset can be
        # "higher than the highwater" and Faust refuses to recover (ConsistencyError). Real
        # Kafka keeps the check: it catches a changelog that was wiped under a kept RocksDB.
        log.info("wirestream: Tansu broker: Faust's recovery consistency check is off (Tansu "
                 "under-reports high watermarks)")
        options["recovery_consistency_check"] = False
    app = create_app(settings, **options)
    # Logging is ours (streams.runtime.logs): Faust's start-up detail only at debug.
    worker = faust.Worker(app, loop=loop, loglevel=settings.log_level, quiet=True, override_logging=False)
    worker.spinner = None  # no terminal escape codes in logs
    worker.execute_from_commandline()
