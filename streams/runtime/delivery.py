"""Webhook delivery: the asyncio shell around ``streams.core.webhooks``.

``WebhookDispatcher.submit(alert)`` is synchronous and never waits for HTTP: it writes one
pending entry per matching endpoint into the ``store`` and queues it on that endpoint's own
lane (queue + worker tasks), so a slow or dead endpoint never holds up the others, nor the
caller. Every entry stays in the store until it is delivered or dead-lettered, so a worker that
stops (``close()``) or dies loses nothing: the next one calls ``resume()``.

Store entries (key ``f"{endpoint_id}|{alert_id}"``) hold no secret::

    {"endpoint": endpoint_id, "url": redacted URL, "alert": {...}, "attempts": n,
     "next_attempt_at": unix seconds, "created": unix seconds,
     "last_status": int|None, "last_error": str|None, ["dead_letter": record]}

With ``remember_done`` seconds (the worker: its event window), a delivery that is over leaves a
small marker under the same key (``streams.core.webhooks.done_marker``: endpoint, alert_id,
outcome, ``done_at``) instead of nothing, so the same alert submitted again (at-least-once
input: a worker killed before its offset commit re-reads it) is not POSTed a second time.
Markers older than that are forgotten (pruned on ``resume()`` and periodically).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import random
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

import aiohttp
import aiohttp.abc

from ..config import Settings
from ..core import webhooks as wh
from ..core.webhooks import Decision, Endpoint, RetryPolicy, WebhookConfigError
from .metrics import Metrics

__all__ = ["PublicOnlyResolver", "WebhookDispatcher", "check_addresses", "load_endpoints", "store_key"]

log = logging.getLogger("wirestream.webhooks")

DeadLetterCallback = Callable[[dict[str, Any]], Awaitable[Any]]
USER_AGENT = "wirestream-webhooks/0.1"
KEEPALIVE_SECONDS = 4.0


def load_endpoints(settings: Settings, environ: Mapping[str, str] | None = None, *,
                   resolve: Resolve | None = None) -> tuple[Endpoint, ...]:
    """Endpoints from ``WIRESTREAM_WEBHOOKS`` (+ ``WIRESTREAM_WEBHOOK_SECRET``) and the config file.

    Raises ``WebhookConfigError`` (a ``ConfigError``) with a message naming the endpoint; call it
    at startup so a bad URL or secret stops the worker before it consumes anything. Unless
    ``webhook_allow_private``, a URL whose host is or resolves to a non-global address is
    refused too (:func:`check_addresses`).
    """
    import os

    config = None
    name = "webhook config"
    if settings.webhook_config:
        path = Path(settings.webhook_config)
        name = f"webhook config {path.name}"
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise WebhookConfigError(f"{name}: cannot read {path}: {exc.strerror}") from None
        config = wh.parse_config_text(text, path.name)
    endpoints = wh.endpoints_from_config(
        urls=settings.webhooks, secret=settings.webhook_secret, config=config, config_name=name,
        environ=os.environ if environ is None else environ, timeout=settings.webhook_timeout,
        max_attempts=settings.webhook_max_attempts or None, concurrency=settings.webhook_concurrency)
    if not settings.webhook_allow_private:
        where = [f"WIRESTREAM_WEBHOOKS entry #{i}" for i in range(1, len(settings.webhooks) + 1)]
        where += [f"{name} endpoint #{i}" for i in range(1, len(endpoints) - len(settings.webhooks) + 1)]
        check_addresses(endpoints, where, resolve=resolve)
    return endpoints


Resolve = Callable[[str], list[str]]


def _getaddrinfo(host: str) -> list[str]:
    return [info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)]


def check_addresses(endpoints: Iterable[Endpoint], where: Iterable[str], *, resolve: Resolve | None = None) -> None:
    """Refuse (``WebhookConfigError``) an endpoint whose host is, or resolves to, a non-global
    address. A name that does not resolve now is let through with a warning: DNS may be down at
    startup, and every connection is checked again anyway (:class:`PublicOnlyResolver`)."""
    resolve = resolve or _getaddrinfo
    for ep, place in zip(endpoints, where):
        host = urlsplit(ep.url).hostname or ""
        literal = wh.literal_host(ep.url)
        try:
            addresses = [literal] if literal else resolve(host)
        except OSError as exc:
            log.warning("%s: cannot resolve %s now (%s); its addresses are checked at each delivery",
                        place, host, exc.strerror or type(exc).__name__)
            continue
        for address in addresses:
            kind = wh.address_kind(address)
            if kind is not None:
                raise wh.private_url_error(place, ep.url, address, kind)


class PublicOnlyResolver(aiohttp.abc.AbstractResolver):
    """aiohttp resolver that drops non-global addresses, so that a webhook host whose DNS later
    points into the worker's network (DNS rebinding) is not connected to; the attempt fails like
    an unresolvable host, and is retried."""

    def __init__(self, inner: aiohttp.abc.AbstractResolver | None = None) -> None:
        self._inner = inner or aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[Any]:
        found = await self._inner.resolve(host, port, family)
        allowed = [r for r in found if wh.address_kind(r["host"]) is None]
        if not allowed:
            kinds = sorted({str(wh.address_kind(r["host"])) for r in found})
            raise OSError(errno.EACCES, f"{host} resolves only to non-public addresses ({', '.join(kinds)}); "
                          "WIRESTREAM_WEBHOOK_ALLOW_PRIVATE=1 allows them")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def store_key(endpoint_id: str, alert_id: str) -> str:
    return f"{endpoint_id}|{alert_id}"


class _Lane:
    """One endpoint's queue, workers, and the keys it has scheduled (queued, timed or in flight)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.workers: list[asyncio.Task[None]] = []
        self.busy: set[asyncio.Task[None]] = set()
        self.scheduled: dict[str, float] = {}  # key -> when its alert was first submitted
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.early: set[str] = set()  # woken before their time by _catch_up
        self.internal: dict[str, int] = {}  # key -> failures inside the dispatcher in a row


