"""Prometheus metrics of a wirestream worker, in a registry of their own.

Importing this module registers nothing anywhere: each ``Metrics()`` owns a fresh
``CollectorRegistry`` (so tests and several apps in one process never collide), and ``render()``
gives the text exposition for ``GET /metrics`` (serve it with ``CONTENT_TYPE``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

__all__ = ["CONTENT_TYPE", "LATENCY_BUCKETS", "WEBHOOK_OUTCOMES", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
# 1 ms .. 10 s, roughly x2.5 per step
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
WEBHOOK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
WEBHOOK_OUTCOMES = ("delivered", "retried", "dead_letter")


class Metrics:
    """All of a worker's metrics. Use the helpers, or the collectors directly."""

    def __init__(self, namespace: str = "wirestream") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r, ns = self.registry, namespace
        # the standard process_* (CPU, resident memory, open fds, start time) and python_info
        # series every Prometheus client exports, on this registry (not the global one)
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self.stories_in = Counter("stories_in", "Stories (messages) consumed by a stage.",
                                  ["stage"], namespace=ns, registry=r)
        self.stories_out = Counter("stories_out", "Stories (messages) a stage passed on.",
                                   ["stage"], namespace=ns, registry=r)
        self.dead_letters = Counter("dead_letters", "Messages sent to wire.dead-letter, by reason.",
                                    ["reason"], namespace=ns, registry=r)
        self.alerts = Counter("alerts_emitted", "Story-update alerts emitted.", namespace=ns, registry=r)
        self.processing_latency = Histogram(
            "processing_latency_seconds", "Time a stage spent on one story.", ["stage"],
            buckets=LATENCY_BUCKETS, namespace=ns, registry=r)
        self.consumer_lag = Gauge("consumer_lag", "Messages behind the end of the partition.",
                                  ["topic", "partition"], namespace=ns, registry=r)
        self.webhook_deliveries = Counter(
            "webhook_deliveries", "Webhook delivery attempts by outcome (delivered, retried, dead_letter).",
            ["endpoint", "outcome"], namespace=ns, registry=r)
        self.webhook_latency = Histogram(
            "webhook_request_seconds", "Duration of one webhook HTTP attempt (any outcome).", ["endpoint"],
            buckets=WEBHOOK_BUCKETS, namespace=ns, registry=r)
        self.webhook_pending = Gauge("webhook_pending", "Webhook deliveries scheduled or in flight.",
                                     ["endpoint"], namespace=ns, registry=r)
        self.webhook_oldest_pending = Gauge(
            "webhook_oldest_pending_age_seconds",
            "Seconds since the oldest pending webhook delivery's alert was first submitted (0: none).",
            ["endpoint"], namespace=ns, registry=r)

    # helpers -------------------------------------------------------------------------------
    def story_in(self, stage: str, n: int = 1) -> None:
        self.stories_in.labels(stage=stage).inc(n)

    def story_out(self, stage: str, n: int = 1) -> None:
        self.stories_out.labels(stage=stage).inc(n)

    def dead_letter(self, reason: str) -> None:
        self.dead_letters.labels(reason=reason).inc()

    def alert_emitted(self, n: int = 1) -> None:
        self.alerts.inc(n)

    def observe_processing(self, stage: str, seconds: float) -> None:
        self.processing_latency.labels(stage=stage).observe(seconds)

    @contextmanager
    def time_stage(self, stage: str) -> Iterator[None]:
        """``with metrics.time_stage("enrich"): ...`` observes the block's duration."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.observe_processing(stage, time.perf_counter() - start)

    def set_lag(self, topic: str, partition: int, lag: float) -> None:
        self.consumer_lag.labels(topic=topic, partition=str(partition)).set(lag)

    def webhook_outcome(self, endpoint: str, outcome: str) -> None:
        if outcome not in WEBHOOK_OUTCOMES:
            raise ValueError(f"unknown webhook outcome {outcome!r}")
        self.webhook_deliveries.labels(endpoint=endpoint, outcome=outcome).inc()

    def render(self) -> bytes:
        """Prometheus text exposition format (version 0.0.4)."""
        return generate_latest(self.registry)
