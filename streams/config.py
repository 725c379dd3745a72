"""Configuration, read once from ``WIRESTREAM_*`` environment variables (and CLI flags).

``Settings.from_env()`` is the only place the environment is read; everything else receives a
``Settings`` (or the part of it it needs) as an argument.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

ENV_PREFIX = "WIRESTREAM_"
#: ``WIRESTREAM_*`` variables that are not settings but are read elsewhere on purpose
NOT_SETTINGS = frozenset({
    "WIRESTREAM_TEST_BROKER",  # the test suite's broker (tests/conftest.py)
    "WIRESTREAM_TEST_BROKER_KIND",  # which brokers the test suite runs on (tests/conftest.py)
    "WIRESTREAM_IMAGE",  # docker-compose.yml: the worker image to run
})
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
STORES = ("memory://", "rocksdb://")
PROCESSING_GUARANTEES = ("at_least_once", "exactly_once")


class ConfigError(ValueError):
    """A setting has a value wirestream cannot use; the message says which and why."""


# Seconds to wait after each failed webhook attempt: seconds, then minutes, then hours, in the
# spirit of Standard Webhooks providers; 13 retries over about 25.8 h. The first minutes cover a
# receiver restart or deploy (attempts at ~5 s, 15 s, 45 s, 1m45, 3m45 after the first), the
# hours a day-long outage.
DEFAULT_WEBHOOK_RETRY_SCHEDULE: tuple[float, ...] = (
    5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 36000)
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_durations(name: str, raw: str) -> tuple[float, ...]:
    """``"5s, 1m, 2h"`` (or plain seconds) -> seconds; ConfigError naming the variable."""
    out = []
    for item in (part.strip().lower() for part in raw.split(",")):
        if not item:
            continue
        number, unit = item, "s"
        for suffix in sorted(_DURATION_UNITS, key=len, reverse=True):
            if item.endswith(suffix):
                number, unit = item[: -len(suffix)], suffix
                break
        try:
            value = float(number) * _DURATION_UNITS[unit]
        except ValueError:
            value = -1.0
        if not 0 <= value < float("inf"):
            raise ConfigError(f"{ENV_PREFIX}{name.upper()}: {item!r} is not a duration "
                              "(e.g. 30s, 5m, 2h, or plain seconds)")
        out.append(value)
    return tuple(out)


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


def env_name(field_name: str) -> str:
    """The variable of a setting: ``web_port`` -> ``WIRESTREAM_WEB_PORT``."""
    return ENV_PREFIX + field_name.upper()


def normalize_broker(url: str) -> str:
    """``kafka://h1:9092,h2:9092`` for what users write as a broker list.

    Each address is ``kafka://host[:port]`` or a bare ``host[:port]`` (as Kafka's own
    ``bootstrap.servers`` and kcat's ``-b`` take it), separated by ``,`` or ``;``. A bare address is
    read as ``kafka://``; any other scheme (``http://``...) is refused: Kafka is not HTTP.
    """
    out = []
    for part in url.replace(";", ",").split(","):
        part = part.strip().rstrip("/")
        if not part:
            continue
        scheme, sep, rest = part.partition("://")
        if not sep:
            scheme, rest = "kafka", part
        if scheme.lower() != "kafka":
            raise ConfigError(
                f"{env_name('broker')} / --broker: {part!r} is not a Kafka address; Kafka speaks its own "
                f"protocol, not {scheme}: did you mean kafka://{rest}?")
        host, _, port = rest.rpartition(":") if not rest.endswith("]") else (rest, "", "")
        if not host:
            host, port = rest, ""
        if not host or "/" in rest or (port and not port.isdigit()):
            raise ConfigError(f"{env_name('broker')} / --broker: {part!r} is not host:port (e.g. kafka://kafka-1:9092)")
        out.append(f"kafka://{rest}")
    if not out:
        raise ConfigError(f"{env_name('broker')} / --broker: no broker address in {url!r}")
    return ",".join(out)


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """One warning per ``WIRESTREAM_*`` variable that is no setting (a typo?), with a "did you mean"."""
    env = os.environ if environ is None else environ
    known = [env_name(f.name) for f in fields(Settings)]
    out = []
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in known or name in NOT_SETTINGS:
            continue
        # compare without the common prefix, or every name looks close to every other
        suffixes = {k[len(ENV_PREFIX):]: k for k in known}
        close = difflib.get_close_matches(name[len(ENV_PREFIX):], list(suffixes), n=1, cutoff=0.75)
        hint = (f"; did you mean {suffixes[close[0]]}?" if close
                else " (`wirestream config` lists the settings)")
        out.append(f"{name} is not a wirestream setting and is ignored{hint}")
    return out


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
    # The worker moves its long-lived state out of the garbage collector's full passes every this
    # many seconds (gc.freeze; 0: Python's default collector) and runs one real full pass every
    # gc_full_seconds: a full pass over a big state stops every story for 0.1-1 s
    # (streams/runtime/gc_policy.py; bench/README.md "Pipeline").
    gc_freeze_seconds: float = 10.0
    gc_full_seconds: float = 3600.0
    # Stories the event stage may process before the broker acknowledged the outputs of the first
    # of them (at least once; 1: it waits for every story's acknowledgement before the next).
    # A story's state is still written only after its own outputs were acknowledged, and its
    # input offset committed only after that. Waiting for each story capped the stage at one
    # story per produce round trip (~20-40/s when the broker or the loop is busy), below the
    # 50/s of the latency target: the queue behind it was the produce -> alert tail
    # (bench/README.md "The event stage's acknowledgement wait").
    event_in_flight: int = 64
    # Every this many seconds the worker hands the C allocator's freed pages back to the system
    # (glibc malloc_trim; nothing where there is none; 0: off). It lowers RSS by the freed memory
    # glibc keeps after peaks (38-92 MiB in bench/README.md "Bounded state"), not its growth, and
    # each trim holds the event loop while it walks the free chunks: so off by default.
    malloc_trim_seconds: float = 0.0
    # "at_least_once" (default; every broker) or "exactly_once": Faust's transactions — each
    # stage's outputs, table changes and input offsets commit together (Apache Kafka only;
    # downstream readers need isolation.level=read_committed to see only committed records)
    processing_guarantee: str = "at_least_once"
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
    # Waits after each failed attempt (README "Retries"); WIRESTREAM_WEBHOOK_RETRY_SCHEDULE="5s,1m,1h"
    webhook_retry_schedule: tuple[float, ...] = DEFAULT_WEBHOOK_RETRY_SCHEDULE
    webhook_max_attempts: int = 0  # 0: one attempt + one per schedule step (14 by default)
    webhook_concurrency: int = 2  # in-flight requests per endpoint
    # Webhook URLs resolving to loopback, private, link-local or other non-global addresses are
    # refused (a worker should not be made to POST into its own network) unless this is set.
    webhook_allow_private: bool = False
    # HTTP API: when set, every route but /livez and /health needs "Authorization: Bearer <token>".
    api_token: str | None = field(default=None, repr=False)
    # Logs
    log_level: str = "info"  # debug also shows the libraries' (Faust, aiokafka) info messages
    log_format: str = "text"  # text, or json: one object per line

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
            elif f.name == "webhook_retry_schedule":
                values[f.name] = parse_durations(f.name, raw)
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

    def __post_init__(self) -> None:
        # One spelling of the broker list everywhere (logs, Faust, aiokafka): kafka://h:p,...
        object.__setattr__(self, "broker", normalize_broker(self.broker))
        object.__setattr__(self, "log_level", self.log_level.strip().lower())
        object.__setattr__(self, "log_format", self.log_format.strip().lower())

    def check(self) -> None:
        if not any(self.store.lower().startswith(s) for s in STORES):
            raise ConfigError(f"{env_name('store')} / --store: {self.store!r} is not one of {', '.join(STORES)}")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"{env_name('log_level')}={self.log_level!r} is not one of {', '.join(LOG_LEVELS)}")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(f"{env_name('log_format')}={self.log_format!r} is not one of {', '.join(LOG_FORMATS)}")
        if not 1 <= self.web_port <= 65535:
            raise ConfigError(f"{env_name('web_port')} / --web-port: {self.web_port} is not a TCP port (1-65535)")
        if self.partitions < 1:
            raise ConfigError(f"partitions must be at least 1, got {self.partitions}")
        if self.max_message_bytes < 1024:
            raise ConfigError("max_message_bytes must be at least 1024")
        if self.shard_by not in {"lang", "none"}:
            raise ConfigError(f"shard_by must be 'lang' or 'none', got {self.shard_by!r}")
        if not 1 <= self.fetch_max_wait_ms <= 30000:
            raise ConfigError(f"fetch_max_wait_ms must be between 1 and 30000, got {self.fetch_max_wait_ms}")
        if not 1 <= self.event_in_flight <= 10000:
            raise ConfigError(f"event_in_flight must be between 1 and 10000, got {self.event_in_flight}")
        if self.gc_freeze_seconds < 0 or self.gc_full_seconds <= 0:
            raise ConfigError("gc_freeze_seconds must be >= 0 (0: off) and gc_full_seconds positive")
        if self.malloc_trim_seconds < 0:
            raise ConfigError(f"{env_name('malloc_trim_seconds')} must be >= 0 (0: off)")
        if self.processing_guarantee not in PROCESSING_GUARANTEES:
            raise ConfigError(f"{ENV_PREFIX}PROCESSING_GUARANTEE={self.processing_guarantee!r} is not one of "
                              f"{', '.join(PROCESSING_GUARANTEES)}")
        if self.event_window_days <= 0:
            raise ConfigError("event_window_days must be positive")
        if self.uri_retention_days <= 0:
            raise ConfigError("uri_retention_days must be positive")
        if self.max_story_chars < 1000 or self.max_story_sentences < 10:
            raise ConfigError("max_story_chars must be at least 1000 and max_story_sentences at least 10")
        if self.webhook_timeout <= 0:
            raise ConfigError("webhook_timeout must be positive")
        if not self.webhook_retry_schedule or any(not 0 <= s < float("inf") for s in self.webhook_retry_schedule):
            raise ConfigError("webhook_retry_schedule must be one or more durations >= 0, e.g. 5s,1m,1h")
        if self.webhook_max_attempts < 0 or self.webhook_concurrency < 1:
            raise ConfigError("webhook_max_attempts must be >= 0 (0: from the retry schedule) and "
                              "webhook_concurrency at least 1")
        if self.api_token is not None and len(self.api_token) < 16:
            raise ConfigError("WIRESTREAM_API_TOKEN must be at least 16 characters (e.g. "
                              "python -c \"import secrets;print(secrets.token_urlsafe(32))\")")
