"""A tiny webhook receiver for trying wirestream alerts (stdlib only).

    python deploy/webhook_receiver.py [--host 0.0.0.0] [--port 8080]

Accepts ``POST`` on any path, prints each delivery (the CloudEvents envelope as one line of JSON,
or with ``--summary`` a short summary of the alert in its ``data``) and answers 204. ``GET /health`` answers 200.

If a secret is set (``--secret`` or ``WEBHOOK_SECRET``/``WIRESTREAM_WEBHOOK_SECRET``), every
delivery must carry a valid Standard Webhooks signature (https://www.standardwebhooks.com):
headers ``webhook-id``, ``webhook-timestamp`` (unix seconds, within 5 minutes) and
``webhook-signature`` (space-separated ``v1,<base64 HMAC-SHA256>`` entries) over
``"{id}.{timestamp}.{body}"``. A secret of the form ``whsec_<base64>`` is base64-decoded to the
key; any other string is used as UTF-8 bytes. Bad signatures are answered 401 and never printed.

Redeliveries (same ``webhook-id``, or same ``alert_id``) are acknowledged and marked duplicate.
The secret itself is never printed.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import os
import signal
import sys
import time
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 5 * 60
MAX_BODY_BYTES = 4 * 1024 * 1024
SEEN_LIMIT = 10_000


def secret_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret (``whsec_`` + base64), or the raw string."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_"):], validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode("utf-8")


def sign(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify(key: bytes, headers: dict[str, str], body: bytes, now: float | None = None) -> str | None:
    """None when the delivery is authentic, else the reason it is not."""
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not msg_id or not timestamp or not signatures:
        return "missing webhook-id, webhook-timestamp or webhook-signature header"
    try:
        sent = int(timestamp)
    except ValueError:
        return "webhook-timestamp is not an integer"
    now = time.time() if now is None else now
    if abs(now - sent) > TOLERANCE_SECONDS:
        return "webhook-timestamp outside the tolerance window"
    expected = sign(key, msg_id, timestamp, body).split(",", 1)[1]
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return None
    return "no matching v1 signature"


class Seen:
    """A bounded memory of delivery ids, to spot redeliveries."""

    def __init__(self, limit: int = SEEN_LIMIT) -> None:
        self.limit = limit
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """True if ``key`` is new."""
        if not key:
            return True
        if key in self._ids:
            return False
        self._ids[key] = None
        if len(self._ids) > self.limit:
            self._ids.popitem(last=False)
        return True


def alert_of(body: object) -> object:
    """The alert in a delivery: wirestream POSTs a CloudEvents 1.0 envelope whose ``data`` is the
    alert; a bare alert (older senders, hand-made tests) is taken as it is."""
    if isinstance(body, dict) and "specversion" in body and isinstance(body.get("data"), dict):
        return body["data"]
    return body


def summarize(alert: dict) -> str:
    """One line for the alert (kind, ids, story, source, language, headline), one per new fact."""
    story = alert.get("story") or {}
    event = alert.get("event") or {}
    facts = alert.get("new_facts") or []
    about = ", ".join(str(x) for x in (story.get("source"), story.get("lang")) if x)
    headline = story.get("headline") or event.get("headline") or ""
    kind = str(alert.get("kind") or alert.get("type") or "alert").replace("_", " ")
    lines = [
        f"{kind} {alert.get('alert_id', '')} event={alert.get('event_id', '')} "
        f"story={story.get('uri', '')} v{story.get('version', '')}"
        + (f" ({about})" if about else "") + (f": {headline}" if headline else "")
        + f" [{len(facts)} new fact{'' if len(facts) == 1 else 's'}]"
    ]
    for fact in facts:
        text = fact.get("text", "") if isinstance(fact, dict) else str(fact)
        lines.append(f"  + {text}")
    return "\n".join(lines)


def make_handler(key: bytes | None, summary: bool, seen: Seen):
    class Handler(BaseHTTPRequestHandler):
        server_version = "wirestream-webhook-receiver/1"

        def log_message(self, format: str, *args) -> None:  # quiet: alerts are the output
            pass

        def _answer(self, status: int, text: str = "") -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            if self.path.rstrip("/") in ("/health", ""):
                self._answer(200, "ok\n")
            else:
                self._answer(404, "not found\n")

        def do_POST(self) -> None:  # noqa: N802
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY_BYTES:
                self._answer(413, "bad or too large Content-Length\n")
                return
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            if key is not None:
                problem = verify(key, headers, body)
                if problem:
                    print(f"rejected delivery to {self.path}: {problem}", file=sys.stderr, flush=True)
                    self._answer(401, problem + "\n")
                    return
            try:
                payload = json.loads(body)
            except ValueError:
                print(f"rejected delivery to {self.path}: body is not JSON", file=sys.stderr, flush=True)
                self._answer(400, "body is not JSON\n")
                return
            alert = alert_of(payload)
            delivery = headers.get("webhook-id", "")
            alert_id = alert.get("alert_id", "") if isinstance(alert, dict) else ""
            fresh = seen.add(delivery) & seen.add(f"alert:{alert_id}" if alert_id else "")
            if summary and isinstance(alert, dict):
                text = summarize(alert)
            else:
                text = json.dumps(payload, ensure_ascii=False, sort_keys=True)
            marker = "" if fresh else "[duplicate] "
            print(f"{marker}{text}", flush=True)
            self._answer(204)

    return Handler


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("WEBHOOK_HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEBHOOK_PORT", "8080")))
    parser.add_argument("--secret", default=None, help="Standard Webhooks secret (else from env)")
    parser.add_argument("--summary", action="store_true",
                        default=os.environ.get("WEBHOOK_SUMMARY", "").lower() in {"1", "true", "yes"},
                        help="print a readable summary instead of the JSON")
    args = parser.parse_args(argv)
    secret = args.secret or os.environ.get("WEBHOOK_SECRET") or os.environ.get("WIRESTREAM_WEBHOOK_SECRET")
    key = secret_key(secret) if secret else None
    server = ThreadingHTTPServer((args.host, args.port), make_handler(key, args.summary, Seen()))
    mode = "verifying Standard Webhooks signatures" if key else "not verifying signatures (no secret set)"
    print(f"webhook receiver on http://{args.host}:{args.port}/ ({mode})", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
