"""Webhooks end to end: a real worker (subprocess) on the real broker POSTs the seed alert to real
HTTP endpoints (an aiohttp server on 127.0.0.1), signed, retried, dead-lettered, durable."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from .kafkaio import Collector, key_version, offline, produce, seed_lines, synthetic_feed, uri_of
from .receiver import Receiver, documented_verifier, make_secret, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

FIRST = 90.0  # worker start (imports, group join) + first story
NEXT = 30.0
TIMEOUT = 2.0  # WIRESTREAM_WEBHOOK_TIMEOUT of these tests
OUTPUTS = ("stories.clustered", "story-updates", "dead-letter", "events", "webhook-dead-letter")


def webhook_env(tmp_path: Path, endpoints: list[dict], **extra: str) -> dict[str, str]:
    config = tmp_path / "webhooks.json"
    config.write_text(json.dumps({"endpoints": endpoints}), "utf-8")
    return {"WIRESTREAM_WEBHOOK_CONFIG": str(config), "WIRESTREAM_WEBHOOK_TIMEOUT": str(TIMEOUT),
            "WIRESTREAM_WEBHOOK_RETRY_SCHEDULE": "0.2s,0.4s,0.8s,1s,1s",  # 6 attempts in ~3.4 s
            "WIRESTREAM_WEBHOOK_ALLOW_PRIVATE": "1",  # the receivers are on 127.0.0.1
            **extra}


async def feed_seeds(settings, out: Collector, worker) -> dict:
    """The two seeds, one at a time (their order defines the example); returns the alert."""
    for i, line in enumerate(seed_lines()):
        await produce(settings, [(uri_of(line), line)])
        await out.until(lambda c, kv=key_version(line): kv in c.clustered_keys(), FIRST if i == 0 else NEXT,
                        what=f"{key_version(line)} on stories.clustered", alive=lambda: worker.alive,
                        logs=worker.log_tail)
    await out.until(lambda c: len(c.alerts()) >= 1, NEXT, what="the seed alert", logs=worker.log_tail)
    return out.alerts()[0]


async def test_seed_alert_is_signed_retried_dead_lettered_and_never_held_up(settings, workers, tmp_path):
    from streams.core.validate import validator

    verify = documented_verifier()
    secret_a, secret_b, secret_c = make_secret(1), make_secret(2), make_secret(3)
    async with Receiver() as rx, Collector(settings, OUTPUTS) as out:
        rx.answer("/a", 200)
        rx.answer("/b", 200)
        rx.answer("/flaky", [500, 500, 500, 200])
        rx.answer("/gone", 410)
        rx.answer("/hung", "hang")
        env = webhook_env(tmp_path, [
            {"id": "a", "url": rx.url("/a"), "secret": secret_a},
            {"id": "b", "url": rx.url("/b"), "secret": secret_b},
            {"id": "flaky", "url": rx.url("/flaky"), "secret": secret_c},
            {"id": "gone", "url": rx.url("/gone"), "secret": secret_c},
            {"id": "hung", "url": rx.url("/hung"), "secret": secret_c},
        ])
        worker = workers(settings, env=env)
        alert = await feed_seeds(settings, out, worker)
        alert_id = alert["alert_id"]

        await wait_for(lambda: rx.delivered("/a") and rx.delivered("/b") and rx.delivered("/flaky"), NEXT,
                       "deliveries to a, b and flaky", alive=lambda: worker.alive, logs=worker.log_tail)
        await out.until(lambda c: len(c.records["webhook-dead-letter"]) >= 1, NEXT,
                        what="the 410 on wire.webhook-dead-letter", logs=worker.log_tail)
        await out.poll(1.0)  # room for any duplicate to show up

        # /metrics counts the outcomes per endpoint id (never the URL)
        from prometheus_client.parser import text_string_to_metric_families
        import aiohttp

        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{worker.web_port}/metrics") as resp:
                text = await resp.text()
        outcomes = {(s.labels["endpoint"], s.labels["outcome"]): s.value
                    for f in text_string_to_metric_families(text) if f.name == "wirestream_webhook_deliveries"
                    for s in f.samples if s.name.endswith("_total")}
        assert "127.0.0.1" not in str(outcomes)

    # one signed POST per healthy endpoint, verified with the documented recipe and its own secret
    for path, secret in (("/a", secret_a), ("/b", secret_b)):
        [request] = rx.requests(path)
        cloud_event = verify(secret, request.headers, request.body)
        assert request.headers["webhook-id"] == alert_id == cloud_event["id"]
        assert cloud_event["data"] == alert
        assert cloud_event["specversion"] == "1.0" and cloud_event["subject"] == alert["event_id"]
        assert request.headers["Content-Type"].startswith("application/cloudevents+json")
    [request] = rx.requests("/b")
    with pytest.raises(ValueError):
        verify(secret_a, request.headers, request.body)  # another endpoint's secret does not verify
    # 500, 500, 500, then 200: four attempts, the same idempotency key every time, each signed
    flaky = rx.requests("/flaky")
    assert [r.status for r in flaky] == [500, 500, 500, 200]
    assert {r.headers["webhook-id"] for r in flaky} == {alert_id}
    for request in flaky:
        assert verify(secret_c, request.headers, request.body)["id"] == alert_id
    # 410 is permanent: one attempt, then the webhook dead letter with the last status
    assert len(rx.requests("/gone")) == 1
    [letter] = out.records["webhook-dead-letter"]
    [message] = out.messages["webhook-dead-letter"]
    validator("webhook-dead-letter").validate(letter)
    assert message.key.decode() == alert_id
    assert (letter["reason"], letter["endpoint_id"], letter["last_status"], letter["attempts"]) == (
        "rejected", "gone", 410, 1)
    assert letter["alert"] == alert
    # the hung endpoint got the alert at the same time and never answered; the healthy one was
    # not held up by it (delivered before the hung request even timed out)
    hung_first = rx.requests("/hung")[0]
    assert hung_first.status is None
    for path in ("/a", "/b"):
        assert rx.delivered(path)[0].at - hung_first.at < TIMEOUT
    assert outcomes[("a", "delivered")] == 1 and outcomes[("b", "delivered")] == 1
    assert outcomes[("flaky", "retried")] == 3 and outcomes[("flaky", "delivered")] == 1
    assert outcomes[("gone", "dead_letter")] == 1
    assert worker.alive


async def test_pending_delivery_survives_a_worker_kill(settings, workers, tmp_path):
    """The endpoint answers 503 while the first worker runs; the worker is SIGKILLed with the
    delivery pending; the next worker recovers it from the table's changelog and delivers it."""
    verify = documented_verifier()
    secret = make_secret(4)
    async with Receiver() as rx, Collector(settings, OUTPUTS) as out:
        rx.answer("/down", 503)
        env = webhook_env(tmp_path, [{"id": "down", "url": rx.url("/down"), "secret": secret}],
                          WIRESTREAM_WEBHOOK_MAX_ATTEMPTS="1000",
                          # the killed member leaves the group when its session times out
                          WIRESTREAM_SESSION_TIMEOUT="6", WIRESTREAM_REBALANCE_TIMEOUT="6")
        first = workers(settings, env=env)
        alert = await feed_seeds(settings, out, first)
        # a few failed attempts: the entry (with its attempt count) is in the changelog by now;
        # the story-updates offset may not be committed yet (Faust commits every 2.8 s), so the
        # next worker may read the alert again: it must still POST it once
        await wait_for(lambda: len(rx.requests("/down")) >= 4, NEXT, "attempts at the 503 endpoint",
                       alive=lambda: first.alive, logs=first.log_tail)
        first.kill()
        attempts_before = len(rx.requests("/down"))
        rx.answer("/down", 200)
        second = workers(settings, env=env)
        await wait_for(lambda: rx.delivered("/down"), FIRST, "the delivery after the restart",
                       alive=lambda: second.alive, logs=second.log_tail)
        await wait_for(lambda: "resumed" in second.log_path.read_text("utf-8", "replace"), 5,
                       "the resume log line", logs=second.log_tail)
        assert len(out.records["webhook-dead-letter"]) == 0

    requests = rx.requests("/down")
    assert attempts_before >= 4 and len(rx.delivered("/down")) == 1
    assert {r.headers["webhook-id"] for r in requests} == {alert["alert_id"]}
    delivered = rx.delivered("/down")[0]
    assert verify(secret, delivered.headers, delivered.body)["data"] == alert
    assert "resumed 1 pending webhook deliveries" in second.log_path.read_text("utf-8", "replace")


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:8080/in"])
async def test_a_private_webhook_url_stops_the_worker_with_one_line(settings, workers, url):
    worker = workers(settings, env={"WIRESTREAM_WEBHOOKS": url, "WIRESTREAM_WEBHOOK_SECRET": make_secret(5)})
    code = worker.proc.wait(60)
    text = worker.log_path.read_text("utf-8", "replace").strip()
    assert code == 2 and "Traceback" not in text
    last = text.splitlines()[-1]
    assert last.startswith("wirestream: WIRESTREAM_WEBHOOKS entry #1: ")
    assert "address" in last and "WIRESTREAM_WEBHOOK_ALLOW_PRIVATE=1" in last


