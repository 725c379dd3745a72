"""The newsroom page's server side without a broker: assets, feed messages, SSE framing, and the
feed's fan-out (every subscriber gets every frame; one that falls behind is dropped, told so)."""

from __future__ import annotations

import asyncio
import copy
import re

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.config import Settings
from streams.core.events import EventState
from streams.core.pipeline import Pipeline
from streams.web.page import ASSETS, LiveFeed, Subscription, asset, feed_message, sse_frame

from .articles import FLOOD_V1, FLOOD_V2_TOLL


def test_every_asset_ships_and_nothing_else_is_served():
    for name, content_type in ASSETS.items():
        content, kind = asset(name)
        assert kind == content_type and len(content) > 500
    for name in ("../page.py", "static/app.js", "app.js.map", "", "views.py", "__init__.py"):
        assert asset(name) is None


def test_page_loads_only_its_own_assets():
    html = asset("index.html")[0].decode()
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    local = [r for r in refs if not r.startswith(("#", "data:"))]
    assert set(local) <= {"/static/app.js", "/static/app.css", "/events"}
    assert "http://" not in html and "https://" not in html
    js = asset("app.js")[0].decode()
    assert "innerHTML" not in js  # data is put in the page as text nodes only
    assert not re.search(r"https?://", js)


@given(st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(),  # what JSON records hold
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                    max_leaves=10))
def test_sse_frame_is_one_message_whatever_the_data(data):
    frame = sse_frame("alert", data)
    assert frame.endswith(b"\n\n") and frame.count(b"\n\n") == 1
    head, body = frame[:-2].split(b"\n")
    assert head == b"event: alert" and body.startswith(b"data: ")
    assert orjson.loads(body[6:]) == data


def test_feed_message_of_a_snapshot_is_its_list_item_plus_counts():
    pipeline = Pipeline()
    for doc in (FLOOD_V1, FLOOD_V2_TOLL):
        out = pipeline.process_document(copy.deepcopy(doc), arrival=0.0)
    snapshot = out.event
    state = EventState.from_dict(pipeline.events[snapshot["event_id"]])
    name, item = feed_message("events", snapshot)
    assert name == "event"
    assert {k: v for k, v in item.items() if k not in ("stories", "alerts")} == {
        "event_id": state.event_id, **state.summary()}  # exactly what GET /events lists
    assert item["stories"] == 2 and item["alerts"] == 1
    assert feed_message("story-updates", out.alert) == ("alert", out.alert)


@pytest.mark.parametrize("value", [None, [], "x", {"no": "event id"}, {"event_id": 3}])
def test_feed_message_skips_what_is_not_a_record(value):
    assert feed_message("events", value) is None and feed_message("story-updates", value) is None
    assert feed_message("dead-letter", {"event_id": "e"}) is None


async def test_fan_out_and_a_slow_subscriber_is_dropped_with_a_reset():
    feed = LiveFeed(Settings(), queue_size=3)
    fast, slow = Subscription(asyncio.Queue(3)), Subscription(asyncio.Queue(3))
    feed.subscribers |= {fast, slow}
    frames = [sse_frame("alert", {"n": i}) for i in range(4)]
    got = []
    for frame in frames:
        feed._publish(frame)
        got.append(await fast.next(0.1))  # fast reads each at once
    assert got == frames
    assert slow not in feed.subscribers and fast in feed.subscribers
    assert await slow.next(0.1) == sse_frame("reset", {"reason": "fell behind"})
    assert await slow.next(0.1) is None  # then the end of its stream
    assert await fast.next(0.05) == b""  # nothing more: a heartbeat's turn


async def test_close_ends_every_subscription_and_refuses_new_ones():
    feed = LiveFeed(Settings())
    sub = Subscription(asyncio.Queue(10))
    feed.subscribers.add(sub)
    await feed.close()
    assert await sub.next(0.1) is None
    with pytest.raises(Exception, match="stopping"):
        await feed.subscribe()
