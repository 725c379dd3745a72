"""Webhook delivery, the pure part: endpoints, envelope, signatures, retry decisions, filters.

Nothing here does I/O (the config file's *text* is passed in; the clock and the random source
are arguments), so every decision the dispatcher (``streams.runtime.delivery``) makes is tested here.

Conventions receivers already know:

- the body is a **CloudEvents 1.0** envelope in structured JSON mode, ``data`` = the alert;
- it is signed per **Standard Webhooks**: ``webhook-id`` (the alert_id, also the idempotency
  key), ``webhook-timestamp`` (unix seconds), ``webhook-signature`` = ``v1,`` + base64 of
  HMAC-SHA256(key, ``id.timestamp.body``), where the secret is ``whsec_`` + base64(key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import math
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import SplitResult, urlsplit

import orjson

from ..config import DEFAULT_WEBHOOK_RETRY_SCHEDULE, ConfigError

__all__ = [
    "CONTENT_TYPE",
    "DATASCHEMA",
    "EVENT_TYPE",
    "SECRET_PREFIX",
    "Decision",
    "Endpoint",
    "Filters",
    "RetryPolicy",
    "WebhookConfigError",
    "WebhookVerificationError",
    "address_kind",
    "body_bytes",
    "check_url",
    "dead_letter_record",
    "decode_secret",
    "done_marker",
    "endpoint_id",
    "endpoints_from_config",
    "envelope",
    "is_done",
    "is_forgotten",
    "literal_host",
    "parse_config_text",
    "parse_retry_after",
    "private_url_error",
    "redact_url",
    "scrub",
    "sign",
    "signed_headers",
    "verify",
]

EVENT_TYPE = "dev.wirestream.story_update"
DATASCHEMA = "https://wirestream.dev/schemas/story-update.schema.json"
CONTENT_TYPE = "application/cloudevents+json"
SECRET_PREFIX = "whsec_"
MIN_KEY_BYTES = 24  # Standard Webhooks: keys SHOULD be 24..64 random bytes
MAX_KEY_BYTES = 64
DEFAULT_TOLERANCE = 300  # seconds either side of now a receiver accepts (Standard Webhooks: 5 min)
_SECRET_HINT = (
    "generate one with: python -c \"import base64,secrets;"
    "print('whsec_'+base64.b64encode(secrets.token_bytes(32)).decode())\""
)


class WebhookConfigError(ConfigError):
    """A webhook endpoint cannot be used; the message names the endpoint but never its secret."""


class WebhookVerificationError(ValueError):
    """A received webhook does not carry a valid, fresh Standard Webhooks signature."""


# --------------------------------------------------------------------------------------------
# Endpoints


@dataclass(frozen=True)
class Filters:
    """Which alerts an endpoint wants. ``None`` means "any"; comparisons ignore case."""

    languages: frozenset[str] | None = None
    sources: frozenset[str] | None = None
    min_new_facts: int = 1

    def matches(self, alert: Mapping[str, Any]) -> bool:
        story = alert.get("story") or {}
        if self.languages is not None and str(story.get("lang") or "").casefold() not in self.languages:
            return False
        if self.sources is not None and str(story.get("source") or "").casefold() not in self.sources:
            return False
        return len(alert.get("new_facts") or ()) >= self.min_new_facts


@dataclass(frozen=True)
class Endpoint:
    """One webhook receiver. The signing keys are never part of the repr."""

    id: str
    url: str
    keys: tuple[bytes, ...] = field(repr=False)
    filters: Filters = Filters()
    timeout: float = 10.0
    max_attempts: int | None = None  # None: as many as the retry schedule gives
    concurrency: int = 2

    @property
    def display_url(self) -> str:
        """The URL safe to log and to put in dead letters: no credentials, no query values."""
        return redact_url(self.url)

    def __repr__(self) -> str:  # dataclass repr would print the URL with its credentials
        return f"Endpoint(id={self.id!r}, url={self.display_url!r}, filters={self.filters!r})"

    __str__ = __repr__


def redact_url(url: str) -> str:
    """``https://user:pw@host/p?token=x`` -> ``https://***@host/p?token=***``."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = "***@" + netloc.rsplit("@", 1)[1]
        query = "&".join(
            (item.split("=", 1)[0] + "=***") if "=" in item else "***"
            for item in parts.query.split("&") if item
        )
        return SplitResult(parts.scheme, netloc, parts.path, query, "").geturl()
    except ValueError:
        return "<unparseable URL>"