async def test_a_non_http_webhook_url_stops_the_worker_with_one_line(settings, workers):
    worker = workers(settings, env={"WIRESTREAM_WEBHOOKS": "ftp://hooks.example.com/in"})
    code = worker.proc.wait(60)
    text = worker.log_path.read_text("utf-8", "replace").strip()
    assert code != 0
    assert "Traceback" not in text
    assert text.splitlines()[-1].startswith("wirestream: WIRESTREAM_WEBHOOKS entry #1")
    assert "http://" in text and "https://" in text


# --------------------------------------------------------------------------------------------
# Acceptance: outages and dropped connections lose nothing, with the DEFAULT retry schedule

OUTAGE = 150.0


async def _get_json(port: int, path: str) -> dict:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}{path}") as resp:
            return await resp.json()


async def _metrics(port: int) -> dict:
    import aiohttp
    from prometheus_client.parser import text_string_to_metric_families

    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
            text = await resp.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


@pytest.mark.slow
@pytest.mark.timeout(720)
async def test_receiver_down_150s_and_one_dropping_connections_lose_nothing(settings, workers, tmp_path):
    """Mid-stream, one receiver goes down for 150 s (refused connections; its keep-alive
    connections closed under the worker), another drops, resets, garbles and closes connections
    all along. With the default retry schedule (no retry setting in the environment): every
    alert is accepted exactly once by each receiver, none is dead-lettered, every request
    carries a valid signature; the backlog shows on /health and /metrics during the outage, and
    the first minutes of the schedule bring the alerts held up by the outage through without
    waiting for newer ones."""
    import standardwebhooks

    feed = synthetic_feed(12)
    _, expected = offline(feed)
    phases = [feed[:12], feed[12:24], feed[24:]]
    ids_by_phase = []
    for phase in phases:
        keys = {key_version(line) for line in phase}
        ids_by_phase.append({a["alert_id"] for a in expected if (a["story"]["uri"], a["story"]["version"]) in keys})
    expected_ids = {a["alert_id"] for a in expected}
    assert all(ids_by_phase) and len(expected_ids) >= 15

    secret = make_secret(9)
    drops = ["drop", 200, "reset", "garbage", 200, "close-after", "drop", "close-after", "reset", 200]
    async with Receiver() as down, Receiver() as rough, Collector(settings, OUTPUTS) as out:
        down.answer("/down", 200)
        rough.answer("/rough", drops * 3 + ["close-after"])
        env = {"WIRESTREAM_WEBHOOK_CONFIG": str(tmp_path / "hooks.json"), "WIRESTREAM_WEBHOOK_ALLOW_PRIVATE": "1",
               "WIRESTREAM_WEBHOOK_TIMEOUT": "3"}
        (tmp_path / "hooks.json").write_text(json.dumps({"secret": secret, "endpoints": [
            {"id": "down", "url": down.url("/down")}, {"id": "rough", "url": rough.url("/rough")}]}))
        worker = workers(settings, env=env)
        alive = {"alive": lambda: worker.alive, "logs": worker.log_tail}

        def accepted(rx: Receiver, path: str) -> set[str]:
            return {r.headers["webhook-id"] for r in rx.delivered(path)}

        await produce(settings, [(uri_of(line), line) for line in phases[0]], partition=0)
        await wait_for(lambda: accepted(down, "/down") >= ids_by_phase[0], FIRST, "phase 1 at the receiver", **alive)

        await down.stop()  # down: refused from now on, its open connections closed
        outage_start = time.monotonic()
        await produce(settings, [(uri_of(line), line) for line in phases[1]], partition=0)
        await out.until(lambda c: {a["alert_id"] for a in c.alerts()} >= ids_by_phase[1], NEXT,
                        what="phase 2's alerts on wire.story-updates", **alive)
        await asyncio.sleep(max(0.0, outage_start + 60 - time.monotonic()))
        health = await _get_json(worker.web_port, "/health")
        backlog = health["webhooks"]["by_endpoint"]["down"]
        assert backlog["pending"] == len(ids_by_phase[1]) and 40 <= backlog["oldest_age_seconds"] <= 90, health
        samples = await _metrics(worker.web_port)
        assert samples[("wirestream_webhook_pending", (("endpoint", "down"),))] == len(ids_by_phase[1])
        assert samples[("wirestream_webhook_oldest_pending_age_seconds", (("endpoint", "down"),))] >= 40

        await asyncio.sleep(max(0.0, outage_start + OUTAGE - time.monotonic()))
        await down.start()  # back on the same port after 150 s
        back = time.monotonic()
        # the default schedule's early steps (5 s, 10 s, 30 s, 1 min, 2 min ...) alone bring them
        # through: no new alert is sent until they are all in
        await wait_for(lambda: accepted(down, "/down") >= ids_by_phase[1], 120,
                       "phase 2 at the receiver after the outage", **alive)
        caught_up = time.monotonic() - back

        await produce(settings, [(uri_of(line), line) for line in phases[2]], partition=0)
        await wait_for(lambda: accepted(down, "/down") >= expected_ids and accepted(rough, "/rough") >= expected_ids,
                       NEXT * 3, "every alert at both receivers", **alive)
        await out.poll(2.0)
        health = await _get_json(worker.web_port, "/health")
        assert health["webhooks"]["pending"] == 0 and health["webhooks"]["by_endpoint"]["down"] == {
            "pending": 0, "oldest_age_seconds": None}
        log = worker.log_path.read_text("utf-8", "replace")
        assert worker.alive

    assert out.records["webhook-dead-letter"] == []
    assert "failed internally" not in log
    hook = standardwebhooks.Webhook(secret)
    for rx, path in ((down, "/down"), (rough, "/rough")):
        accepted_ids = [r.headers["webhook-id"] for r in rx.delivered(path)]
        assert sorted(accepted_ids) == sorted(expected_ids), path  # each exactly once
        for request in rx.requests(path):
            event = hook.verify(request.body, request.headers)
            assert event["id"] == request.headers["webhook-id"] and event["data"]["alert_id"] == event["id"]
    failures = [r for r in rough.requests("/rough") if r.status is None]
    assert len(failures) >= 10  # the rough receiver did fail many attempts
    print(f"alerts: {len(expected_ids)}; held up by the outage: {len(ids_by_phase[1])}, all in "
          f"{caught_up:.0f}s after the receiver came back; rough receiver: {len(failures)} failed attempts")
