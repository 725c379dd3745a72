"""Issue 2 acceptance, through ``Pipeline``: story-update alerts on the seeds and on hand-written articles.

The seed tests skip when ../shared/data is absent; the hand-written ones always run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from streams.core.pipeline import Pipeline

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SEEDS = DATA / "seeds.jsonl"

DEBRIS = re.compile(r"menu items|check out|photo|with information from|english news|read more|share this|"
                    r"subscribe|\bAFP\s*$", re.IGNORECASE)
AGREEMENTS = ("services", "sports", "patents", "millet")
FORUMS = ("United Nations", "Shanghai Cooperation Organization", "Brics", "G20")


def run(docs: list[dict[str, Any]]) -> list[Any]:
    pipe = Pipeline()
    return [pipe.process_document(doc, arrival=0.0) for doc in docs]


def alert_texts(outcome: Any) -> list[str]:
    return [f["text"] for f in outcome.alert["new_facts"]] if outcome.alert else []


def assert_no_debris(outcomes: list[Any]) -> None:
    for outcome in outcomes:
        for text in alert_texts(outcome):
            assert not DEBRIS.search(text), text


def version(doc: dict[str, Any], number: int, body: str) -> dict[str, Any]:
    return {**doc, "version": number, "body_text": body}


# --- the seeds ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seeds() -> dict[str, dict[str, Any]]:
    if not SEEDS.exists():
        pytest.skip("../shared/data is absent")
    docs = [json.loads(line) for line in SEEDS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {doc["uri"].rsplit(":", 1)[-1]: doc for doc in docs}


AGREEMENT_SENTENCE = ("Following the talks, the ministers of the two countries signed a series of agreements on "
                      "cooperation in trade in services and sports, as well as patents and exports of Russian millet "
                      "to China.")


@pytest.mark.devdata
def test_seeds_000_then_003(seeds: dict[str, dict[str, Any]]) -> None:
    first, second = run([seeds["000"], seeds["003"]])
    assert first.alert is None
    assert second.assignment.event_id == first.assignment.event_id
    assert second.alert is not None
    joined = " ".join(alert_texts(second))
    assert all(word in joined for word in AGREEMENTS)
    assert not any("$190 billion" in t for t in alert_texts(second))  # a paraphrase of a known fact
    assert_no_debris([first, second])


@pytest.mark.devdata
def test_seeds_003_then_000(seeds: dict[str, dict[str, Any]]) -> None:
    first, second = run([seeds["003"], seeds["000"]])
    assert second.assignment.event_id == first.assignment.event_id
    assert second.alert is not None
    assert any(all(name in t for name in FORUMS) for t in alert_texts(second))
    assert not any("US$190 billion" in t for t in alert_texts(second))
    assert_no_debris([first, second])


@pytest.mark.devdata
def test_seed_version_adding_the_agreements(seeds: dict[str, dict[str, Any]]) -> None:
    full = seeds["003"]
    assert AGREEMENT_SENTENCE in full["body_text"]
    v1 = version(full, 1, full["body_text"].replace(AGREEMENT_SENTENCE + " ", ""))
    outcomes = run([v1, version(full, 2, full["body_text"])])
    alerts = [o.alert for o in outcomes if o.alert]
    assert len(alerts) == 1
    assert alert_texts(outcomes[1]) == [AGREEMENT_SENTENCE]


@pytest.mark.devdata
@pytest.mark.parametrize("uri", ["000", "003"])
def test_seed_resend_and_identical_version_alert_nothing(seeds: dict[str, dict[str, Any]], uri: str) -> None:
    doc = seeds[uri]
    outcomes = run([doc, doc, version(doc, 2, doc["body_text"]), version(doc, 3, doc["body_text"] + "\n\nRead more")])
    assert all(o.alert is None for o in outcomes)


@pytest.mark.devdata
def test_seed_figure_change_alerts_naming_it(seeds: dict[str, dict[str, Any]]) -> None:
    doc = seeds["000"]
    changed = doc["body_text"].replace("US$70 billion", "US$75 billion")
    outcomes = run([doc, version(doc, 2, changed)])
    assert outcomes[1].alert is not None
    facts = outcomes[1].alert["new_facts"]
    assert len(facts) == 1 and "US$75 billion" in facts[0]["numbers"]


# --- hand-written articles (no shared data needed) ---------------------------------------------

WIRE_A = {
    "uri": "urn:test:wire-a:dam",
    "source": "Wire A",
    "versioncreated": "2024-03-05T08:00:00Z",
    "headline": "Dam collapse floods villages in northern Ghana",
    "body_text": "\n\n".join([
        "Skip to main content",
        "ACCRA: A dam on the White Volta river collapsed in northern Ghana on Monday night, flooding "
        "eleven villages in the Talensi district, the National Disaster Management Organisation said.",
        "The agency said 12 people had died and about 8,000 residents had fled to higher ground.",
        "Regional minister Stephen Yakubu visited the area on Tuesday and said soldiers would help "
        "evacuate families stranded on rooftops.",
        "Engineers had warned last year that the embankment, built in 1968, needed urgent repairs.",
        'Villagers in Talensi said they heard "a loud crack, like thunder" before the water rushed through the fields. (Photo: Wire A)',
        "Minister Stephen Yakubu and district chief Awini Abdulai (Photo internet reproduction)",
        "*With information from Wire A",
        "News Ghana, Africa news, Climate and environment",
        "Check out our other content",
    ]),
}
WIRE_B = {
    "uri": "urn:test:wire-b:dam",
    "source": "Wire B",
    "versioncreated": "2024-03-05T10:00:00Z",
    "headline": "Ghana dam burst floods Talensi villages, 12 dead",
    "body_text": (
        "TAMALE, March 5 (Wire B) - A dam on the White Volta river burst in northern Ghana on Monday night and "
        "flooded eleven villages in the Talensi district, Ghana's National Disaster Management Organisation said. "
        "The agency said 12 people were killed and some 8,000 residents fled to higher ground. "
        "Regional minister Stephen Yakubu toured the district on Tuesday, saying soldiers would help evacuate "
        "stranded families. "
        "The World Food Programme said it would airlift maize, cooking oil and water purification tablets to "
        "displaced families from its warehouse in Tamale. "
        "Wire B"
    ),
}
WFP_SENTENCE = ("The World Food Programme said it would airlift maize, cooking oil and water purification tablets to "
                "displaced families from its warehouse in Tamale.")
ENGINEERS_SENTENCE = "Engineers had warned last year that the embankment, built in 1968, needed urgent repairs."


def test_handwritten_a_then_b_alerts_the_airlift() -> None:
    first, second = run([WIRE_A, WIRE_B])
    assert first.alert is None
    assert second.assignment.event_id == first.assignment.event_id
    texts = alert_texts(second)
    assert WFP_SENTENCE in texts
    assert len(texts) == 1  # the rest of Wire B retells Wire A
    assert_no_debris([first, second])


def test_handwritten_b_then_a_alerts_the_warning() -> None:
    first, second = run([WIRE_B, WIRE_A])
    assert second.assignment.event_id == first.assignment.event_id
    texts = alert_texts(second)
    assert ENGINEERS_SENTENCE in texts
    assert_no_debris([first, second])
    for text in texts:
        assert "Photo" not in text and "Awini Abdulai" not in text


def test_handwritten_version_adding_a_sentence_alerts_once() -> None:
    v1 = version(WIRE_B, 1, WIRE_B["body_text"].replace(WFP_SENTENCE + " ", ""))
    outcomes = run([v1, version(WIRE_B, 2, WIRE_B["body_text"])])
    assert [o.alert is not None for o in outcomes] == [False, True]
    assert alert_texts(outcomes[1]) == [WFP_SENTENCE]
    assert outcomes[1].alert["kind"] == "new_version"


def test_handwritten_resends_and_rewrites_alert_nothing() -> None:
    body = WIRE_A["body_text"]
    paragraphs = body.split("\n\n")
    reordered = "\n\n".join([paragraphs[0], paragraphs[3], paragraphs[1], paragraphs[4], paragraphs[2]] + paragraphs[5:])
    restyled = body.replace('"a loud', "\u201ca loud").replace('thunder"', "thunder\u201d")
    assert restyled != body
    deleted = body.replace(ENGINEERS_SENTENCE, "")
    docs = [WIRE_A, WIRE_A, version(WIRE_A, 2, body), version(WIRE_A, 3, reordered),
            version(WIRE_A, 4, restyled), version(WIRE_A, 5, deleted)]
    outcomes = run(docs)
    assert all(o.alert is None for o in outcomes)
    assert outcomes[1].assignment.duplicate


def test_handwritten_figure_change_alerts_naming_the_new_figure() -> None:
    changed = WIRE_A["body_text"].replace("12 people had died", "27 people had died")
    outcomes = run([WIRE_A, version(WIRE_A, 2, changed)])
    assert outcomes[1].alert is not None
    facts = outcomes[1].alert["new_facts"]
    assert len(facts) == 1
    assert facts[0]["numbers"] == ["27"]
    assert "27 people had died" in facts[0]["text"]
