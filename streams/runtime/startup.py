"""Local checks a worker runs before it starts Faust: each problem is one line naming the setting.

Faust reports these itself only deep inside its start (a missing RocksDB binding as a 60-line
traceback, a busy web port as an 80-line ``OSError``); here they are
:class:`streams.config.ConfigError`, which ``wirestream worker`` and ``wirestream check`` print as
one line with exit code 2.
"""

from __future__ import annotations

import errno
import importlib
import socket

from ..config import ConfigError, Settings, env_name


def check_store(settings: Settings) -> None:
    """``rocksdb://`` needs a RocksDB binding (``rocksdict``, the ``[rocksdb]`` extra)."""
    if not settings.store.lower().startswith("rocksdb"):
        return
    for binding in ("rocksdict", "rocksdb"):  # what Faust's RocksDB store uses, in its order
        try:
            importlib.import_module(binding)
            return
        except ImportError:
            continue
    raise ConfigError(
        f"{env_name('store')} / --store {settings.store} needs the RocksDB binding, which is not installed: "
        "install the [rocksdb] extra (pip install -e '.[rocksdb]' in a checkout, "
        "pip install 'wirestream[rocksdb]' from a package) or use --store memory://")


def check_web_port(settings: Settings) -> None:
    """The HTTP API's address can be listened on (not taken by another worker, resolvable)."""
    host = settings.web_bind or settings.web_host
    port = settings.web_port
    where = f"{host}:{port}"
    names = (f"{env_name('web_bind')} / --web-bind" if settings.web_bind
             else f"{env_name('web_host')} / --web-host")
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {where}: {host!r} does not resolve ({exc.strerror}); "
                          f"check {names}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        # as the web server will: SO_REUSEADDR ignores TIME_WAIT, not a socket listening
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"web port {port} on {host} is already in use (another worker on this host?): give each "
                f"worker its own {env_name('web_port')} / --web-port") from None
        if exc.errno == errno.EACCES:
            raise ConfigError(f"not allowed to listen on {where} (ports below 1024 need privileges): "
                              f"choose another {env_name('web_port')} / --web-port") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ConfigError(f"cannot listen on {where}: {host} is not an address of this host; check {names}") from None
        raise ConfigError(f"cannot listen on {where}: {exc.strerror or exc}") from None
    finally:
        sock.close()
