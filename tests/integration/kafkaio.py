"""Helpers for the integration tests: read the output topics, produce input, make test feeds."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import orjson
import pytest

OUTPUTS = ("stories.clustered", "story-updates", "dead-letter", "events")


class Collector:
    """Reads the public output topics of one prefix into lists, from the beginning."""

    def __init__(self, settings: Any, topics: Iterable[str] = OUTPUTS, *,
                 isolation_level: str = "read_uncommitted") -> None:
        self.settings = settings
        self.isolation_level = isolation_level  # "read_committed": only what transactions committed
        self.names = {settings.topic(t): t for t in topics}
        self.records: dict[str, list[dict]] = {t: [] for t in topics}
        self.messages: dict[str, list[Any]] = {t: [] for t in topics}
        self.consumer: Any = None

    async def __aenter__(self) -> "Collector":
        from aiokafka import AIOKafkaConsumer

        from streams.kafka.broker import create_topics, kafka_client_kwargs

        await create_topics(self.settings)
        self.consumer = AIOKafkaConsumer(*self.names, group_id=None, auto_offset_reset="earliest",
                                         max_partition_fetch_bytes=8 * 1024 * 1024,
                                         isolation_level=self.isolation_level,
                                         **kafka_client_kwargs(self.settings))
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def poll(self, timeout: float = 0.5) -> int:
        batches = await self.consumer.getmany(timeout_ms=int(timeout * 1000))
        n = 0
        for tp, messages in batches.items():
            name = self.names[tp.topic]
            for message in messages:
                self.messages[name].append(message)
                self.records[name].append(orjson.loads(message.value))
                n += 1
        return n

    async def until(self, predicate: Callable[["Collector"], bool], timeout: float, *,
                    what: str = "condition", alive: Callable[[], bool] | None = None,
                    logs: Callable[[], str] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if alive is not None and not alive():
                pytest.fail(f"worker died while waiting for {what}\n{logs() if logs else ''}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{logs() if logs else ''}")
            await self.poll(0.3)

    def clustered_keys(self) -> set[tuple[str, int]]:
        return {(r["uri"], r["version"]) for r in self.records["stories.clustered"]}

    def alerts(self) -> list[dict]:
        return self.records["story-updates"]


async def produce(settings: Any, messages: Iterable[tuple[bytes | None, bytes | None]],
                  partition: int | None = None) -> None:
    """Send ``(key, value)`` pairs to the input topic, in order, and wait for the acks."""
    from aiokafka import AIOKafkaProducer

    from streams.kafka.broker import kafka_client_kwargs

    producer = AIOKafkaProducer(acks="all", enable_idempotence=False, max_request_size=8 * 1024 * 1024,
                                **kafka_client_kwargs(settings))
    await producer.start()
    try:
        futures = [await producer.send(settings.topic("stories"), value, key=key, partition=partition)
                   for key, value in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def bundled_samples() -> list[bytes]:
    from importlib import resources

    text = resources.files("streams").joinpath("data", "samples.jsonl").read_bytes()
    return [line for line in text.splitlines() if line.strip()]


def seed_lines() -> list[bytes]:
    """The two seed articles (first two lines of the bundled samples are the seeds)."""
    lines = [line for line in bundled_samples() if orjson.loads(line)["uri"].startswith("urn:seed:")]
    by_uri = {}
    for line in lines:
        by_uri.setdefault(orjson.loads(line)["uri"], line)
    return [by_uri["urn:seed:000"], by_uri["urn:seed:003"]]


def offline(lines: list[bytes], **kwargs: Any) -> tuple[list[dict], list[dict]]:
    """The core in-process over ``lines`` in order: (assignments, alerts) — the replay reference."""
    from streams.core.pipeline import Pipeline

    pipeline = Pipeline(**kwargs)
    assignments, alerts = [], []
    for line in lines:
        outcome = pipeline.process_document(orjson.loads(line), arrival=0.0)
        story = outcome.enriched.story
        assignments.append({"uri": story.uri, "version": story.version, "event_id": outcome.assignment.event_id,
                            "lang": outcome.enriched.lang})
        if outcome.alert is not None:
            alerts.append(outcome.alert)
    return assignments, alerts


# --------------------------------------------------------------------------- synthetic feed

_PLACES = ["Tamsvik", "Orlen Bay", "Marrowgate", "Kessel", "Port Avila", "Dunmore", "Velika", "Sandhaven",
           "Brightwater", "Kolvang", "Estrela", "Norrbro", "Caldera Springs", "Halden Ridge", "Mistral Point"]
_ORGS = ["Harbor Authority", "Northline Rail", "Coastal Energy", "Brannock Mining", "Civic Water Board",
         "Aurelia Airways", "Kestrel Steel", "Union of Dockworkers", "Meridian Health", "Solace Pharma"]
_PEOPLE = ["Maren Holt", "Tobias Rend", "Ilse Varga", "Omar Calloway", "Priya Desmond", "Jonas Wetter",
           "Clara Ibsen", "Rafael Monteiro", "Yuki Taren", "Anton Bersk"]
_KINDS = [
    ("fire", "A fire broke out at the {org} depot in {place} on {day}, sending thick smoke over the town.",
     "Firefighters from three districts fought the blaze through the night, {person} of the fire service said."),
    ("strike", "Workers at {org} in {place} walked out on {day} in a dispute over pay and staffing.",
     "Union leader {person} said the strike would continue until management reopened talks."),
    ("flood", "Heavy rain flooded low-lying streets in {place} on {day}, and the {org} closed several roads.",
     "Mayor {person} said emergency shelters had been opened in two schools."),
    ("outage", "A systems failure at {org} disrupted services across {place} on {day}.",
     "Chief executive {person} apologised to customers and said engineers were working on a fix."),
    ("merger", "{org} agreed on {day} to buy a smaller rival based in {place}, the companies said.",
     "{person}, who chairs the board, said the deal would create the largest group of its kind in the region."),
]
_UPDATES = [
    "Officials said {n1} people had been evacuated and {n2} buildings were damaged.",
    "The regional governor, {person2}, announced an inquiry into the causes on {day2}.",
    "Insurers estimated the cost at {n1} million crowns, and {n2} families asked for emergency aid.",
    "Police arrested {n3} people suspected of looting near the {org2} offices.",
    "The {org2} said it would pay compensation of {n1} crowns to each affected household.",
    "Inspectors from the national safety agency arrived in {place} on {day2} and sealed off {n2} sites.",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def synthetic_feed(events: int = 30, seed: int = 7) -> list[bytes]:
    """A deterministic English feed: ``events`` invented events, each told by a first story,
    its version 2 with new facts, and another outlet's story with other new facts; interleaved
    in time order. Written for the crash test (many alerts, nothing from the network)."""
    rng = random.Random(seed)
    stories: list[tuple[float, dict]] = []
    base = 1_700_000_000.0
    for e in range(events):
        place, org, org2 = rng.choice(_PLACES), rng.choice(_ORGS), rng.choice(_ORGS)
        person, person2 = rng.sample(_PEOPLE, 2)
        kind, lead, quote = _KINDS[e % len(_KINDS)]
        day, day2 = rng.sample(_DAYS, 2)
        values = dict(place=place, org=org, org2=org2, person=person, person2=person2, day=day, day2=day2,
                      n1=rng.randint(20, 900), n2=rng.randint(3, 80), n3=rng.randint(2, 15))
        updates = rng.sample(_UPDATES, 3)
        body1 = [lead.format(**values), quote.format(**values),
                 f"Residents of {place} described scenes of confusion as the {kind} unfolded.",
                 f"Event reference E{e:03d}: local reporters in {place} followed the {kind} all day."]
        t0 = base + e * 1800.0
        uri = f"urn:test:e{e:03d}:a"
        first = {"uri": uri, "version": 1, "source": "Test Wire A", "language": "en",
                 "headline": f"{kind.capitalize()} at {org} in {place}", "body_text": "\n\n".join(body1),
                 "versioncreated": _iso(t0)}
        second = dict(first, version=2, versioncreated=_iso(t0 + 3600),
                      headline=f"{kind.capitalize()} in {place}: update",
                      body_text="\n\n".join(body1 + [updates[0].format(**values)]))
        other = {"uri": f"urn:test:e{e:03d}:b", "version": 1, "source": "Test Wire B", "language": "en",
                 "headline": f"{place} {kind}: {org} under pressure",
                 "body_text": "\n\n".join([lead.format(**values), body1[3],
                                           updates[1].format(**values), updates[2].format(**values)]),
                 "versioncreated": _iso(t0 + 5400)}
        stories += [(t0, first), (t0 + 3600, second), (t0 + 5400, other)]
    stories.sort(key=lambda pair: pair[0])
    return [orjson.dumps(doc) for _, doc in stories]


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def uri_of(line: bytes) -> bytes:
    return orjson.loads(line)["uri"].encode("utf-8")


def key_version(line: bytes) -> tuple[str, int]:
    doc = orjson.loads(line)
    return doc["uri"], int(doc.get("version", 1))


def read_jsonl(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.strip()]
