"""The app's Kafka topics as Faust topic objects.

Names come from ``settings.topic(logical_name)`` (prefix ``wire.`` by default) and every topic
has ``settings.partitions`` partitions; :func:`streams.kafka.broker.create_topics` creates them with
the same counts before anything is produced. Keys are strings (raw bytes on the wire), values
are JSON (orjson) except the input topic, whose values stay raw bytes so that the decode stage
can tell "not UTF-8" from "not JSON" and dead-letter the original bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import Settings

#: the JSON codec registered by :func:`streams.runtime.app.register_codecs`
JSON_CODEC = "orjson"


@dataclass(frozen=True)
class Topics:
    stories: Any  # in: key story uri (bytes, as sent), value raw bytes
    enriched: Any  # internal: key shard, value EnrichedStory.to_dict(body=False)
    assigned: Any  # internal: key event id, value AssignedStory.to_dict()
    clustered: Any  # public: key event id
    events: Any  # public, compacted: key event id, latest snapshot
    story_updates: Any  # public: key event id, story-update alert
    dead_letter: Any  # public: original key, the raw input + reason
    webhook_dead_letter: Any  # public: key alert_id, an undelivered webhook alert + why

    def all(self) -> list[Any]:
        return [self.stories, self.enriched, self.assigned, self.clustered, self.events,
                self.story_updates, self.dead_letter, self.webhook_dead_letter]


def declare_topics(app: Any, settings: Settings) -> Topics:
    def json_topic(name: str, **extra: Any) -> Any:
        return app.topic(
            settings.topic(name),
            key_type=str,
            value_serializer=JSON_CODEC,
            partitions=settings.partitions,
            **extra,
        )

    return Topics(
        stories=app.topic(
            settings.topic("stories"),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.partitions,
        ),
        enriched=json_topic("enriched"),
        assigned=json_topic("assigned"),
        clustered=json_topic("stories.clustered"),
        events=json_topic("events"),
        story_updates=json_topic("story-updates"),
        dead_letter=app.topic(
            settings.topic("dead-letter"),
            key_type=bytes,
            key_serializer="raw",
            value_serializer=JSON_CODEC,
            partitions=settings.partitions,
        ),
        webhook_dead_letter=json_topic("webhook-dead-letter"),
    )
