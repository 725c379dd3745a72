"""``wirestream config`` (the effective settings, secrets masked) and ``wirestream check``
(will a worker start with these settings, here and now?)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import IO, Any
from urllib.parse import urlsplit

from ..config import ConfigError, Settings, env_name, unknown_variables

#: settings whose values are never printed
MASK = "***"


def effective_settings(settings: Settings, environ: Mapping[str, str] | None = None,
                       flags: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every setting: variable, value (masked), and where it came from (flag, env or default)."""
    from ..core.webhooks import redact_url

    env = os.environ if environ is None else environ
    flags = flags or {}
    rows = []
    for f in fields(Settings):
        value = getattr(settings, f.name)
        name = env_name(f.name)
        if f.name in flags and flags[f.name] is not None:
            source = "flag"
        elif (env.get(name) or "").strip():
            source = "env"
        else:
            source = "default"
        if not f.repr:  # secrets are the settings kept out of repr (config.py marks them)
            shown: Any = MASK if value else None
        elif f.name == "webhooks":
            shown = [redact_url(u) for u in value]
        elif isinstance(value, tuple):
            shown = list(value)
        elif hasattr(value, "__fspath__"):
            shown = str(value)
        else:
            shown = value
        rows.append({"variable": name, "value": shown, "source": source})
    return rows


def print_settings(rows: list[dict[str, Any]], out: IO[str]) -> None:
    width = max(len(r["variable"]) for r in rows)
    for row in rows:
        value = row["value"]
        text = ("" if value is None else ",".join(map(str, value)) if isinstance(value, list) else str(value))
        note = "" if row["source"] == "default" else f"   ({row['source']})"
        out.write(f"{row['variable']:<{width}}  {text}{note}\n")


# --------------------------------------------------------------------------- check


@dataclass
class Finding:
    status: str  # ok | warn | fail
    what: str
    detail: str


async def _probe_webhook(url: str, timeout: float = 5.0) -> str | None:
    """None if a TCP connection to the endpoint's host and port opens, else why not. No request
    is sent: the receiver must not see a test delivery."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        return "no answer" if isinstance(exc, asyncio.TimeoutError) else (exc.strerror or type(exc).__name__).lower()
    writer.close()
    return None


async def run_checks(settings: Settings, *, connect_timeout: float = 10.0, web_port: bool = True) -> list[Finding]:
    """Every check a worker's start runs (and a few it does not), in order; never raises."""
    from ..kafka.broker import BrokerError
    from ..kafka.connection import describe_auth
    from ..kafka.preflight import preflight
    from ..runtime.delivery import load_endpoints
    from ..runtime.startup import check_store, check_web_port

    found: list[Finding] = [Finding("ok", "settings", "every WIRESTREAM_* value is valid")]
    found += [Finding("warn", "settings", w) for w in unknown_variables()]
    local = [("store", check_store)] + ([("web port", check_web_port)] if web_port else [])
    for what, check in local:
        try:
            check(settings)
        except ConfigError as exc:
            found.append(Finding("fail", what, str(exc)))
        else:
            found.append(Finding("ok", what, settings.store if what == "store"
                                 else f"{settings.web_bind or settings.web_host}:{settings.web_port} is free"))
    try:
        endpoints = load_endpoints(settings)
    except ConfigError as exc:
        found.append(Finding("fail", "webhooks", str(exc)))
        endpoints = ()
    else:
        found.append(Finding("ok", "webhooks", f"{len(endpoints)} endpoint(s) configured" if endpoints
                             else "none configured"))
    for ep in endpoints:
        problem = await _probe_webhook(ep.url)
        found.append(Finding("warn", "webhook", f"{ep.display_url}: cannot connect ({problem}); deliveries will be "
                             "retried") if problem else Finding("ok", "webhook", f"{ep.display_url} accepts connections"))
    try:
        kafka = await preflight(settings, timeout=connect_timeout)
    except BrokerError as exc:  # KafkaSettingsError (security settings) is one too
        found.append(Finding("fail", "broker", str(exc)))
    else:
        found.append(Finding("ok", "broker", f"Kafka at {kafka.host}:{kafka.port} accepts {describe_auth(settings)}"
                             + (f" (cluster {kafka.cluster_id})" if kafka.cluster_id else "")))
        found.append(await _topics(settings))
    return found


async def _topics(settings: Settings) -> Finding:
    from aiokafka.admin import AIOKafkaAdminClient

    from ..kafka.broker import topic_names
    from ..kafka.connection import client_kwargs

    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    try:
        await admin.start()
        existing = set(await admin.list_topics())
    except Exception as exc:  # noqa: BLE001 - an informational check
        return Finding("warn", "topics", f"cannot list topics: {type(exc).__name__}")
    finally:
        await admin.close()
    missing = [t for t in topic_names(settings) if t not in existing]
    if missing:
        return Finding("ok", "topics", f"{len(missing)} of wirestream's topics do not exist yet; a worker creates "
                       f"them with {settings.partitions} partitions ({', '.join(missing[:3])}"
                       + (", …)" if len(missing) > 3 else ")"))
    return Finding("ok", "topics", f"all {len(topic_names(settings))} topics exist (prefix {settings.topic_prefix!r})")


def print_findings(found: list[Finding], out: IO[str]) -> int:
    """Print one line per finding; the exit status: 0 when nothing failed, 2 otherwise."""
    for f in found:
        out.write(f"{f.status:<4}  {f.what}: {f.detail}\n")
    failed = sum(f.status == "fail" for f in found)
    out.write("wirestream: all checks passed\n" if not failed
              else f"wirestream: {failed} check{'s' if failed > 1 else ''} failed\n")
    return 2 if failed else 0
