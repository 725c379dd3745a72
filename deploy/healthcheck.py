"""Container health check for a wirestream worker (stdlib only; used by the Dockerfile).

Exits 0 when the worker's HTTP API answers ``GET /health`` with 200, 1 otherwise. It asks
127.0.0.1 first and then the advertised web host (``WIRESTREAM_WEB_HOST``), so it works whether
the web server binds all interfaces or only the advertised name. Port: ``WIRESTREAM_WEB_PORT``
(default 6066).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def candidate_urls(environ: dict[str, str]) -> list[str]:
    port = environ.get("WIRESTREAM_WEB_PORT", "6066").strip() or "6066"
    hosts = ["127.0.0.1"]
    advertised = environ.get("WIRESTREAM_WEB_HOST", "").strip()
    if advertised and advertised not in hosts:
        hosts.append(advertised)
    return [f"http://{host}:{port}/health" for host in hosts]


def healthy(url: str, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http only)
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main() -> int:
    for url in candidate_urls(dict(os.environ)):
        if healthy(url):
            return 0
    print("wirestream: /health is not answering 200", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
