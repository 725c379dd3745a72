"""Faust tables <-> the ``MutableMapping`` the core's stages take, with crash-safe write order.

A Faust table already is a ``MutableMapping``. Without transactions (Tansu has none, and we run
at-least-once anyway) the order in which a step's writes and outputs reach Kafka decides what a
crash can do; two adapters make it safe:

* :class:`JournaledState` (cluster stage): several mappings in one table, each step's writes
  all-or-nothing after recovery.
* :class:`WriteBehind` (event stage): writes held back until the outputs were acknowledged.

:class:`WriteBehind` gives the event stage at-least-once without lost alerts: the stage's writes are held back until the
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
_MISSING = object()


class WriteBehind(MutableMapping):
    """Read-your-writes overlay on a mapping; :meth:`flush` applies the writes to it.

    A step's writes can also be set aside (:meth:`take`) while its outputs are on their way and
    applied later (:meth:`settle`), in the order they were taken: meanwhile later steps read
    them (the event stage works on the next story before the broker acknowledged the last one's
    outputs, see ``streams/runtime/agents.py``).
    """

    def __init__(self, backing: MutableMapping) -> None:
        self.backing = backing
        self.pending: dict[Any, Any] = {}
        # writes taken but not settled: key -> (value, the taken dict it came from); the latest wins
        self.unsettled: dict[Any, tuple[Any, dict[Any, Any]]] = {}

    def _lookup(self, key: Any) -> Any:
        """The overlay's value for ``key`` (``_DELETED`` too), or ``_MISSING`` when it has none."""
        if key in self.pending:
            return self.pending[key]
        if key in self.unsettled:
            return self.unsettled[key][0]
        return _MISSING

    def __getitem__(self, key: Any) -> Any:
        value = self._lookup(key)
        if value is _MISSING:
            return self.backing[key]
        if value is _DELETED:
            raise KeyError(key)
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        value = self._lookup(key)
        if value is _MISSING:
            return self.backing.get(key, default)
        return default if value is _DELETED else value

    def __contains__(self, key: object) -> bool:
        value = self._lookup(key)
        if value is _MISSING:
            return key in self.backing
        return value is not _DELETED

    def __setitem__(self, key: Any, value: Any) -> None:
        self.pending[key] = value

    def __delitem__(self, key: Any) -> None:
        if key not in self:
            raise KeyError(key)
        self.pending[key] = _DELETED

    def __iter__(self) -> Iterator[Any]:
        for key in self.backing:
            if self._lookup(key) is _MISSING:
                yield key
        for key in {**self.unsettled, **self.pending}:
            if self._lookup(key) is not _DELETED:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def take(self) -> dict[Any, Any]:
        """Set the current step's writes aside (still read through the overlay) until
        :meth:`settle`; returns them."""
        taken, self.pending = self.pending, {}
        for key, value in taken.items():
            self.unsettled[key] = (value, taken)
        return taken

    def settle(self, taken: dict[Any, Any]) -> int:
        """Write what :meth:`take` returned to the backing mapping (call in the order taken)."""
        for key, value in taken.items():
            if value is _DELETED:
                self.backing.pop(key, None)
            else:
                self.backing[key] = value
            entry = self.unsettled.get(key)
            if entry is not None and entry[1] is taken:  # no later step wrote it since
                del self.unsettled[key]
        return len(taken)

    def flush(self) -> int:
        """Write the held-back changes to the backing mapping; returns how many (every taken
        step must have been settled first)."""
        return self.settle(self.take())

    def discard(self) -> None:
        """Drop the current step's writes (not the ones taken)."""
        self.pending.clear()


class KeyPrefixView(MutableMapping):
    """One logical mapping inside a shared table: keys are stored as ``prefix + key``."""

    def __init__(self, backing: MutableMapping, prefix: str) -> None:
        self.backing = backing
        self.prefix = prefix

    def __getitem__(self, key: str) -> Any:
        return self.backing[self.prefix + key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.backing.get(self.prefix + key, default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (self.prefix + key) in self.backing

    def __setitem__(self, key: str, value: Any) -> None:
        self.backing[self.prefix + key] = value

    def __delitem__(self, key: str) -> None:
        del self.backing[self.prefix + key]

    def __iter__(self) -> Iterator[str]:
        n = len(self.prefix)
        for key in list(self.backing):
            if isinstance(key, str) and key.startswith(self.prefix):
                yield key[n:]

    def __len__(self) -> int:
        return sum(1 for _ in self)


class JournaledState:
    """Several logical mappings in ONE Faust table, with each story's writes made all-or-nothing.

    Without transactions, a worker killed mid-write could leave part of a story's writes in the
    changelog (say the event profile) and lose the rest (the idempotency record): re-processing
    would then count the story twice. Here all writes of one step go to one table, i.e. one
    changelog partition (the source partition of the step), preceded by a journal record
    ``j:<scope>`` holding all of them. Kafka keeps a partition's order, so whatever survives a
    crash is a prefix: if any write of a step survived, its journal did. After recovery the
    journal of each scope is applied again (:meth:`replay`) before the scope's next step —
    which completes a step cut in half, and rewrites identical values otherwise.

        state = JournaledState(table, ["p:", "a:", "u:"])
        profiles, assignments, uri_events = state.views
        ...  # the stage reads and writes the views
        state.commit(scope)  # journal + writes, in this order
    """

    JOURNAL = "j:"

    def __init__(self, table: MutableMapping, prefixes: list[str]) -> None:
        self.table = table
        self.overlay = WriteBehind(table)
        self.views = [KeyPrefixView(self.overlay, p) for p in prefixes]
        self._replayed: set[str] = set()

    def recovered(self) -> None:
        """Call after the table was (re)assigned and recovered: journals are replayed again."""
        self._replayed.clear()

    def needs_replay(self, scope: str) -> bool:
        return scope not in self._replayed

    def replay(self, scope: str) -> int:
        """Apply ``scope``'s last journal again (inside stream iteration); returns writes applied."""
        self._replayed.add(scope)
        journal = self.table.get(self.JOURNAL + scope)
        if not journal:
            return 0
        for key, value, deleted in journal["writes"]:
            if deleted:
                self.table.pop(key, None)
            else:
                self.table[key] = value
        return len(journal["writes"])

    def commit(self, scope: str) -> int:
        """Write the pending writes of one step: its journal first, then the writes themselves."""
        pending = self.overlay.pending
        if not pending:
            return 0
        writes = [[key, None if value is _DELETED else value, value is _DELETED] for key, value in pending.items()]
        self.table[self.JOURNAL + scope] = {"writes": writes}
        return self.overlay.flush()

    def discard(self) -> None:
        self.overlay.discard()
