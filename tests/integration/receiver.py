"""A real local webhook receiver for the integration tests: an aiohttp server on 127.0.0.1.

Each path has a behaviour, set by the test and changeable while it runs::

    async with Receiver() as rx:
        rx.answer("/ok", 200)
        rx.answer("/flaky", [500, 500, 500, 200])   # one status per request, the last one repeats
        rx.answer("/hung", "hang")                  # never answers
        rx.answer("/rst", ["reset", 200])           # TCP reset instead of an answer, then 200
        # also: "drop" (close without answering), "garbage" (bytes that are not HTTP),
        # "close-after" (200, keep-alive, then the idle connection is closed 20 ms later)
        url = rx.url("/ok")
        ...
        rx.requests("/ok")  # [Received(path, headers, body, at)], in arrival order
        await rx.stop(); ...; await rx.start()      # down, then back on the same port
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival
    status: int | None  # what was answered (None: hung, reset, dropped, garbage)


class Receiver:
    def __init__(self) -> None:
        self._behaviour: dict[str, Any] = {}
        self._received: list[Received] = []
        self._hung: set[asyncio.Future] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def answer(self, path: str, behaviour: int | str | list[int | str]) -> None:
        self._behaviour[path] = list(behaviour) if isinstance(behaviour, list) else behaviour

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def requests(self, path: str | None = None) -> list[Received]:
        return [r for r in self._received if path is None or r.path == path]

    def delivered(self, path: str) -> list[Received]:
        return [r for r in self.requests(path) if r.status is not None and 200 <= r.status < 300]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        behaviour = self._behaviour.get(request.path, 404)
        if isinstance(behaviour, list):
            status = behaviour.pop(0) if len(behaviour) > 1 else behaviour[0]
        else:
            status = behaviour
        answered = isinstance(status, int) or status == "close-after"
        record = Received(request.path, dict(request.headers), body, time.monotonic(),
                          (200 if status == "close-after" else int(status)) if answered else None)
        self._received.append(record)
        transport = request.transport
        if status in ("reset", "drop", "garbage") and transport is not None:
            if status == "reset":  # SO_LINGER 0: close() sends RST, not FIN
                sock = transport.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif status == "garbage":
                transport.write(b"\x00\xffNOT HTTP AT ALL\r\n\r\n")
            transport.close()
            await asyncio.sleep(3600)  # the handler never answers: the connection is gone
        if status == "close-after" and transport is not None:
            # answers with keep-alive, then closes the connection once idle (as servers with a
            # short keep-alive timeout do): the next request must not be lost on it
            asyncio.get_running_loop().call_later(0.02, transport.close)
            return web.Response(status=200, text="ok")
        if status == "hang":
            hang = asyncio.get_running_loop().create_future()
            self._hung.add(hang)
            try:
                await hang
            finally:
                self._hung.discard(hang)
            status = 503
        return web.Response(status=int(status), text="ok" if int(status) < 300 else "no")

    async def start(self) -> "Receiver":
        """Listen (again, on the same port once one was chosen)."""
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - the bound port
        return self

    async def stop(self) -> None:
        """Stop listening and close every connection (a receiver that goes down)."""
        for hang in list(self._hung):
            if not hang.done():
                hang.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "Receiver":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def documented_verifier():
    """``verify_webhook`` exactly as README.md documents it (the verify-snippet block)."""
    text = (ROOT / "README.md").read_text("utf-8")
    match = re.search(r"<!-- verify-snippet -->\s*```python\n(.*?)```", text, re.S)
    assert match, "README.md has no verify-snippet"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), "README.md#verify-snippet", "exec"), namespace)  # noqa: S102
    return namespace["verify_webhook"]


def make_secret(seed: int = 0) -> str:
    import base64
    import random

    return "whsec_" + base64.b64encode(random.Random(seed).randbytes(32)).decode()


async def wait_for(predicate: Any, timeout: float, what: str, *, alive: Any = None, logs: Any = None) -> None:
    import pytest

    deadline = time.monotonic() + timeout
    while not predicate():
        if alive is not None and not alive():
            pytest.fail(f"worker died while waiting for {what}\n{logs() if logs else ''}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{logs() if logs else ''}")
        await asyncio.sleep(0.1)