def scrub(text: str, url: str) -> str:
    """Remove the secret-bearing parts of ``url`` (userinfo, query) from an error message."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return text.replace(url, "<unparseable URL>")
    text = text.replace(url, redact_url(url))
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        text = text.replace(userinfo, "***")
    if parts.query:
        text = text.replace(parts.query, "***")
    return text


def endpoint_id(url: str) -> str:
    """Stable id of an endpoint (the pending-delivery key prefix): a hash, so no URL leaks."""
    return "ep-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]


def check_url(url: Any, where: str) -> str:
    """The URL if it is http(s) with a host; otherwise a WebhookConfigError naming ``where``."""
    if not isinstance(url, str) or not url.strip():
        raise WebhookConfigError(f"{where}: the URL is missing or empty")
    url = url.strip()
    if url.startswith(SECRET_PREFIX):
        raise WebhookConfigError(f"{where}: this looks like a secret, not a URL (value not shown)")
    shown = redact_url(url)
    if any(c.isspace() for c in url) or any(ord(c) < 32 for c in url):
        raise WebhookConfigError(f"{where}: {shown!r} is not a valid URL (contains whitespace)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise WebhookConfigError(f"{where}: {shown!r} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in {"http", "https"}:
        scheme = f"'{parts.scheme}://'" if parts.scheme else "no scheme"
        raise WebhookConfigError(
            f"{where}: {shown!r} has {scheme}; webhook URLs must start with http:// or https://")
    if not parts.hostname:
        raise WebhookConfigError(f"{where}: {shown!r} has no host; expected e.g. https://hooks.example.com/path")
    return url


def decode_secret(secret: Any, where: str) -> bytes:
    """``whsec_`` + base64 -> the HMAC key (Standard Webhooks). The secret is never echoed."""
    if not isinstance(secret, str) or not secret:
        raise WebhookConfigError(f"{where}: no signing secret (set WIRESTREAM_WEBHOOK_SECRET or the "
                                 f"endpoint's 'secret'); {_SECRET_HINT}")
    if not secret.startswith(SECRET_PREFIX):
        raise WebhookConfigError(f"{where}: the secret must be 'whsec_' followed by base64 "
                                 f"(Standard Webhooks); {_SECRET_HINT}")
    raw = secret[len(SECRET_PREFIX):].strip()
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookConfigError(f"{where}: the part of the secret after 'whsec_' is not valid "
                                 f"base64; {_SECRET_HINT}") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise WebhookConfigError(f"{where}: the secret decodes to {len(key)} bytes; Standard Webhooks "
                                 f"keys are {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes; {_SECRET_HINT}")
    return key


def _string_set(value: Any, where: str, name: str) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise WebhookConfigError(f"{where}: filters.{name} must be a list of non-empty strings")
    return frozenset(v.casefold() for v in value)


def _filters(raw: Any, where: str) -> Filters:
    if raw is None:
        return Filters()
    if not isinstance(raw, Mapping):
        raise WebhookConfigError(f"{where}: 'filters' must be a table/object")
    unknown = set(raw) - {"languages", "sources", "min_new_facts"}
    if unknown:
        raise WebhookConfigError(f"{where}: unknown filter(s) {sorted(unknown)}; "
                                 "known: languages, sources, min_new_facts")
    minimum = raw.get("min_new_facts", 1)
    if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < 0:
        raise WebhookConfigError(f"{where}: filters.min_new_facts must be a whole number >= 0")
    return Filters(_string_set(raw.get("languages"), where, "languages"),
                   _string_set(raw.get("sources"), where, "sources"), minimum)


def _number(raw: Mapping[str, Any], name: str, default: float | None, where: str, *, whole: bool = False) -> Any:
    value = raw.get(name, default)
    if value is None and name not in raw:
        return None
    ok = isinstance(value, int) if whole else isinstance(value, (int, float))
    if not ok or isinstance(value, bool) or value <= 0:
        kind = "a whole number" if whole else "a number"
        raise WebhookConfigError(f"{where}: '{name}' must be {kind} > 0")
    return value


_ENDPOINT_KEYS = {"id", "url", "secret", "secret_env", "filters", "timeout", "max_attempts", "concurrency"}


def _endpoint(raw: Any, where: str, *, default_secret: str | None, environ: Mapping[str, str],
              timeout: float, max_attempts: int | None, concurrency: int) -> Endpoint:
    if isinstance(raw, str):
        raw = {"url": raw}
    if not isinstance(raw, Mapping):
        raise WebhookConfigError(f"{where}: expected a table/object with at least 'url'")
    unknown = set(raw) - _ENDPOINT_KEYS
    if unknown:
        raise WebhookConfigError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(_ENDPOINT_KEYS)}")
    url = check_url(raw.get("url"), where)
    secret: Any = raw.get("secret")
    if secret is None and raw.get("secret_env") is not None:
        name = raw["secret_env"]
        if not isinstance(name, str) or name not in environ:
            raise WebhookConfigError(f"{where}: secret_env names the variable {name!r}, which is not set")
        secret = environ[name]
    if secret is None:
        secret = default_secret
    secrets = secret if isinstance(secret, (list, tuple)) and secret else [secret]
    keys = tuple(decode_secret(s, where) for s in secrets)  # several: key rotation, one signature each
    ident = raw.get("id") or endpoint_id(url)
    if not isinstance(ident, str) or "|" in ident:
        raise WebhookConfigError(f"{where}: 'id' must be a string without '|'")
    return Endpoint(
        id=ident, url=url, keys=keys, filters=_filters(raw.get("filters"), where),
        timeout=float(_number(raw, "timeout", timeout, where)),
        max_attempts=_number(raw, "max_attempts", max_attempts, where, whole=True),
        concurrency=_number(raw, "concurrency", concurrency, where, whole=True),
    )


def parse_config_text(text: str, name: str) -> dict[str, Any]:
    """A webhook config file's text -> dict; TOML when ``name`` ends with .toml, JSON otherwise."""
    try:
        if name.lower().endswith(".toml"):
            data: Any = tomllib.loads(text)
        else:
            data = json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise WebhookConfigError(f"webhook config {name}: cannot parse: {exc}") from None
    if isinstance(data, list):
        data = {"endpoints": data}
    if not isinstance(data, dict) or not isinstance(data.get("endpoints", []), list):
        raise WebhookConfigError(f"webhook config {name}: expected 'endpoints', a list of endpoints")
    return data