class WebhookDispatcher:
    """Deliver alerts to webhook endpoints, signed, retried, durable. See the module docstring.

    ``store``: where pending deliveries live (a dict, or a Faust table declared with
    ``use_partitioner=True`` since entries are updated outside stream iteration).
    ``on_dead_letter``: ``async (record) -> None``, called once per permanent failure; the entry
    is deleted only after it returns (if it raises, it is retried later).
    ``allow_private``: whether endpoints may reach loopback, private, link-local or other
    non-global addresses (refused by default, see :func:`check_addresses`).

    Every failure of an attempt, whatever raised it, is a retry or (schedule spent, or a
    permanent HTTP answer) a dead letter: an entry leaves the store only delivered or
    dead-lettered. When an endpoint that was failing answers 2xx again, its other pending
    deliveries are tried right away rather than at their scheduled times (an outage's backlog
    drains as soon as the receiver is back).
    """

    def __init__(
        self,
        endpoints: Iterable[Endpoint],
        *,
        store: MutableMapping[str, dict[str, Any]] | None = None,
        on_dead_letter: DeadLetterCallback | None = None,
        metrics: Metrics | None = None,
        source: str = "urn:wirestream",
        policy: RetryPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] | None = None,
        allow_private: bool = False,
        remember_done: float = 0.0,
    ) -> None:
        self.endpoints = {ep.id: ep for ep in endpoints}
        self.allow_private = allow_private
        if not allow_private:
            for ep in self.endpoints.values():
                literal = wh.literal_host(ep.url)
                kind = wh.address_kind(literal) if literal else None
                if literal and kind:
                    raise wh.private_url_error(f"webhook endpoint {ep.id}", ep.url, literal, kind)
        self.store: MutableMapping[str, dict[str, Any]] = {} if store is None else store
        self.on_dead_letter = on_dead_letter
        self.metrics = metrics or Metrics()
        self.source = source
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.rand = rand or random.Random().random
        self._session = session
        self._own_session = session is None
        self._lanes: dict[str, _Lane] = {}
        self._orphans: set[asyncio.Task[None]] = set()
        self.remember_done = max(0.0, remember_done)
        self._pruner: asyncio.Task[None] | None = None
        self._started = False
        self._closing = False

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> WebhookDispatcher:
        """Endpoints and retry policy from ``Settings`` (raises ConfigError on a bad endpoint)."""
        kwargs.setdefault("policy", RetryPolicy(schedule=settings.webhook_retry_schedule,
                                                max_attempts=settings.webhook_max_attempts or None))
        kwargs.setdefault("source", f"urn:wirestream:{settings.app_id}")
        kwargs.setdefault("allow_private", settings.webhook_allow_private)
        # an alert is read again, if ever, while its event is open: remember deliveries that long
        kwargs.setdefault("remember_done", settings.event_window_days * 86400.0)
        return cls(load_endpoints(settings), **kwargs)

    def __repr__(self) -> str:
        return f"WebhookDispatcher(endpoints={[ep.display_url for ep in self.endpoints.values()]})"

    # lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._started:
            return
        if self._session is None:
            total = sum(ep.concurrency for ep in self.endpoints.values())
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=max(100, total),
                    # An idle connection is dropped before common servers drop it (Node.js:
                    # 5 s), so a request is rarely written into a connection being closed.
                    keepalive_timeout=KEEPALIVE_SECONDS,
                    resolver=None if self.allow_private else PublicOnlyResolver()),
                headers={"user-agent": USER_AGENT})
        for ep in self.endpoints.values():
            lane = _Lane(ep)
            for n in range(ep.concurrency):
                lane.workers.append(asyncio.create_task(self._worker(lane), name=f"webhook-{ep.id}-{n}"))
            self._lanes[ep.id] = lane
        if self.remember_done > 0:
            self._pruner = asyncio.create_task(self._prune_loop(), name="webhook-forget-done")
        self._started = True
        self._closing = False

    async def close(self, grace: float = 0.0) -> None:
        """Stop: requests in flight get ``grace`` seconds, the rest is cancelled. Pending
        entries stay in the store for ``resume()``; a cancelled attempt may be redelivered."""
        if not self._started:
            return
        self._closing = True
        tasks: list[asyncio.Task[Any]] = [self._pruner] if self._pruner is not None else []
        self._pruner = None
        for lane in self._lanes.values():
            for timer in lane.timers.values():
                timer.cancel()
            lane.timers.clear()
            busy = set(lane.busy)
            for task in lane.workers:
                if task not in busy:
                    task.cancel()
            tasks.extend(lane.workers)
        busy_all = [t for lane in self._lanes.values() for t in lane.busy]
        if busy_all and grace > 0:
            await asyncio.wait(busy_all, timeout=grace)
        for task in [*tasks, *self._orphans]:
            task.cancel()
        await asyncio.gather(*tasks, *self._orphans, return_exceptions=True)
        for ep_id in self._lanes:
            self.metrics.webhook_pending.labels(endpoint=ep_id).set(0)
        self._lanes.clear()
        self._orphans.clear()
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None
        self._started = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # API -----------------------------------------------------------------------------------
    def submit(self, alert: Mapping[str, Any]) -> list[str]:
        """Queue ``alert`` for every endpoint whose filters match; returns the store keys.

        Synchronous and non-blocking. Submitting an alert that is still pending for an
        endpoint does not duplicate it, nor (``remember_done``) one already delivered or
        dead-lettered there.
        """
        self._require_started()
        alert_id = alert.get("alert_id")
        if not isinstance(alert_id, str) or not alert_id:
            raise ValueError("alert has no alert_id")
        keys = []
        now = self.clock()
        for ep in self.endpoints.values():
            if not ep.filters.matches(alert):
                continue
            key = store_key(ep.id, alert_id)
            lane = self._lanes[ep.id]
            if key in lane.scheduled:
                continue
            entry = self.store.get(key)
            if wh.is_done(entry):
                if not wh.is_forgotten(entry, now=now, keep_seconds=self.remember_done):
                    log.info("webhook %s to %s: already %s, not sent again", alert_id, ep.display_url,
                             "delivered" if entry.get("done") == "delivered" else "dead-lettered")
                    continue
                entry = None
            if entry is None:
                entry = {"endpoint": ep.id, "url": ep.display_url, "alert": dict(alert),
                         "attempts": 0, "next_attempt_at": now, "created": now,
                         "last_status": None, "last_error": None}
                self.store[key] = entry
            self._schedule(lane, key, 0.0, _created(entry, now))
            keys.append(key)
        return keys

    def resume(self) -> int:
        """Re-queue every entry of the store not already scheduled here (after a restart, or
        after partitions were assigned). Safe to call repeatedly. Returns how many were queued."""
        self._require_started()
        now = self.clock()
        count = 0
        for key, entry in list(self.store.items()):
            if not isinstance(entry, Mapping):
                continue
            if wh.is_done(entry):
                if wh.is_forgotten(entry, now=now, keep_seconds=self.remember_done):
                    self.store.pop(key, None)
                continue
            lane = self._lanes.get(entry.get("endpoint", ""))
            if lane is None:
                if key not in {t.get_name() for t in self._orphans}:
                    log.warning("webhook delivery %s: endpoint %s is no longer configured; dead-lettering",
                                entry.get("alert", {}).get("alert_id"), entry.get("url"))
                    task = asyncio.create_task(self._orphan(key, dict(entry)), name=key)
                    self._orphans.add(task)
                    task.add_done_callback(self._orphans.discard)
                    count += 1
                continue
            if key in lane.scheduled:
                continue
            try:
                due = float(entry.get("next_attempt_at", now))
            except (TypeError, ValueError):
                due = now
            self._schedule(lane, key, max(0.0, due - now), _created(entry, now))
            count += 1
        return count

    def forget_done(self) -> int:
        """Drop the markers of deliveries over for longer than ``remember_done``; returns how many."""
        now = self.clock()
        old = [key for key, entry in list(self.store.items())
               if wh.is_forgotten(entry, now=now, keep_seconds=self.remember_done)]
        for key in old:
            self.store.pop(key, None)
        return len(old)

    async def _prune_loop(self) -> None:
        every = min(max(self.remember_done / 10, 1.0), 3600.0)
        while True:
            await asyncio.sleep(every)
            try:
                forgotten = self.forget_done()
            except Exception:  # noqa: BLE001 - a store that failed now is pruned next time
                log.warning("webhooks: cannot prune finished deliveries now", exc_info=True)
                continue
            if forgotten:
                log.info("webhooks: forgot %d deliveries finished over %.0fs ago", forgotten, self.remember_done)

    def _finish(self, key: str, entry: Mapping[str, Any], outcome: str) -> None:
        """The delivery is over: its pending entry becomes a marker in one write (or goes)."""
        if self.remember_done > 0:
            self.store[key] = wh.done_marker(entry, outcome=outcome, now=self.clock())
        else:
            self.store.pop(key, None)

    @property
    def pending(self) -> int:
        """Deliveries scheduled or in flight in this dispatcher."""
        return sum(len(lane.scheduled) for lane in self._lanes.values()) + len(self._orphans)

    def backlog(self) -> dict[str, dict[str, Any]]:
        """Per endpoint id: ``{"pending": n, "oldest_age_seconds": s or None}``, where the age is
        how long ago the oldest pending alert was first submitted (kept across restarts)."""
        now = self.clock()
        out: dict[str, dict[str, Any]] = {}
        for ep_id in self.endpoints:
            lane = self._lanes.get(ep_id)
            created = list(lane.scheduled.values()) if lane is not None else []
            oldest = round(max(0.0, now - min(created)), 3) if created else None
            out[ep_id] = {"pending": len(created), "oldest_age_seconds": oldest}
        return out

    def refresh_metrics(self) -> None:
        """Set the per-endpoint pending and oldest-age gauges (call before rendering /metrics)."""
        for ep_id, item in self.backlog().items():
            self.metrics.webhook_pending.labels(endpoint=ep_id).set(item["pending"])
            self.metrics.webhook_oldest_pending.labels(endpoint=ep_id).set(item["oldest_age_seconds"] or 0.0)

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until nothing is pending here; False if ``timeout`` ran out first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self.pending:
            if deadline is not None and loop.time() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    # internals -----------------------------------------------------------------------------
    def _require_started(self) -> None:
        if not self._started or self._closing:
            raise RuntimeError("WebhookDispatcher is not running; await start() first")

    def _schedule(self, lane: _Lane, key: str, delay: float, created: float | None = None) -> None:
        if created is not None or key not in lane.scheduled:
            lane.scheduled[key] = created if created is not None else self.clock()
        self.metrics.webhook_pending.labels(endpoint=lane.endpoint.id).set(len(lane.scheduled))
        if delay <= 0:
            lane.queue.put_nowait(key)
            return
        loop = asyncio.get_running_loop()

        def fire() -> None:
            lane.timers.pop(key, None)
            lane.queue.put_nowait(key)

        lane.timers[key] = loop.call_later(delay, fire)

    def _done(self, lane: _Lane, key: str) -> None:
        lane.scheduled.pop(key, None)
        lane.internal.pop(key, None)
        self.metrics.webhook_pending.labels(endpoint=lane.endpoint.id).set(len(lane.scheduled))

    def _catch_up(self, lane: _Lane) -> None:
        """The endpoint answers again: try its waiting deliveries now, not at their times."""
        waiting = list(lane.timers.items())
        for key, timer in waiting:
            timer.cancel()
            lane.early.add(key)
            lane.queue.put_nowait(key)
        lane.timers.clear()
        if waiting:
            log.info("webhook endpoint %s answers again: retrying its %d waiting deliveries now",
                     lane.endpoint.display_url, len(waiting))

    async def _worker(self, lane: _Lane) -> None:
        me = asyncio.current_task()
        assert me is not None
        while not self._closing:
            key = await lane.queue.get()
            lane.busy.add(me)
            try:
                await self._process(lane, key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - never let one entry kill the lane, nor drop it
                await self._internal_failure(lane, key, exc)
            finally:
                lane.busy.discard(me)

    async def _internal_failure(self, lane: _Lane, key: str, exc: Exception) -> None:
        """A failure inside the dispatcher (a bug, a store that could not write): the entry is
        still in the store, so it is tried again on the retry schedule like a failed attempt,
        and dead-lettered (``exhausted``) when the schedule is spent. Never dropped."""
        failures = lane.internal[key] = lane.internal.get(key, 0) + 1
        error = wh.scrub(f"{type(exc).__name__}: {exc}", lane.endpoint.url)
        alert_id = key.partition("|")[2]
        if failures < self.policy.attempts:
            delay = self.policy.next_delay(failures, self.rand)
            log.error("webhook delivery %s to %s failed internally (%s); trying again in %.1fs", alert_id,
                      lane.endpoint.display_url, error, delay, exc_info=True)
            if not self._closing:
                self._schedule(lane, key, delay)
            return
        try:
            entry = dict(self.store.get(key) or {})
            if "alert" not in entry or wh.is_done(entry):  # nothing left to deliver or to dead-letter
                self._done(lane, key)
                return
            entry["last_error"] = f"internal error: {error}"
            record = wh.dead_letter_record(entry, reason="exhausted", now=self.clock())
            if self.on_dead_letter is not None:
                await self.on_dead_letter(record)
            self._finish(key, entry, "dead_letter")
            self.metrics.webhook_outcome(lane.endpoint.id, "dead_letter")
            log.error("webhook delivery %s to %s dead-lettered after %d internal failures (%s)", alert_id,
                      lane.endpoint.display_url, failures, error)
        except Exception as again:  # noqa: BLE001 - kept in the store: resumed after the next restart
            log.error("webhook delivery %s: cannot dead-letter it either (%s); kept for the next resume",
                      alert_id, type(again).__name__, exc_info=True)
        self._done(lane, key)

    async def _process(self, lane: _Lane, key: str) -> None:
        raw = self.store.get(key)
        if raw is None or wh.is_done(raw):  # delivered or dead-lettered meanwhile (e.g. by another worker)
            self._done(lane, key)
            return
        entry = dict(raw)
        if "dead_letter" in entry:
            await self._dead_letter(lane, key, entry)
            return
        ep = lane.endpoint
        early = key in lane.early
        lane.early.discard(key)
        attempt = int(entry.get("attempts", 0)) + 1
        status, error, retry_after = await self._attempt(ep, entry["alert"])
        decision = self.policy.classify(status)
        if decision == Decision.DELIVERED:
            self._finish(key, entry, "delivered")
            self.metrics.webhook_outcome(ep.id, "delivered")
            log.info("webhook %s delivered to %s (attempt %d)", entry["alert"]["alert_id"], ep.display_url, attempt)
            self._done(lane, key)
            if lane.timers:
                self._catch_up(lane)
            return
        if early and decision == Decision.RETRY:
            # A catch-up try that failed is not counted: the entry keeps its place in the
            # schedule (one alert the receiver keeps failing must not be used up by the others'
            # successes).
            due = float(entry.get("next_attempt_at", self.clock()))
            if not self._closing:
                self._schedule(lane, key, max(0.0, due - self.clock()))
            return
        entry["attempts"] = attempt
        entry["last_status"], entry["last_error"] = status, error
        if decision == Decision.RETRY and not self.policy.gives_up(attempt, ep.max_attempts):
            delay = self.policy.next_delay(attempt, self.rand, retry_after)
            entry["next_attempt_at"] = self.clock() + delay
            self.store[key] = entry
            self.metrics.webhook_outcome(ep.id, "retried")
            log.warning("webhook %s to %s failed (attempt %d: %s); retrying in %.2fs",
                        entry["alert"]["alert_id"], ep.display_url, attempt, error or status, delay)
            if not self._closing:
                self._schedule(lane, key, delay)
            return
        reason = "rejected" if decision == Decision.PERMANENT else "exhausted"
        entry["dead_letter"] = wh.dead_letter_record(entry, reason=reason, now=self.clock())
        self.store[key] = entry
        self.metrics.webhook_outcome(ep.id, "dead_letter")
        log.warning("webhook %s to %s dead-lettered after %d attempt(s): %s",
                    entry["alert"]["alert_id"], ep.display_url, attempt, error or status)
        await self._dead_letter(lane, key, entry)

    async def _attempt(self, ep: Endpoint, alert: Mapping[str, Any]) -> tuple[int | None, str | None, float | None]:
        """One POST. Returns (status or None, error text or None, Retry-After seconds or None).

        Whatever goes wrong on the way (refused, reset, closed keep-alive connection, timeout,
        a garbled answer, an exception from the HTTP client itself) is a failed attempt with
        the error's name in ``error``, never an exception out of here.
        """
        if self._session is None:
            return None, "dispatcher stopping: no HTTP session", None
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            body = wh.body_bytes(alert, self.source)
            headers = wh.signed_headers(ep.keys, alert["alert_id"], int(self.clock()), body)
            async with self._session.post(ep.url, data=body, headers=headers, allow_redirects=False,
                                          timeout=aiohttp.ClientTimeout(total=ep.timeout)) as resp:
                await resp.read()
                status = resp.status
                retry_after = wh.parse_retry_after(resp.headers.get("Retry-After"), self.clock())
                error = None if 200 <= status < 300 else f"HTTP {status} {resp.reason or ''}".strip()
                return status, error, retry_after
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            return None, f"timeout after {ep.timeout:g}s", None
        except Exception as exc:  # noqa: BLE001 - see the docstring: any failure is an attempt's failure
            if not isinstance(exc, (aiohttp.ClientError, OSError, ValueError)):
                log.warning("webhook POST to %s raised %s (counted as a failed attempt)", ep.display_url,
                            type(exc).__name__, exc_info=True)
            return None, wh.scrub(f"{type(exc).__name__}: {exc}", ep.url), None
        finally:
            self.metrics.webhook_latency.labels(endpoint=ep.id).observe(loop.time() - start)

    async def _dead_letter(self, lane: _Lane, key: str, entry: dict[str, Any]) -> None:
        try:
            if self.on_dead_letter is not None:
                await self.on_dead_letter(entry["dead_letter"])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the callback is the app's; any failure is retried
            attempt = int(entry.get("dl_attempts", 0)) + 1
            entry["dl_attempts"] = attempt
            self.store[key] = entry
            delay = self.policy.next_delay(attempt, self.rand)
            log.error("webhook dead-letter callback failed (%s); retrying in %.2fs", type(exc).__name__, delay)
            if not self._closing:
                self._schedule(lane, key, delay)
            return
        self._finish(key, entry, "dead_letter")
        self._done(lane, key)

    async def _orphan(self, key: str, entry: dict[str, Any]) -> None:
        """An entry whose endpoint is no longer configured: dead-letter it."""
        record = entry.get("dead_letter") or wh.dead_letter_record(entry, reason="endpoint_removed",
                                                                   now=self.clock())
        try:
            if self.on_dead_letter is not None:
                await self.on_dead_letter(record)
        except Exception as exc:  # noqa: BLE001 - the callback is the app's; any failure is retried
            log.error("webhook dead-letter callback failed (%s); kept for the next resume()", type(exc).__name__)
            return
        self.metrics.webhook_outcome(entry.get("endpoint") or "unknown", "dead_letter")
        self.store.pop(key, None)


def _created(entry: Mapping[str, Any], default: float) -> float:
    try:
        return float(entry.get("created", default))
    except (TypeError, ValueError):
        return default
