"""The event snapshot tells a reader every alert without the alerts topic: ``updates`` (one per
alert, in order) and, on each fact, the story that first reported it and the alert (with the
new terms) that reported it as new — exactly what the alert itself said."""

from __future__ import annotations

import copy
from importlib import resources

import orjson
import pytest

from streams.core.events import EventState
from streams.core.pipeline import Pipeline
from streams.core.validate import validator

from .articles import ELECTION, FLOOD_V1, FLOOD_V2_TOLL, FLOOD_V3_NEWS


def _samples() -> list[dict]:
    text = resources.files("streams").joinpath("data", "samples.jsonl").read_bytes()
    return [orjson.loads(line) for line in text.splitlines() if line.strip()]


FEEDS = {
    "samples": _samples(),
    "samples reversed": list(reversed(_samples())),
    "flood": [FLOOD_V1, ELECTION, FLOOD_V2_TOLL, FLOOD_V3_NEWS],
    "flood reversed": [FLOOD_V3_NEWS, FLOOD_V2_TOLL, ELECTION, FLOOD_V1],
}


@pytest.mark.parametrize("feed", sorted(FEEDS))
def test_snapshot_updates_and_facts_restate_every_alert(feed):
    pipeline = Pipeline()
    alerts: dict[str, list[dict]] = {}
    for doc in FEEDS[feed]:
        out = pipeline.process_document(copy.deepcopy(doc), arrival=0.0)
        if out.alert is not None:
            alerts.setdefault(out.alert["event_id"], []).append(out.alert)
    if feed == "flood reversed":  # versions 2 and 1 arrive after version 3: late, they never alert
        assert not alerts
    else:
        assert alerts, "every other feed here has at least one story update"
    check = validator("event")
    for event_id, raw in pipeline.events.items():
        snapshot = EventState.from_dict(raw).snapshot()
        check.validate(snapshot)
        own = alerts.get(event_id, [])
        assert [u["alert_id"] for u in snapshot["updates"]] == snapshot["alerts"] == [a["alert_id"] for a in own]
        stories = {(s["uri"], s["version"]) for s in snapshot["stories"]}
        for fact in snapshot["facts"]:
            assert (fact["uri"], fact["version"]) in stories  # its first reporter is one of the event's stories
        for update, alert in zip(snapshot["updates"], own):
            assert (update["kind"], update["uri"], update["version"], update["source"], update["created_at"]) == (
                alert["kind"], alert["story"]["uri"], alert["story"]["version"], alert["story"]["source"],
                alert["created_at"])
            facts = [{k: f.get(k, []) for k in ("text", "terms", "names", "numbers")}
                     for f in snapshot["facts"] if f.get("alert_id") == alert["alert_id"]]
            assert facts == [{k: f[k] for k in ("text", "terms", "names", "numbers")} for f in alert["new_facts"]]
        # facts without an alert are the first story's only
        first = snapshot["stories"][0]
        for fact in snapshot["facts"]:
            if "alert_id" not in fact:
                assert (fact["uri"], fact["version"]) == (first["uri"], first["version"])


def test_state_written_before_updates_existed_still_loads():
    pipeline = Pipeline()
    for doc in (FLOOD_V1, FLOOD_V2_TOLL):
        pipeline.process_document(copy.deepcopy(doc), arrival=0.0)
    raw = copy.deepcopy(next(iter(pipeline.events.values())))
    raw.pop("updates")
    for fact in raw["facts"]:
        for key in ("version", "alert_id", "terms", "names", "numbers"):
            fact.pop(key, None)
    snapshot = EventState.from_dict(raw).snapshot()
    validator("event").validate(snapshot)
    assert snapshot["updates"] == [] and all("alert_id" not in f for f in snapshot["facts"])
