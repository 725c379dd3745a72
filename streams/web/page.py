"""The newsroom page, served by every worker on its web port.

    GET /                 the page (static HTML; no token needed to load it)
    GET /static/{name}    its script and style sheet (shipped in the package: streams/web/static)
    GET /alerts/stream    the live feed: Server-Sent Events (text/event-stream)

The page reads everything through the documented API (``/events``, ``/events/{id}``), which
gathers and routes across workers, so events held by other workers appear too. The live feed is
fed by one plain aiokafka consumer per worker that reads *every* partition of
``wire.story-updates`` and ``wire.events`` (no consumer group, from the end), so each worker's
feed carries every worker's alerts and event changes. The consumer runs only while a page is
connected: it starts with the first subscriber and stops a while after the last one left.

Feed messages (``event:`` name, JSON ``data:``):

* ``ready`` — the feed reads from the end of the topics now; anything newer will be sent, so the
  page loads its data *after* this (no gap between what it fetched and what it is sent);
* ``alert`` — a story-update alert, as on ``wire.story-updates`` (schemas/story-update.schema.json);
* ``event`` — an event changed: its ``/events`` list item (``event_id`` + summary) plus
  ``stories`` and ``alerts`` (how many story versions and alerts its snapshot holds), so the page
  can tell whether a fetched ``/events/{id}`` already includes the change;
* ``reset`` — this subscriber fell behind and was dropped: reconnect and reload.

A comment line (``: keep-alive``) is sent every ``HEARTBEAT`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson

log = logging.getLogger("wirestream.web.page")

HEARTBEAT = 15.0
LINGER = 30.0  # keep the consumer this long after the last page left (a reload reuses it)
MAX_SUBSCRIBERS = 200
QUEUE_SIZE = 1000  # frames a subscriber may be behind before it is dropped (``reset``)
READY_TIMEOUT = 15.0

ASSETS: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}

# The page loads nothing from elsewhere: everything it needs is its own (works offline).
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate, so an upgraded worker serves its own page
}


class FeedUnavailable(RuntimeError):
    """The live feed cannot serve this subscriber (too many, or the broker cannot be read)."""


# --------------------------------------------------------------------------- pure helpers


def asset(name: str) -> tuple[bytes, str] | None:
    """``(content, content type)`` of a shipped page asset; ``None`` for any other name."""
    content_type = ASSETS.get(name)
    if content_type is None:
        return None
    return resources.files("streams.web").joinpath("static", name).read_bytes(), content_type


def sse_frame(event: str, data: Any) -> bytes:
    """One Server-Sent Events message. orjson never emits a raw newline, so ``data`` is one line."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def feed_message(topic_kind: str, value: Any) -> tuple[str, dict[str, Any]] | None:
    """The feed message for one record of a public topic, or ``None`` to skip it."""
    if not isinstance(value, dict) or not isinstance(value.get("event_id"), str):
        return None
    if topic_kind == "story-updates":
        return "alert", value
    if topic_kind == "events":
        item = {"event_id": value["event_id"]}
        for key in ("headline", "lang", "languages", "story_count", "sources", "first_seen", "last_update"):
            item[key] = value.get(key)
        item["stories"] = len(value.get("stories") or ())
        item["alerts"] = len(value.get("alerts") or ())
        return "event", item
    return None