def endpoints_from_config(
    *, urls: Sequence[str] = (), secret: str | None = None, config: Mapping[str, Any] | None = None,
    config_name: str = "webhook config", environ: Mapping[str, str] | None = None,
    timeout: float = 10.0, max_attempts: int | None = None, concurrency: int = 2,
) -> tuple[Endpoint, ...]:
    """All endpoints: ``urls`` (``WIRESTREAM_WEBHOOKS``, signed with ``secret``) then the file's.

    The file may set ``secret`` (or ``secret_env``), ``timeout``, ``max_attempts`` and
    ``concurrency`` at top level as defaults for its endpoints. Duplicate URLs are refused.
    """
    environ = environ or {}
    found: list[Endpoint] = []
    for i, url in enumerate(urls, start=1):
        found.append(_endpoint(url, f"WIRESTREAM_WEBHOOKS entry #{i}", default_secret=secret,
                               environ=environ, timeout=timeout, max_attempts=max_attempts,
                               concurrency=concurrency))
    if config:
        defaults = dict(config)
        unknown = set(defaults) - {"endpoints", "secret", "secret_env", "timeout", "max_attempts", "concurrency"}
        if unknown:
            raise WebhookConfigError(f"{config_name}: unknown top-level key(s) {sorted(unknown)}")
        file_secret = defaults.get("secret")
        if file_secret is None and defaults.get("secret_env") is not None:
            file_secret = environ.get(defaults["secret_env"])
        file_secret = file_secret if file_secret is not None else secret
        where0 = f"{config_name} (top level)"
        ftimeout = float(_number(defaults, "timeout", timeout, where0))
        fattempts = _number(defaults, "max_attempts", max_attempts, where0, whole=True)
        fconc = _number(defaults, "concurrency", concurrency, where0, whole=True)
        for i, raw in enumerate(defaults.get("endpoints", []), start=1):
            found.append(_endpoint(raw, f"{config_name} endpoint #{i}", default_secret=file_secret,
                                   environ=environ, timeout=ftimeout, max_attempts=fattempts,
                                   concurrency=fconc))
    seen: dict[str, int] = {}
    for i, ep in enumerate(found, start=1):
        for value in (ep.url, ep.id):
            if value in seen:
                raise WebhookConfigError(f"webhook endpoint #{i} ({ep.display_url}) duplicates endpoint "
                                         f"#{seen[value]}")
            seen[value] = i
    return tuple(found)


# --------------------------------------------------------------------------------------------
# Envelope and signatures


