"""Faust tables <-> the ``MutableMapping`` the core's stages take.

A Faust table already is a ``MutableMapping``; :class:`WriteBehind` adds one thing the event
stage needs for at-least-once without lost alerts: the stage's writes are held back until the
agent has *published* what the stage produced (alert, snapshot, clustered record) and the broker
acknowledged it; only then are they written to the table (and so to its changelog).

Order matters after a crash: if the table's changelog already had the story but the alert never
reached Kafka, the restarted worker would see a duplicate and never alert. With the writes
behind, a crash between "published" and "written" only means the story is processed again and
the same alert (same deterministic ``alert_id``) is published again: at-least-once redelivery
that downstream dedupes.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

_DELETED = object()


class WriteBehind(MutableMapping):
    """Read-your-writes overlay on a mapping; :meth:`flush` applies the writes to it."""

    def __init__(self, backing: MutableMapping) -> None:
        self.backing = backing
        self.pending: dict[Any, Any] = {}

    def __getitem__(self, key: Any) -> Any:
        if key in self.pending:
            value = self.pending[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        return self.backing[key]

    def get(self, key: Any, default: Any = None) -> Any:
        if key in self.pending:
            value = self.pending[key]
            return default if value is _DELETED else value
        return self.backing.get(key, default)

    def __contains__(self, key: object) -> bool:
        if key in self.pending:
            return self.pending[key] is not _DELETED
        return key in self.backing

    def __setitem__(self, key: Any, value: Any) -> None:
        self.pending[key] = value

    def __delitem__(self, key: Any) -> None:
        if key not in self:
            raise KeyError(key)
        self.pending[key] = _DELETED

    def __iter__(self) -> Iterator[Any]:
        for key in self.backing:
            if key not in self.pending:
                yield key
        for key, value in self.pending.items():
            if value is not _DELETED:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def flush(self) -> int:
        """Write the held-back changes to the backing mapping; returns how many."""
        n = len(self.pending)
        for key, value in self.pending.items():
            if value is _DELETED:
                self.backing.pop(key, None)
            else:
                self.backing[key] = value
        self.pending.clear()
        return n

    def discard(self) -> None:
        self.pending.clear()
