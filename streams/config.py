"""Configuration, read once from ``WIRESTREAM_*`` environment variables (and CLI flags).

``Settings.from_env()`` is the only place the environment is read; everything else receives a
``Settings`` (or the part of it it needs) as an argument.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

ENV_PREFIX = "WIRESTREAM_"


class ConfigError(ValueError):
    """A setting has a value wirestream cannot use; the message says which and why."""


def _as_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a whole number") from None


def _as_float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a number") from None


def _as_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not true/false")


@dataclass(frozen=True)
class Settings:
    # Kafka and Faust
    broker: str = "kafka://127.0.0.1:9092"
    store: str = "memory://"
    web_port: int = 6066
    web_host: str = "127.0.0.1"  # advertised to the other workers (table routing) and bound by default
    web_bind: str | None = None  # bind address if not web_host; "0.0.0.0" in containers
    data_dir: Path = Path("wirestream-data")
    topic_prefix: str = "wire."
    partitions: int = 8
    replication_factor: int = 1
    app_id: str = "wirestream"
    max_message_bytes: int = 1024 * 1024
    # Consumer-group timeouts (seconds). Shorter than Faust's 60 s default: a new group's first
    # join waits up to the rebalance timeout, and wire alerts are worth little when late.
    session_timeout: float = 10.0
    rebalance_timeout: float = 10.0
    # How long a consumer fetch may wait for data (ms). Faust's fixed 1500 ms costs up to that
    # per hop at low load; a short wait keeps produce -> alert latency low (a few idle fetches).
    # Tansu re-checks a waiting fetch only after half the wait, so each hop can add ~half of it:
    # 100 ms halves produce -> alert p50 against 250 (bench/README.md "Pipeline"); much shorter
    # waits make Faust's rebalance races likelier (streams/kafka/consumer.py).
    fetch_max_wait_ms: int = 100
    # Security (SASL / TLS); secrets are never logged
    security_protocol: str = "PLAINTEXT"  # PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    sasl_mechanism: str | None = None  # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    # Core behaviour
    shard_by: str = "lang"  # "lang": cluster per language; "none": one shard, cross-lingual
    event_window_days: float = 3.0
    # How long (days of stream time after its latest version) a uri stays mapped to its event, so
    # a late version still joins it; a value below the event window means the window.
    uri_retention_days: float = 7.0
    # The most text one story can make the core analyse (streams.core.pipeline.WorkLimits):
    # the body is cut at this many characters, then at this many sentences.
    max_story_chars: int = 100_000
    max_story_sentences: int = 500
    # Alert delivery
    webhooks: tuple[str, ...] = ()
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_config: str | None = None
    webhook_timeout: float = 10.0
    webhook_max_attempts: int = 8
    webhook_backoff_base: float = 1.0  # seconds; full-jitter exponential backoff between attempts
    webhook_backoff_max: float = 300.0  # cap of one backoff (and of an honoured Retry-After)
    webhook_concurrency: int = 2  # in-flight requests per endpoint

    @property
    def max_request_bytes(self) -> int:
        """The largest record the app produces: room for the largest accepted story plus what the
        stages add, and for an event's state and snapshot, which grow with the event. Producers
        use it, and the topics holding event state are created to accept it."""
        return max(1024 * 1024, 4 * self.max_message_bytes)

    def topic(self, name: str) -> str:
        """Full topic name for a logical name: ``topic("stories")`` -> ``wire.stories``."""
        return f"{self.topic_prefix}{name}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``WIRESTREAM_<FIELD>`` variables; explicit overrides (CLI flags) win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None or raw.strip() == "":
                continue  # an empty variable means "not set", as compose and k8s templates produce
            default = f.default
            if isinstance(default, bool):
                values[f.name] = _as_bool(f.name, raw)
            elif isinstance(default, int):
                values[f.name] = _as_int(f.name, raw)
            elif isinstance(default, float):
                values[f.name] = _as_float(f.name, raw)
            elif isinstance(default, Path):
                values[f.name] = Path(raw)
            elif isinstance(default, tuple):
                values[f.name] = tuple(u.strip() for u in raw.split(",") if u.strip())
            else:
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.check()
        return settings

    @property
    def work_limits(self) -> Any:
        """The core's per-story work bound (``streams.core.pipeline.WorkLimits``)."""
        from .core.pipeline import WorkLimits

        return WorkLimits(max_chars=self.max_story_chars, max_sentences=self.max_story_sentences)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def check(self) -> None:
        if self.partitions < 1:
            raise ConfigError(f"partitions must be at least 1, got {self.partitions}")
        if self.max_message_bytes < 1024:
            raise ConfigError("max_message_bytes must be at least 1024")
        if self.shard_by not in {"lang", "none"}:
            raise ConfigError(f"shard_by must be 'lang' or 'none', got {self.shard_by!r}")
        if not 1 <= self.fetch_max_wait_ms <= 30000:
            raise ConfigError(f"fetch_max_wait_ms must be between 1 and 30000, got {self.fetch_max_wait_ms}")
        if self.event_window_days <= 0:
            raise ConfigError("event_window_days must be positive")
        if self.uri_retention_days <= 0:
            raise ConfigError("uri_retention_days must be positive")
        if self.max_story_chars < 1000 or self.max_story_sentences < 10:
            raise ConfigError("max_story_chars must be at least 1000 and max_story_sentences at least 10")
        if self.webhook_timeout <= 0 or self.webhook_backoff_base < 0 or self.webhook_backoff_max < 0:
            raise ConfigError("webhook_timeout must be positive and webhook_backoff_* not negative")
        if self.webhook_max_attempts < 1 or self.webhook_concurrency < 1:
            raise ConfigError("webhook_max_attempts and webhook_concurrency must be at least 1")
