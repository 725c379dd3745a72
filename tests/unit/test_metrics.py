from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from streams.runtime.metrics import LATENCY_BUCKETS, Metrics


def families(m: Metrics) -> dict:
    return {f.name: f for f in text_string_to_metric_families(m.render().decode())}


def test_render_parses_and_has_every_metric():
    m = Metrics()
    m.story_in("enrich", 3)
    m.story_out("enrich", 2)
    m.dead_letter("not_json")
    m.alert_emitted()
    m.observe_processing("cluster", 0.004)
    with m.time_stage("event"):
        pass
    m.set_lag("wire.stories", 0, 12)
    m.webhook_outcome("ep-1", "delivered")
    m.webhook_outcome("ep-1", "retried")
    m.webhook_outcome("ep-1", "dead_letter")
    m.webhook_latency.labels(endpoint="ep-1").observe(0.02)
    fams = families(m)
    for name in ("wirestream_stories_in", "wirestream_stories_out", "wirestream_dead_letters",
                 "wirestream_alerts_emitted", "wirestream_processing_latency_seconds", "wirestream_consumer_lag",
                 "wirestream_webhook_deliveries", "wirestream_webhook_request_seconds", "wirestream_webhook_pending"):
        assert name in fams, name
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in fams.values() for s in f.samples}
    assert samples[("wirestream_stories_in_total", (("stage", "enrich"),))] == 3
    assert samples[("wirestream_alerts_emitted_total", ())] == 1
    assert samples[("wirestream_consumer_lag", (("partition", "0"), ("topic", "wire.stories")))] == 12
    assert samples[("wirestream_webhook_deliveries_total", (("endpoint", "ep-1"), ("outcome", "retried")))] == 1
    buckets = {s.labels["le"] for s in fams["wirestream_processing_latency_seconds"].samples
               if s.name.endswith("_bucket")}
    assert {"0.001", "10.0", "+Inf"} <= buckets and len(buckets) == len(LATENCY_BUCKETS) + 1
    assert samples[("wirestream_processing_latency_seconds_count", (("stage", "event"),))] == 1


def test_registries_are_private():
    before = set(REGISTRY._names_to_collectors)
    a, b = Metrics(), Metrics()  # a second instance must not clash ("Duplicated timeseries")
    a.alert_emitted()
    assert set(REGISTRY._names_to_collectors) == before
    assert families(b)["wirestream_alerts_emitted"].samples[0].value == 0


def test_unknown_webhook_outcome_refused():
    import pytest

    with pytest.raises(ValueError):
        Metrics().webhook_outcome("ep", "maybe")
