"""Read what a Faust worker did from its log: partition assignments and table recovery.

Faust logs its decisions as small text tables, e.g.::

    [...] [INFO] Setting newly assigned partitions
    +Topic Partition Set----------+------------+
    | topic                       | partitions |
    | t1234.stories               | {0-3, 6}   |

    [...] [^---Recovery]: active offsets at start of reading:
    +Reading Starts At - Active---------+-----------+--------+
    | topic                             | partition | offset |
    | app-cluster-changelog             | 0         | 41     |
    | 〃                                | 1         | -1     |

These are public, stable log lines (and the only view from outside the process).
"""

from __future__ import annotations

import re
from pathlib import Path

_ROW = re.compile(r"^\|\s*(.+?)\s*\|\s*(.+?)\s*\|(?:\s*(.+?)\s*\|)?\s*$")


def _tables_after(text: str, marker: str) -> list[list[list[str]]]:
    """Every table that follows a log line containing ``marker``: a list of rows of cells."""
    lines = text.splitlines()
    tables = []
    for i, line in enumerate(lines):
        if marker not in line:
            continue
        rows: list[list[str]] = []
        for row in lines[i + 1:]:
            if row.startswith("+"):
                continue
            match = _ROW.match(row)
            if not match:
                break
            cells = [c for c in match.groups() if c is not None]
            if cells[0] in {"topic"}:
                continue  # header
            rows.append(cells)
        tables.append(rows)
    return tables


def _expand(partitions: str) -> set[int]:
    """``{0-3, 6}`` -> ``{0, 1, 2, 3, 6}``."""
    out: set[int] = set()
    for part in partitions.strip("{} ").split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            out.update(range(int(lo), int(hi) + 1))
        else:
            out.add(int(part))
    return out


def assignments(log: str | Path) -> list[dict[str, set[int]]]:
    """Every "newly assigned partitions" table in the log, in order: topic -> partitions."""
    text = Path(log).read_text("utf-8", "replace") if isinstance(log, Path) else log
    result = []
    for rows in _tables_after(text, "Setting newly assigned partitions"):
        result.append({topic: _expand(parts) for topic, parts, *_ in rows})
    return result


def recoveries(log: str | Path) -> list[dict[tuple[str, int], tuple[int, int]]]:
    """Every active-table recovery in the log, in order: (changelog topic, partition) ->
    (offset reading starts after, last offset in the changelog), both -1 when none.

    ``last - start`` changelog messages are read to recover the partition: all of them
    (``last + 1``) for a store that keeps nothing locally (memory://), only the tail for a store
    that kept its state and offsets (rocksdb:// on the same data dir).
    """
    text = Path(log).read_text("utf-8", "replace") if isinstance(log, Path) else log
    highs = [_rows_by_tp(rows) for rows in _tables_after(text, "Highwater for active changelog partitions")]
    starts = [_rows_by_tp(rows) for rows in _tables_after(text, "active offsets at start of reading")]
    out = []
    for high, start in zip(highs, starts):
        out.append({tp: (start.get(tp, -1), last) for tp, last in high.items()})
    return out


def _rows_by_tp(rows: list[list[str]]) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    topic = ""
    for cells in rows:
        if len(cells) < 3:
            continue
        name, partition, value = cells[:3]
        if name != "〃":
            topic = name
        out[(topic, int(partition))] = int(value)
    return out
