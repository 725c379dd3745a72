"""MallocTrim: glibc's malloc_trim(0) gives back freed heap pages that free() alone keeps resident."""

import pytest

from streams.runtime.malloc_trim import MallocTrim, libc_malloc_trim


def _rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS")


def test_trim_gives_back_freed_chunks_below_a_live_one():
    trim = libc_malloc_trim()
    if trim is None:
        pytest.skip("this C library has no malloc_trim (not glibc)")
    # 96 MiB in 16 KiB blocks (glibc malloc, below the mmap threshold: heap memory, written to)
    # then one live block above them: free() can only shrink a heap from its top, so the freed
    # blocks stay resident until a trim releases their pages.
    blocks = [b"x" * 16384 for _ in range(6144)]
    pin = b"y" * 16384
    del blocks
    freed = _rss_mib()
    policy = MallocTrim()
    assert policy.available
    policy.tick()
    after = _rss_mib()
    assert freed - after > 48, f"RSS {freed:.1f} -> {after:.1f} MiB after malloc_trim"
    assert policy.ticks == 1 and pin


def test_tick_calls_the_trim_and_reports_whether_memory_was_released():
    calls = []
    policy = MallocTrim(trim=lambda: calls.append(1) or len(calls) % 2)
    assert policy.tick() is True and policy.tick() is False
    assert len(calls) == 2 and policy.ticks == 2


def test_without_malloc_trim_nothing_runs():
    policy = MallocTrim(trim=None)
    assert not policy.available and policy.tick() is False and policy.ticks == 0
