"""The stalled-partition decision (streams.kafka.stalls): rewind only what is idle, behind and still."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.kafka.stalls import PartitionProgress, stalled_partitions


def p(position, committed, busy=False):
    return PartitionProgress(position=position, committed=committed, busy=busy)


def test_a_partition_fetched_past_its_commit_and_still_is_rewound_to_the_commit():
    snap = {"a": p(12, 7)}
    assert stalled_partitions(snap, dict(snap)) == {"a": 7}


def test_never_committed_rewinds_to_the_beginning():
    snap = {"a": p(5, None)}
    assert stalled_partitions(snap, dict(snap)) == {"a": None}


def test_caught_up_partitions_are_left_alone():
    snap = {"a": p(7, 7), "b": p(0, None), "c": p(None, 3)}
    assert stalled_partitions(snap, dict(snap)) == {}


def test_moving_busy_or_new_partitions_are_left_alone():
    before = {"moving": p(12, 7), "busy": p(12, 7, busy=True), "committing": p(12, 7)}
    now = {"moving": p(13, 7), "busy": p(12, 7, busy=True), "committing": p(12, 12),
           "new": p(12, 7)}
    assert stalled_partitions(before, now) == {}


def test_a_partition_whose_fetched_records_were_all_handed_on_waits_for_its_commit():
    """Everything fetched was processed, its commit not done yet (the commit waits for the
    producer to drain): rewinding would process it all again."""
    waiting = {"a": PartitionProgress(position=300, committed=124, busy=False, handed_on=300)}
    assert stalled_partitions(waiting, dict(waiting)) == {}
    lost = {"a": PartitionProgress(position=300, committed=124, busy=False, handed_on=250)}
    assert stalled_partitions(lost, dict(lost)) == {"a": 124}


progress = st.builds(PartitionProgress, st.none() | st.integers(0, 50), st.none() | st.integers(0, 50),
                     st.booleans(), st.none() | st.integers(0, 50))


@given(st.dictionaries(st.integers(0, 7), progress), st.dictionaries(st.integers(0, 7), progress))
def test_only_unchanged_idle_partitions_behind_their_position_are_rewound(before, now):
    stalled = stalled_partitions(before, now)
    for tp, offset in stalled.items():
        assert before[tp] == now[tp] and not now[tp].busy
        assert offset == now[tp].committed
        assert now[tp].position is not None
        assert offset is None or offset < now[tp].position
        assert now[tp].handed_on is None or now[tp].handed_on < now[tp].position
