"""How messages are printed for people (demo, tail) and how logs are written."""

from __future__ import annotations

import io
import json
import logging

from streams.cli.format import format_alert, format_clustered, format_dead_letter, format_event, plural
from streams.runtime.logs import setup_logging

ALERT = {
    "alert_id": "wsa-1", "type": "story_update", "kind": "new_story", "event_id": "ev-1",
    "story": {"uri": "urn:seed:003", "version": 1, "headline": "", "source": None, "lang": "en"},
    "new_facts": [{"text": "The ministers signed agreements.", "terms": ["agreements"], "names": [], "numbers": []}],
    "event": {"headline": "", "story_count": 1, "sources": [], "first_seen": "2023-05-24T10:00:00Z",
              "last_update": "2023-05-24T12:00:00Z"},
}


def test_plural():
    assert [plural(n, "story", "stories") for n in (0, 1, 2)] == ["0 stories", "1 story", "2 stories"]
    assert plural(1, "new fact") == "1 new fact" and plural(3, "new fact") == "3 new facts"


def test_missing_fields_are_left_out_not_shown_as_placeholders():
    text = format_alert(ALERT)
    for placeholder in ("(no headline)", "unknown source", "sources: —", "None", "1 stories", "1 new facts"):
        assert placeholder not in text, placeholder
    assert "│ story  urn:seed:003 v1 · en" in text and "1 story · first seen" in text and "│ 1 new fact" in text
    with_source = format_alert({**ALERT, "story": {**ALERT["story"], "source": "Reuters", "headline": "H"},
                                "event": {**ALERT["event"], "sources": ["Reuters", "AP"], "story_count": 2}})
    assert "urn:seed:003 v1 · Reuters · en" in with_source and "2 stories · sources: Reuters, AP" in with_source


def test_one_line_formats():
    placed = {"uri": "u", "version": 2, "lang": "de", "event_id": "ev-9", "is_new_event": False,
              "duplicate": False, "alert_id": "wsa-2", "source": None, "headline": ""}
    assert format_clustered(placed) == "story u v2 [de] → ev-9 (known event, alert wsa-2)"
    assert format_event({"event_id": "ev-9", "lang": "de", "headline": "Sturm", "story_count": 1, "sources": [],
                         "facts": [{}, {}], "alerts": []}) == "event ev-9 [de] Sturm · 1 story · 2 facts · 0 alerts"
    line = format_dead_letter({"reason": "not_json", "detail": "not JSON", "value": "x" * 200, "topic": "wire.stories",
                               "partition": 3, "offset": 7, "key": None})
    assert line.startswith("dead letter (not_json): not JSON · wire.stories[3]@7 · value 'xxx")
    assert "\n" not in line and len(line) < 150


def test_json_logs_are_one_object_per_line_with_fields():
    out = io.StringIO()
    root, own = logging.getLogger(), logging.getLogger("wirestream")
    saved = (list(root.handlers), root.level, own.level)
    setup_logging("info", "json", stream=out)
    try:
        logging.getLogger("wirestream").info("started\nsecond line", extra={"broker": "kafka://h:1", "partitions": 2})
        logging.getLogger("faust.worker").info("a library's info: only at debug")
        logging.getLogger("aiokafka").warning("a library's warning")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        own.setLevel(saved[2])
    lines = out.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["message"] for r in records] == ["started\nsecond line", "a library's warning"]
    assert records[0]["level"] == "info" and records[0]["logger"] == "wirestream"
    assert records[0]["fields"] == {"broker": "kafka://h:1", "partitions": 2}
    assert records[0]["time"].endswith("Z") and records[1]["fields"] == {}