# --------------------------------------------------------------------------- the live feed


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue

    async def next(self, timeout: float) -> bytes | None:
        """The next frame; ``b""`` after ``timeout`` without one; ``None`` when dropped or closed."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            return b""


class LiveFeed:
    """Fans the new records of ``wire.story-updates`` and ``wire.events`` out to subscribers."""

    def __init__(self, settings: Any, *, linger: float = LINGER, max_subscribers: int = MAX_SUBSCRIBERS,
                 queue_size: int = QUEUE_SIZE) -> None:
        self.settings = settings
        self.linger = linger
        self.max_subscribers = max_subscribers
        self.queue_size = queue_size
        self.kinds = {settings.topic("story-updates"): "story-updates", settings.topic("events"): "events"}
        self.subscribers: set[Subscription] = set()
        self._consumer: Any = None
        self._task: asyncio.Task | None = None
        self._stopper: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    async def subscribe(self) -> Subscription:
        """A new subscription; returns once the feed reads from the end of the topics."""
        if self._closed:
            raise FeedUnavailable("the worker is stopping")
        if len(self.subscribers) >= self.max_subscribers:
            raise FeedUnavailable(f"too many live pages on this worker (at most {self.max_subscribers})")
        if self._stopper is not None:
            self._stopper.cancel()
            self._stopper = None
        await self._ensure_consumer()
        sub = Subscription(asyncio.Queue(self.queue_size))
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscribers.discard(sub)
        if not self.subscribers and self._consumer is not None and self._stopper is None and not self._closed:
            self._stopper = asyncio.ensure_future(self._stop_later())

    async def close(self) -> None:
        """End every subscription and stop the consumer (the worker is stopping)."""
        self._closed = True
        for sub in list(self.subscribers):
            self._drop(sub)
        if self._stopper is not None:
            self._stopper.cancel()
        await self._stop_consumer()

    # ------------------------------------------------------------------ internals

    async def _ensure_consumer(self) -> None:
        async with self._lock:
            if self._consumer is not None:
                return
            from aiokafka import AIOKafkaConsumer

            from ..kafka.broker import kafka_client_kwargs

            consumer = AIOKafkaConsumer(
                *self.kinds, group_id=None, auto_offset_reset="latest", enable_auto_commit=False,
                max_partition_fetch_bytes=self.settings.max_request_bytes, fetch_max_wait_ms=100,
                **kafka_client_kwargs(self.settings))
            try:
                await asyncio.wait_for(self._start_at_end(consumer), READY_TIMEOUT)
            except Exception as exc:  # noqa: BLE001 - any failure: the page retries later
                with contextlib.suppress(Exception):
                    await consumer.stop()
                log.warning("live feed: cannot read %s: %s", ", ".join(self.kinds), exc or type(exc).__name__)
                raise FeedUnavailable("the live feed cannot read the broker now; retry later") from exc
            self._consumer = consumer
            self._task = asyncio.ensure_future(self._run(consumer))

    @staticmethod
    async def _start_at_end(consumer: Any) -> None:
        await consumer.start()
        while not consumer.assignment():  # no group: every partition, once metadata is known
            await asyncio.sleep(0.05)
        await consumer.seek_to_end()
        for tp in consumer.assignment():
            await consumer.position(tp)  # resolve "the end" now, not at the first fetch

    async def _run(self, consumer: Any) -> None:
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=1000)
                for tp, messages in batches.items():
                    kind = self.kinds.get(tp.topic)
                    for message in messages:
                        try:
                            value = orjson.loads(message.value) if message.value is not None else None
                        except orjson.JSONDecodeError:
                            continue
                        found = feed_message(kind or "", value)
                        if found is not None:
                            self._publish(sse_frame(*found))
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - end the subscriptions; the pages reconnect
            log.exception("live feed: consumer failed")
            for sub in list(self.subscribers):
                self._drop(sub)
            self._consumer = None
            with contextlib.suppress(Exception):
                await consumer.stop()

    def _publish(self, frame: bytes) -> None:
        for sub in list(self.subscribers):
            try:
                sub.queue.put_nowait(frame)
            except asyncio.QueueFull:
                log.warning("live feed: a page fell %d messages behind; dropped it", self.queue_size)
                self._drop(sub, reset=True)

    def _drop(self, sub: Subscription, reset: bool = False) -> None:
        self.subscribers.discard(sub)
        while True:  # make room for the last word
            try:
                sub.queue.get_nowait()
            except asyncio.QueueEmpty:
                break
        if reset:
            sub.queue.put_nowait(sse_frame("reset", {"reason": "fell behind"}))
        sub.queue.put_nowait(None)

    async def _stop_later(self) -> None:
        try:
            await asyncio.sleep(self.linger)
        except asyncio.CancelledError:
            return
        self._stopper = None
        if not self.subscribers:
            await self._stop_consumer()

    async def _stop_consumer(self) -> None:
        async with self._lock:
            task, consumer = self._task, self._consumer
            self._task = self._consumer = None
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if consumer is not None:
                with contextlib.suppress(Exception):
                    await consumer.stop()


# --------------------------------------------------------------------------- views


def register_page(app: Any, wiring: Any) -> dict[str, Any]:
    """Add the page's views to ``app``; returns them by path.

    The web port's token gate (:func:`streams.web.views.api_middlewares`) guards the live feed
    like the rest of the API; the page and its assets are public (they hold no data, and the
    page asks for the token when the API answers 401).
    """
    import aiohttp.web
    from faust import web
    from mode import Service

    feed = LiveFeed(wiring.settings)

    def static_response(view: Any, name: str) -> Any:
        found = asset(name)
        if found is None:
            return view.error(404, "not found", path=f"/static/{name}")
        content, content_type = found
        return view.bytes(content, headers={**SECURITY_HEADERS, "Content-Type": content_type})

    @app.page("/", name="wirestream-page")
    class PageView(web.View):
        async def get(self, request: web.Request) -> web.Response:
            return static_response(self, "index.html")

    @app.page("/static/{name}", name="wirestream-page-asset")
    class AssetView(web.View):
        async def get(self, request: web.Request, name: str) -> web.Response:
            if name == "index.html":
                return self.error(404, "not found", path=f"/static/{name}")
            return static_response(self, name)

    @app.page("/alerts/stream", name="wirestream-alert-stream")
    class AlertStreamView(web.View):
        async def get(self, request: web.Request) -> Any:
            try:
                sub = await feed.subscribe()
            except FeedUnavailable as exc:
                return self.error(503, str(exc))
            response = aiohttp.web.StreamResponse(headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",  # no proxy buffering (nginx)
            })
            try:
                await response.prepare(request)
                await response.write(b"retry: 2000\n" + sse_frame("ready", {"worker": str(app.conf.canonical_url)}))
                while True:
                    frame = await sub.next(HEARTBEAT)
                    if frame is None:
                        break
                    await response.write(frame or b": keep-alive\n\n")
            except (ConnectionError, RuntimeError):  # the page went away (closed transport)
                pass
            finally:
                feed.unsubscribe(sub)
            return response

    @app.service
    class LiveFeedService(Service):
        """Ends the live streams and stops the feed's consumer when the worker stops."""

        async def on_stop(self) -> None:
            await feed.close()

    return {"/": PageView, "/static/{name}": AssetView, "/alerts/stream": AlertStreamView}
