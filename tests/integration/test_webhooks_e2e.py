"""Webhooks end to end: a real worker (subprocess) on the real broker POSTs the seed alert to real
HTTP endpoints (an aiohttp server on 127.0.0.1), signed, retried, dead-lettered, durable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .kafkaio import Collector, key_version, produce, seed_lines, uri_of
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
            "WIRESTREAM_WEBHOOK_BACKOFF_BASE": "0.2", "WIRESTREAM_WEBHOOK_BACKOFF_MAX": "1",
            "WIRESTREAM_WEBHOOK_MAX_ATTEMPTS": "6", **extra}


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
        # a few failed attempts: the entry (with its attempt count) is in the changelog by now,
        # and the story-updates offset is committed (so the next worker does not re-read the alert)
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


async def test_a_non_http_webhook_url_stops_the_worker_with_one_line(settings, workers):
    worker = workers(settings, env={"WIRESTREAM_WEBHOOKS": "ftp://hooks.example.com/in"})
    code = worker.proc.wait(60)
    text = worker.log_path.read_text("utf-8", "replace").strip()
    assert code != 0
    assert "Traceback" not in text
    assert text.splitlines()[-1].startswith("wirestream: WIRESTREAM_WEBHOOKS entry #1")
    assert "http://" in text and "https://" in text
