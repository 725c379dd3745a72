"""The worker's HTTP API (Faust web views on the worker's web port).

    GET /events?limit=&lang=   most recently updated events, all workers' (JSON)
    GET /events/{event_id}     one event's snapshot (schemas/event.schema.json); 404 if unknown
    GET /health                200 ready / 503 not ready, with the consumer lag and webhook backlog (readiness)
    GET /livez                 200 while the process answers at all (liveness)
    GET /metrics               Prometheus text exposition
    GET /, /alerts/stream      the newsroom page and its live feed (:mod:`streams.web.page`)

Nothing else answers: Faust's own pages (``/router``, ``/table/...``, ``/stats``, ``/graph``,
the index) are switched off (:func:`streams.runtime.app.faust_options`) and any other path gets
a JSON 404 (:func:`api_middlewares`). With ``WIRESTREAM_API_TOKEN`` set, every route except
``OPEN_PATHS`` (``/livez``, ``/health``: probes) needs ``Authorization: Bearer <token>``
(:func:`bearer_ok`, also what the newsroom page's routes use).

The events table is partitioned by event id over the workers: ``/events/{id}`` is routed to the
worker that holds the event (Faust routing, see ``register_views``), and ``/events`` asks every other worker for
its own most recent events (``scope=local``) and merges them. Errors are JSON
(``{"error": "..."}``): 400 for a bad query parameter, 404 for an unknown event, 503 while the
worker has no assignment yet.

Nothing here decides anything about stories or events: the views read the tables and format
what the core (:meth:`EventState.snapshot`, :meth:`EventState.summary`) gives.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections.abc import Iterable
from typing import Any

from ..core.events import EventState

log = logging.getLogger("wirestream.web")

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
PEER_TIMEOUT = 5.0
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


OPEN_PATHS = frozenset({"/livez", "/health"})  # probes: no token needed, no secret served
# The newsroom page and its assets hold no data (the page asks for the token when the API answers 401).
PAGE_PATHS = frozenset({"/"})
PAGE_PREFIX = "/static/"


def is_public(path: str) -> bool:
    """Paths served without the token: the probes and the page's static files."""
    return path in OPEN_PATHS or path in PAGE_PATHS or path.startswith(PAGE_PREFIX)


class BadRequest(ValueError):
    """A query parameter wirestream cannot use; the message says which and why."""


# --------------------------------------------------------------------------- access


def bearer_ok(request: Any, token: str | None) -> bool:
    """Whether ``request`` may read the API: no token configured, or ``Authorization: Bearer
    <token>`` matches it (compared in constant time). Routes added outside this module (the
    newsroom page) call this too."""
    if not token:
        return True
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), token.encode("utf-8"))


def api_middlewares(token: str | None) -> list[Any]:
    """aiohttp middlewares of the web port: the bearer-token gate, then JSON for every error
    aiohttp itself answers (unknown path 404, wrong method 405)."""
    from aiohttp import web as aioweb

    def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> Any:
        return aioweb.json_response({"error": message}, status=status, headers=headers)

    @aioweb.middleware
    async def gate(request: Any, handler: Any) -> Any:
        if request.method == "OPTIONS" or is_public(request.path) or bearer_ok(request, token):
            return await handler(request)
        return json_error(401, "missing or wrong bearer token (Authorization: Bearer <WIRESTREAM_API_TOKEN>)",
                          {"WWW-Authenticate": 'Bearer realm="wirestream"'})

    @aioweb.middleware
    async def json_errors(request: Any, handler: Any) -> Any:
        try:
            return await handler(request)
        except aioweb.HTTPException as exc:
            if exc.status == 404:
                return json_error(404, "not found", None)
            if exc.status == 405:
                return json_error(405, f"method {request.method} not allowed", {"Allow": exc.headers.get("Allow", "")})
            raise

    return [gate, json_errors]


# --------------------------------------------------------------------------- pure helpers