def envelope(alert: Mapping[str, Any], source: str = "urn:wirestream") -> dict[str, Any]:
    """The CloudEvents 1.0 structured-mode envelope of an alert (deterministic)."""
    return {
        "specversion": "1.0",
        "type": EVENT_TYPE,
        "source": source,
        "id": alert["alert_id"],
        "time": alert["created_at"],
        "subject": alert["event_id"],
        "datacontenttype": "application/json",
        "dataschema": DATASCHEMA,
        "data": alert,
    }


def body_bytes(alert: Mapping[str, Any], source: str = "urn:wirestream") -> bytes:
    """The exact bytes POSTed (and signed): the same alert always gives the same bytes."""
    return orjson.dumps(envelope(alert, source), option=orjson.OPT_SORT_KEYS)


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """One Standard Webhooks v1 signature: ``v1,`` + base64(HMAC-SHA256(key, id.ts.body))."""
    mac = hmac.new(key, f"{msg_id}.{int(timestamp)}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def signed_headers(keys: Iterable[bytes], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """All headers of one attempt. Several keys (rotation) give space-separated signatures."""
    return {
        "content-type": CONTENT_TYPE,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": " ".join(sign(k, msg_id, timestamp, body) for k in keys),
    }


def verify(secret: str | bytes, headers: Mapping[str, str], body: bytes, *, now: float,
           tolerance: float = DEFAULT_TOLERANCE) -> dict[str, Any]:
    """The receiver's side: check signature and freshness, return the parsed envelope.

    ``secret`` is the ``whsec_...`` string (or the raw key bytes). Raises
    WebhookVerificationError on a missing header, a stale/future timestamp or no valid signature.
    """
    key = secret if isinstance(secret, bytes) else decode_secret(secret, "verify")
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, sigs = (lower.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and stamp and sigs):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        ts = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a whole number") from None
    if abs(now - ts) > tolerance:
        raise WebhookVerificationError("webhook-timestamp outside the tolerance window")
    expected = sign(key, msg_id, ts, body).encode()
    if not any(hmac.compare_digest(expected, s.encode()) for s in sigs.split() if s.startswith("v1,")):
        raise WebhookVerificationError("no matching signature")
    return orjson.loads(body)


# --------------------------------------------------------------------------------------------
# Retries


class Decision:
    DELIVERED = "delivered"
    RETRY = "retry"
    PERMANENT = "permanent"


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` (delay-seconds or HTTP-date) -> seconds from ``now``; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again: a fixed schedule of waits, each stretched or shrunk by up to ``jitter``.

    After failed attempt n (1-based) wait ``schedule[n-1]`` seconds (the last step repeats if
    ``max_attempts`` asks for more attempts than the schedule has steps), times a uniform factor
    in [1 - jitter, 1 + jitter] so that the alerts held up by one outage do not all come back at
    the same second. A ``Retry-After`` answer can lengthen a wait (up to ``retry_after_max``,
    by default the longest step) but never shorten it: a receiver answering ``Retry-After: 0``
    must not use up a day's schedule in seconds.
    """

    schedule: tuple[float, ...] = DEFAULT_WEBHOOK_RETRY_SCHEDULE
    jitter: float = 0.1
    max_attempts: int | None = None  # None: 1 + len(schedule)
    retry_after_max: float | None = None  # None: max(schedule)

    def __post_init__(self) -> None:
        if not self.schedule or any(not 0 <= s < math.inf for s in self.schedule):
            raise ValueError("a retry schedule is one or more waits >= 0 seconds")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    @property
    def attempts(self) -> int:
        """Attempts in all, the first included."""
        return self.max_attempts or 1 + len(self.schedule)

    def step(self, attempt: int) -> float:
        """The scheduled wait after failed attempt ``attempt`` (1-based), before jitter."""
        return float(self.schedule[min(max(attempt, 1), len(self.schedule)) - 1])

    def total(self, max_attempts: int | None = None) -> float:
        """Seconds from the first attempt to the last one, before jitter."""
        return sum(self.step(n) for n in range(1, (max_attempts or self.attempts)))

    @staticmethod
    def classify(status: int | None) -> str:
        """HTTP status (None = network error or timeout) -> delivered / retry / permanent.

        Retried: 408 Request Timeout, 409 Conflict, 425 Too Early, 429 Too Many Requests and
        every 5xx. Other 4xx, and 3xx (redirects are not followed), are the receiver's final no.
        """
        if status is None:
            return Decision.RETRY
        if 200 <= status < 300:
            return Decision.DELIVERED
        if status in (408, 409, 425, 429) or status >= 500:
            return Decision.RETRY
        return Decision.PERMANENT

    def next_delay(self, attempt: int, rand: Callable[[], float], retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt``."""
        delay = self.step(attempt) * (1.0 + self.jitter * (2.0 * rand() - 1.0))
        if retry_after is not None:
            cap = self.retry_after_max if self.retry_after_max is not None else max(self.schedule)
            delay = max(delay, min(max(0.0, retry_after), cap))
        return delay

    def gives_up(self, attempt: int, max_attempts: int | None = None) -> bool:
        """Whether failed attempt ``attempt`` was the last one."""
        return attempt >= (max_attempts or self.attempts)


# --------------------------------------------------------------------------------------------
# Where webhooks may go


def address_kind(address: str) -> str | None:
    """Why an IP address is no place for a webhook (``"loopback"``, ``"private"``, ...) or None.

    Only globally routable unicast addresses are fine: a URL that reaches the worker's own host,
    its network or the cloud metadata service (169.254.169.254) turns webhooks into a way to
    probe or call them. IPv4-mapped IPv6 (``::ffff:10.0.0.1``) is judged as the IPv4 it maps.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, test in (("loopback", ip.is_loopback), ("unspecified", ip.is_unspecified),
                       ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
                       ("private", ip.is_private), ("reserved", ip.is_reserved)):
        if test:
            return kind
    if not ip.is_global:
        return "non-global"
    return None


def literal_host(url: str) -> str | None:
    """The URL's host if it is an IP address literal (``[::1]`` -> ``::1``), else None."""
    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    return host


def private_url_error(where: str, url: str, address: str, kind: str) -> WebhookConfigError:
    """The one-line startup refusal for a webhook URL that reaches a non-global address."""
    shown = redact_url(url)
    via = "" if literal_host(url) == address else f" resolves to {address},"
    return WebhookConfigError(
        f"{where}: {shown!r}{via} is a {kind} address; webhook URLs must reach a public address "
        f"(set WIRESTREAM_WEBHOOK_ALLOW_PRIVATE=1 to allow private, loopback and link-local ones)")


# --------------------------------------------------------------------------------------------
# Dead letters


def _rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dead_letter_record(entry: Mapping[str, Any], *, reason: str, now: float) -> dict[str, Any]:
    """The ``wire.webhook-dead-letter`` message for a pending entry that will not be delivered.

    See ``schemas/webhook-dead-letter.schema.json``. Holds no secret and no URL credentials.
    """
    alert = entry["alert"]
    return {
        "reason": reason,
        "endpoint": entry.get("url") or "",
        "endpoint_id": entry.get("endpoint") or "",
        "alert_id": alert.get("alert_id"),
        "event_id": alert.get("event_id"),
        "attempts": int(entry.get("attempts", 0)),
        "last_status": entry.get("last_status"),
        "last_error": entry.get("last_error"),
        "first_attempt_at": _rfc3339(entry["created"]) if entry.get("created") else None,
        "time": _rfc3339(now),
        "alert": alert,
    }


# An (endpoint, alert) delivery that is over (delivered or dead-lettered) leaves a small marker in
# place of its pending entry, so that the same alert read again (at-least-once: a worker killed
# before its offset commit, a rebalance, a replay) is not POSTed again. The pending entry turns
# into the marker in one write: there is no moment when neither is stored.


def done_marker(entry: Mapping[str, Any], *, outcome: str, now: float) -> dict[str, Any]:
    """What stays stored once a delivery is over (``outcome``: "delivered" or "dead_letter"):
    who and when, never the alert (the memory stays small)."""
    alert = entry.get("alert") or {}
    return {"endpoint": entry.get("endpoint"), "alert_id": alert.get("alert_id"), "done": outcome,
            "done_at": now, "attempts": int(entry.get("attempts", 0))}


def is_done(entry: Any) -> bool:
    """Whether a stored value is a finished delivery's marker (not a pending entry)."""
    return isinstance(entry, Mapping) and "done_at" in entry


def is_forgotten(entry: Any, *, now: float, keep_seconds: float) -> bool:
    """Whether a marker is older than ``keep_seconds`` (an alert read again after that is new)."""
    try:
        return is_done(entry) and now - float(entry["done_at"]) >= keep_seconds
    except (TypeError, ValueError):
        return True  # a garbled marker protects nothing
