"""RocksDB table store: a worker restarted on the same data dir recovers its tables from local
state plus the changelog tail (not the whole changelog), and goes on as if it never stopped.

The reference is the core offline over the same stories in the same order (``offline``).
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from .faustlogs import recoveries
from .kafkaio import Collector, key_version, offline, produce, synthetic_feed, uri_of

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

FIRST = 90.0
OFFSET_KEY = b"__faust\x00offset__"


def persisted_offsets(data_dir: Path) -> dict[str, tuple[int | None, int]]:
    """``table-partition`` -> (changelog offset the local RocksDB says it holds, number of keys)."""
    import rocksdict

    tables = data_dir / "v1" / "tables"
    out = {}
    for path in sorted(tables.glob("*.db")):
        db = rocksdict.Rdict(str(path), options=rocksdict.Options(raw_mode=True),
                             access_type=rocksdict.AccessType.read_only())
        try:
            raw = db.get(OFFSET_KEY)
            keys = sum(1 for k in db.keys() if k != OFFSET_KEY)
        finally:
            db.close()
        out[path.name[:-3]] = (int(raw) if raw is not None else None, keys)
    return out


@pytest.mark.parametrize("stop", ["sigterm", pytest.param("sigkill", marks=pytest.mark.slow)])
async def test_restart_on_same_data_dir_recovers_from_local_state_and_changelog_tail(settings, workers, stop):
    pytest.importorskip("rocksdict", reason="rocksdb:// needs the rocksdb extra (rocksdict)")
    settings = settings.with_(store="rocksdb://")
    feed = synthetic_feed(10)  # 10 events x (first story, its version 2, another outlet's story)
    before, after = feed[:16], feed[16:]
    keys_before = {key_version(line) for line in before}
    # A new version of a story ingested before must arrive while the worker is down ...
    updates_while_down = [key_version(line) for line in after
                          if key_version(line)[1] > 1 and (key_version(line)[0], 1) in keys_before]
    assert updates_while_down, "the split should leave a version 2 for after the restart"
    # ... and an exact re-send of a story already processed, which must change nothing and raise no
    # new alert: it sends its first records again (its alert too, the same bytes).
    resend = before[3]
    while_down = after[:3] + [resend] + after[3:]
    _, expected = offline(before + while_down)
    _, expected_before = offline(before)
    expected_ids = {a["alert_id"] for a in expected}
    assert len(expected_ids) == len(expected)
    assert {a["alert_id"] for a in expected_before} < expected_ids
    everything = {key_version(line) for line in feed}

    async with Collector(settings) as out:
        # One input partition: the stories are processed in feed order, as offline.
        await produce(settings, [(uri_of(line), line) for line in before], partition=0)
        first = workers(settings)
        await out.until(lambda c: c.clustered_keys() >= keys_before
                        and {a["alert_id"] for a in c.alerts()} >= {a["alert_id"] for a in expected_before},
                        FIRST, what="the first batch and its alerts", alive=lambda: first.alive,
                        logs=first.log_tail)
        await out.poll(1.0)
        alerts_before = len(out.alerts())
        if stop == "sigkill":
            first.kill()  # no flush, no commit, RocksDB not closed
        else:
            assert first.stop() == 0, first.log_tail()  # SIGTERM: a clean shutdown

        # The tables are on disk, with the changelog offsets they hold.
        local = persisted_offsets(settings.data_dir)
        assert any(name.startswith("cluster-") for name in local), local
        assert any(name.startswith("events-") for name in local), local
        assert sum(keys for _, keys in local.values()) > 0, local
        kept = {name: offset for name, (offset, _) in local.items() if offset is not None}
        assert any(n.startswith("cluster-") for n in kept) and any(n.startswith("events-") for n in kept), local
        inodes_before = {p.name: p.stat().st_ino for p in (settings.data_dir / "v1" / "tables").glob("*.db")}

        await produce(settings, [(uri_of(line), line) for line in while_down], partition=0)
        second = workers(settings)  # same settings: same app id, same data dir
        await out.until(lambda c: c.clustered_keys() >= everything
                        and {a["alert_id"] for a in c.alerts()} >= expected_ids,
                        FIRST, what="every story and every expected alert after the restart",
                        alive=lambda: second.alive, logs=second.log_tail)
        await out.poll(1.5)
        assert second.stop() == 0, second.log_tail()

    # ---- the same alerts as offline, none spurious (the re-send raises no new alert)
    got = out.alerts()
    by_id = {a["alert_id"]: a for a in expected}
    assert {a["alert_id"] for a in got} == expected_ids
    for alert in got:
        assert alert == by_id[alert["alert_id"]]
    resent = key_version(resend)
    resent_alerts = [a for a in expected_before if (a["story"]["uri"], a["story"]["version"]) == resent]
    if stop == "sigterm":  # a clean stop commits its offsets: nothing is redelivered but the re-send
        assert len(got) == len(expected) + len(resent_alerts)
    assert len(got) > alerts_before

    # ---- the new version joined the event of its first version, with only the new facts
    online = {}
    for record in out.records["stories.clustered"]:
        online.setdefault((record["uri"], record["version"]), record["event_id"])
    for uri, version in updates_while_down:
        assert online[(uri, version)] == online[(uri, 1)]
        alerts = [a for a in got if (a["story"]["uri"], a["story"]["version"]) == (uri, version)]
        offline_alerts = [a for a in expected if (a["story"]["uri"], a["story"]["version"]) == (uri, version)]
        assert [a["new_facts"] for a in alerts[:1]] == [a["new_facts"] for a in offline_alerts]
    again = [a for a in got if (a["story"]["uri"], a["story"]["version"]) == resent]
    assert again[:len(resent_alerts)] == resent_alerts and all(a in resent_alerts for a in again)

    # ---- recovery used the local RocksDB state: it read only the changelog tail
    inodes_after = {p.name: p.stat().st_ino for p in (settings.data_dir / "v1" / "tables").glob("*.db")}
    assert {n: inodes_after.get(n) for n in inodes_before} == inodes_before, "the table dirs were replaced"
    recovery = recoveries(second.log_path)
    assert recovery, second.log_tail()
    first_recovery = recovery[0]
    changelog_total = sum(last + 1 for _, last in first_recovery.values())
    replayed = sum(max(0, last - start) for start, last in first_recovery.values())
    resumed = {tp: start for tp, (start, _) in first_recovery.items() if start >= 0}
    assert changelog_total > 0
    # the partitions whose offsets RocksDB kept resume there, not from the beginning
    for name, offset in kept.items():
        table, partition = name.rsplit("-", 1)
        tp = (f"{settings.app_id}-{table}-changelog", int(partition))
        assert first_recovery[tp][0] == offset, (tp, first_recovery[tp], offset)
    assert resumed and replayed < changelog_total, (replayed, changelog_total)
    if stop == "sigterm":
        assert replayed == 0, f"a clean stop leaves nothing to replay, read {replayed}"
    print(f"{stop}: changelog messages {changelog_total}, read on recovery {replayed}; "
          f"alerts {len(expected_ids)} ({len(got) - len(expected_ids)} redelivered)")
    print(orjson.dumps(local).decode())
