"""Novelty: what a new version or another outlet's story adds, on hand-written articles."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.normalize import clean_story
from streams.core.novelty import assess

QUAKE = [
    "A magnitude 6.4 earthquake struck the southern Peruvian region of Arequipa early on Saturday, the national geophysics institute said.",
    "Civil defence officials said 12 people had been killed and dozens injured when adobe houses collapsed in the town of Caraveli.",
    "President Dina Boluarte flew to the area by helicopter and promised emergency funds for the families who lost their homes.",
    "The quake was felt as far away as Lima, where office workers fled into the streets, witnesses said.",
    "Rescue teams with sniffer dogs were searching the rubble of a collapsed church, the fire brigade said in a statement.",
    "The mining company Hochschild said its Inmaculada gold mine suspended operations while engineers inspected the tunnels.",
]
EXTRA = "Authorities declared a 60-day state of emergency in 14 districts and sent 300 soldiers to clear blocked mountain roads."


def facts_of(sentences: list[str]) -> list[dict]:
    return assess([], sentences, "en").facts_to_add


def new_texts(known: list[dict], sentences: list[str]) -> list[str]:
    return [f.text for f in assess(known, sentences, "en").new_facts]


def test_first_story_adds_all_substantive_facts() -> None:
    result = assess([], QUAKE + ["He said."], "en")
    assert [f["text"] for f in result.facts_to_add] == QUAKE
    assert len(result.new_facts) == len(QUAKE)
    json.dumps(result.facts_to_add)


def test_identical_resend_adds_nothing() -> None:
    result = assess(facts_of(QUAKE), QUAKE, "en")
    assert result.new_facts == [] and result.facts_to_add == []


def test_held_back_sentence_is_the_only_new_fact() -> None:
    known = facts_of(QUAKE)
    result = assess(known, QUAKE[:3] + [EXTRA] + QUAKE[3:], "en")
    assert [f.text for f in result.new_facts] == [EXTRA]
    fact = result.new_facts[0]
    assert {"60", "14", "300"} <= set(fact.numbers)
    assert "soldiers" in fact.terms
    assert [f["text"] for f in result.facts_to_add] == [EXTRA]


def test_clause_glued_onto_known_sentence_is_new() -> None:
    known = facts_of(QUAKE)
    glued = QUAKE[2][:-1] + ", and the government declared a state of emergency in the mountain districts of the region."
    found = assess(known, [QUAKE[0], QUAKE[1], glued] + QUAKE[3:], "en").new_facts
    assert [f.text for f in found] == [glued]
    assert {"mountain", "districts"} <= set(found[0].terms)


def test_changed_figure_is_new_even_if_the_number_appears_elsewhere() -> None:
    story = QUAKE + ["About 27 aftershocks were recorded during the night, the institute said."]
    known = facts_of(story)
    changed = [s.replace("12 people", "27 people") for s in story]
    found = assess(known, changed, "en").new_facts
    assert [f.text for f in found] == [changed[1]]
    assert found[0].numbers == ("27",)


def test_changed_date_in_a_new_version_is_new() -> None:
    old = ["The election will be held on June 4, 2025, the electoral commission said."]
    new = ["The election will be held on June 4, 2026, the electoral commission said."]
    found = assess(facts_of(old), new, "en", previous=old).new_facts
    assert found and found[0].numbers == ("2026",)
    # another outlet's story: a date is often retold ("next year"), so it alone is no new fact
    assert assess(facts_of(old), new, "en").new_facts == []


def test_rewrites_add_nothing() -> None:
    known = facts_of(QUAKE)
    joined = QUAKE[0][:-1] + ", and c" + QUAKE[1][1:]
    split = [QUAKE[2].split(" and promised")[0] + ".", "He promised emergency funds for the families who lost their homes."]
    restyled = [s.replace('"', "\u201c") for s in QUAKE]
    for version in (
        list(reversed(QUAKE)),
        [joined] + QUAKE[2:],
        QUAKE[:2] + split + QUAKE[3:],
        QUAKE[:4],
        restyled,
    ):
        assert new_texts(known, version) == [], version


def test_paraphrase_from_another_outlet_is_not_new() -> None:
    known = facts_of([
        "China is Russia's biggest trading partner.",
        "According to Chinese Customs, trade between the two countries hit a record US$190 billion last year.",
    ])
    other = ["Trade between the two nations reached a record $190bn last year, Chinese customs data showed, "
             "making China Russia's largest trading partner."]
    assert new_texts(known, other) == []


def test_other_outlet_new_agreement_is_new() -> None:
    known = facts_of([
        "Chinese President Xi Jinping met Russian Prime Minister Mikhail Mishustin in Beijing on Wednesday.",
        "Xi said the two countries would support each other's core interests.",
    ])
    other = [
        "Xi Jinping told Mishustin in Beijing that the two countries would support each other's core interests.",
        "Following the talks, the ministers signed agreements on trade in services, sports, patents and millet exports.",
    ]
    found = assess(known, other, "en").new_facts
    assert [f.text for f in found] == [other[1]]
    assert {"patents", "millet"} <= set(found[0].terms)


def test_debris_and_attributions_never_become_facts() -> None:
    body = "\n\n".join(QUAKE[:2] + ["No menu items!", "Check out our other content", "He said.", "AFP"])
    clean = clean_story("Quake", body)
    known = facts_of(list(clean.sentences))
    assert len(known) == 2
    assert new_texts(known, list(clean_story("Quake", body + "\n\nRead more\n\nShare this").sentences)) == []


def test_new_fact_repeated_within_a_story_is_reported_once() -> None:
    known = facts_of(QUAKE)
    found = new_texts(known, QUAKE + [EXTRA, EXTRA])
    assert found == [EXTRA]


def test_known_facts_without_keys_are_reanalysed() -> None:
    known = [{"text": s} for s in QUAKE]
    assert new_texts(known, QUAKE) == []


@settings(max_examples=40, deadline=None)
@given(st.permutations(QUAKE), st.integers(min_value=0, max_value=len(QUAKE)))
def test_any_reordering_or_deletion_adds_nothing(order: list[str], cut: int) -> None:
    known = facts_of(QUAKE)
    version = [s for i, s in enumerate(order) if i != cut]
    assert new_texts(known, version) == []


# --- sentences the event already has word for word (known_lang) --------------------------------

PARAPHRASES = [
    EXTRA,
    QUAKE[2][:-1] + ", and the government declared a state of emergency in the mountain districts of the region.",
    QUAKE[1].replace("12 people", "27 people"),
    "Officials said the earthquake killed 12 people in Caraveli and injured dozens more.",
    "He said.",
]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(QUAKE + PARAPHRASES), max_size=12), st.integers(min_value=0, max_value=len(QUAKE)))
def test_verbatim_reuse_gives_the_same_result(version: list[str], known_count: int) -> None:
    known = facts_of(QUAKE[:known_count] + PARAPHRASES[:1])
    assert assess(known, version, "en", known_lang="en") == assess(known, version, "en")


def test_verbatim_sentences_are_not_analysed_again(monkeypatch) -> None:
    from streams.core import novelty

    known = facts_of(QUAKE)
    analysed: list[str] = []
    real = novelty.analyze
    monkeypatch.setattr(novelty, "analyze", lambda s, lang="und": analysed.append(s) or real(s, lang))
    result = assess(known, QUAKE[:3] + [EXTRA] + QUAKE[3:], "en", known_lang="en")
    assert [f.text for f in result.new_facts] == [EXTRA]
    assert analysed == [EXTRA]
    analysed.clear()
    assess(known, QUAKE + [EXTRA], "en", known_lang="de")  # known facts of another language: no reuse
    assert analysed == QUAKE + [EXTRA]