def parse_list_query(query: Any) -> tuple[int, str | None, str]:
    """``(limit, lang, scope)`` from the query of ``GET /events``; ``BadRequest`` if invalid."""
    raw = query.get("limit")
    if raw is None or raw == "":
        limit = DEFAULT_LIMIT
    else:
        try:
            limit = int(raw)
        except ValueError:
            raise BadRequest(f"limit must be a whole number, got {raw!r}") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    lang = query.get("lang") or None
    if lang is not None and not _LANG.match(lang):
        raise BadRequest(f"lang must be a language code such as 'en' or 'pt-BR', got {lang!r}")
    scope = query.get("scope") or "all"
    if scope not in {"all", "local"}:
        raise BadRequest(f"scope must be 'all' or 'local', got {scope!r}")
    unknown = sorted(set(query.keys()) - {"limit", "lang", "scope"})
    if unknown:
        raise BadRequest(f"unknown query parameter(s): {', '.join(unknown)}")
    return limit, lang, scope


def event_summaries(records: Iterable[Any], lang: str | None, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` most recently updated events among ``records`` (event state dicts)."""
    wanted = lang.lower() if lang else None
    states = []
    for raw in records:
        if not isinstance(raw, dict):
            continue
        state = EventState.from_dict(raw)
        if wanted and (state.lang or "").lower() != wanted:
            continue
        states.append(state)
    states.sort(key=lambda s: (s.last_update, s.event_id), reverse=True)
    return [{"event_id": s.event_id, **s.summary()} for s in states[:limit]]


def merge_summaries(lists: Iterable[list[dict[str, Any]]], limit: int) -> list[dict[str, Any]]:
    """Merge per-worker lists (each newest first) into one, newest first, without duplicates."""
    seen: dict[str, dict[str, Any]] = {}
    for items in lists:
        for item in items:
            seen.setdefault(item["event_id"], item)
    ordered = sorted(seen.values(), key=lambda e: (e["last_update"], e["event_id"]), reverse=True)
    return ordered[:limit]


def consumer_lag(app: Any) -> dict[str, Any]:
    """Messages behind the end of each assigned input partition (table changelogs excluded)."""
    consumer = app.consumer
    try:
        assignment = consumer.assignment()
    except Exception:  # noqa: BLE001 - consumer not started yet
        return {"total": None, "partitions": {}}
    changelogs = {t.changelog_topic.get_topic_name() for t in app.tables.values()}
    read = getattr(consumer, "_read_offset", {})
    committed = getattr(consumer, "_committed_offset", {})
    partitions: dict[str, int | None] = {}
    total = 0
    for tp in sorted(assignment):
        if tp.topic in changelogs:
            continue
        try:
            end = consumer.highwater(tp)
        except Exception:  # noqa: BLE001 - no fetch yet for this partition
            end = None
        last = read.get(tp)
        position = last + 1 if last is not None else committed.get(tp)
        lag = None if end is None else max(0, end - (position or 0))
        partitions[f"{tp.topic}[{tp.partition}]"] = lag
        if lag is not None:
            total += lag
    return {"total": total, "partitions": partitions}


def readiness(app: Any) -> tuple[bool, str]:
    """Whether the worker serves: started, tables recovered, not rebalancing."""
    if getattr(app, "should_stop", False):
        return False, "stopping"
    if getattr(app, "rebalancing", False):
        return False, "rebalancing"
    recovery = getattr(app.tables, "recovery", None)
    completed = getattr(recovery, "completed", None)
    if completed is None or not completed.is_set():
        return False, "recovering tables"
    return True, "ready"


# --------------------------------------------------------------------------- views


def register_views(app: Any, wiring: Any) -> dict[str, Any]:
    """Add the API's views to ``app``; returns them by path."""
    from faust import web

    from ..runtime.metrics import CONTENT_TYPE

    events = wiring.events
    metrics = wiring.metrics

    # Routing: an event's state lives in the events table partition of the worker that runs the
    # event stage for that event id, i.e. that owns the event id's partition of wire.assigned
    # (the table is co-partitioned with it: its changelog is written to the source partition).
    # ``app.table_route`` would hash the changelog's *JSON-encoded* key and pick another
    # partition, so the request is routed by the key's partition of the source topic.
    @app.page("/events/{event_id}", name="wirestream-event")
    class EventView(web.View):
        @app.topic_route(wiring.topics.assigned, match_info="event_id")
        async def get(self, request: web.Request, event_id: str) -> web.Response:
            raw = events.get(event_id)
            if raw is None:
                return self.error(404, "unknown event", event_id=event_id)
            return self.json(EventState.from_dict(raw).snapshot())

    @app.page("/events", name="wirestream-events")
    class EventsView(web.View):
        async def get(self, request: web.Request) -> web.Response:
            try:
                limit, lang, scope = parse_list_query(request.query)
            except BadRequest as exc:
                return self.error(400, str(exc))
            local = event_summaries(list(events.values()), lang, limit)
            unavailable: list[str] = []
            lists = [local]
            if scope == "all":
                peers = _peer_urls(app, events)
                token = wiring.settings.api_token
                results = await asyncio.gather(*(_peer_events(app, url, limit, lang, token) for url in peers))
                for url, items in zip(peers, results):
                    if items is None:
                        unavailable.append(url)
                    else:
                        lists.append(items)
            merged = merge_summaries(lists, limit)
            body: dict[str, Any] = {"events": merged, "count": len(merged)}
            if unavailable:
                body["partial"] = True
                body["unavailable"] = unavailable
            return self.json(body)

    @app.page("/health", name="wirestream-health")
    class HealthView(web.View):
        async def get(self, request: web.Request) -> web.Response:
            ready, state = readiness(app)
            lag = consumer_lag(app)
            dispatcher = wiring.dispatcher
            body = {
                "status": "ready" if ready else "not_ready",
                "ready": ready,
                "state": state,
                "lag": lag,
                "webhooks": {"endpoints": len(dispatcher.endpoints), "pending": dispatcher.pending,
                             "by_endpoint": dispatcher.backlog()}
                if dispatcher is not None else None,
            }
            return self.json(body, status=200 if ready else 503)

    @app.page("/livez", name="wirestream-livez")
    class LivezView(web.View):
        """Liveness: the process and its event loop answer. Unlike /health it does not depend on
        the broker or a rebalance, so an orchestrator restarts only a worker that is stuck."""

        async def get(self, request: web.Request) -> web.Response:
            return self.json({"status": "alive"})

    @app.page("/metrics", name="wirestream-metrics")
    class MetricsView(web.View):
        async def get(self, request: web.Request) -> web.Response:
            lag = consumer_lag(app)
            for name, value in lag["partitions"].items():
                if value is not None:
                    topic, _, partition = name.rpartition("[")
                    metrics.set_lag(topic, int(partition.rstrip("]")), value)
            if wiring.dispatcher is not None:
                wiring.dispatcher.refresh_metrics()
            return self.bytes(metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    from .page import register_page

    return {"/events/{event_id}": EventView, "/events": EventsView, "/health": HealthView,
            "/livez": LivezView, "/metrics": MetricsView, **register_page(app, wiring)}


def _peer_urls(app: Any, table: Any) -> list[str]:
    """Web URLs of the other workers that hold partitions of ``table``."""
    try:
        hosts = app.router.table_metadata(table.name)
    except Exception:  # noqa: BLE001 - no assignment yet
        return []
    own = str(app.conf.canonical_url).rstrip("/")
    return sorted({str(url).rstrip("/") for url in hosts} - {own})


async def _peer_events(app: Any, base: str, limit: int, lang: str | None,
                       token: str | None = None) -> list[dict[str, Any]] | None:
    """One peer's own most recent events; ``None`` if it did not answer in time."""
    import aiohttp

    params = {"scope": "local", "limit": str(limit)}
    if lang:
        params["lang"] = lang
    headers = {"Authorization": f"Bearer {token}"} if token else None
    try:
        async with app.http_client.get(f"{base}/events", params=params, headers=headers,
                                       timeout=aiohttp.ClientTimeout(total=PEER_TIMEOUT)) as resp:
            if resp.status != 200:
                log.warning("GET %s/events answered %s", base, resp.status)
                return None
            body = await resp.json()
            return list(body.get("events", []))
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        log.warning("GET %s/events failed: %s", base, type(exc).__name__)
        return None
