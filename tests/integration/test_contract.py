"""The subscriber contract: every message a real run publishes on every public topic is valid
against its schema in ``schemas/``, with the documented key; the aiokafka consumer example of
README.md runs as written."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from .kafkaio import Collector, key_version, produce, seed_lines, uri_of
from .receiver import Receiver

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
FIRST = 90.0
NEXT = 30.0
#: public topic -> (schema, what its key is)
CONTRACT = {
    "stories.clustered": ("clustered", "event_id"),
    "events": ("event", "event_id"),
    "story-updates": ("story-update", "event_id"),
    "dead-letter": ("dead-letter", None),
    "webhook-dead-letter": ("webhook-dead-letter", "alert_id"),
}


def consumer_example():
    text = (ROOT / "README.md").read_text("utf-8")
    match = re.search(r"<!-- consumer-example -->\s*```python\n(.*?)```", text, re.S)
    assert match, "README.md has no consumer-example"
    namespace: dict = {}
    exec(compile(match.group(1), "README.md#consumer-example", "exec"), namespace)  # noqa: S102
    return namespace["follow"]


async def test_every_public_message_matches_its_schema(settings, workers, tmp_path):
    from streams.kafka.broker import bootstrap_servers
    from streams.core.validate import validator

    malformed = (b"k-bad", b'{"uri": "urn:bad:no-body", "headline": "no body_text"}')
    async with Receiver() as rx, Collector(settings, tuple(CONTRACT)) as out:
        rx.answer("/gone", 410)  # so that there is a webhook dead letter to check too
        worker = workers(settings, env={"WIRESTREAM_WEBHOOKS": rx.url("/gone"),
                                        "WIRESTREAM_WEBHOOK_SECRET": "whsec_" + "QUJD" * 8,
                                        "WIRESTREAM_WEBHOOK_ALLOW_PRIVATE": "1"})  # rx is on 127.0.0.1
        await produce(settings, [malformed])
        for i, line in enumerate(seed_lines()):
            await produce(settings, [(uri_of(line), line)])
            await out.until(lambda c, kv=key_version(line): kv in c.clustered_keys(), FIRST if i == 0 else NEXT,
                            what=f"{key_version(line)} on stories.clustered", alive=lambda: worker.alive,
                            logs=worker.log_tail)
        await out.until(lambda c: all(c.records[t] for t in CONTRACT), NEXT,
                        what="a message on every public topic", logs=worker.log_tail)
        await out.poll(1.0)

        # the documented consumer, as written, receives the alert
        lines: list[str] = []

        async def handle(line: str) -> None:
            lines.append(line)

        follow = consumer_example()
        task = asyncio.create_task(follow(bootstrap_servers(settings.broker), settings.topic("story-updates"),
                                          handle))
        try:
            for _ in range(200):
                if lines or task.done():
                    break
                await asyncio.sleep(0.1)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    checked = 0
    for topic, (schema, key_field) in CONTRACT.items():
        check = validator(schema)
        for message, record in zip(out.messages[topic], out.records[topic]):
            errors = [f"{'.'.join(map(str, e.absolute_path)) or '(document)'}: {e.message}"
                      for e in check.iter_errors(record)]
            assert not errors, f"{topic} message does not match {schema}.schema.json: {errors}\n{json.dumps(record)[:500]}"
            if key_field:
                assert message.key.decode() == record[key_field], topic
            checked += 1
    assert [r["reason"] for r in out.records["dead-letter"]] == ["schema"]
    assert out.messages["dead-letter"][0].key == b"k-bad"
    alert = out.records["story-updates"][0]
    assert lines == [f"{alert['event_id']}: {alert['story']['headline']} (+{len(alert['new_facts'])} facts)"]
    print(f"{checked} messages valid on {len(CONTRACT)} public topics")
