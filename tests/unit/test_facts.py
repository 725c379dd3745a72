"""Sentence facts: figures, names, key terms."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core import facts
from streams.core.facts import analyze, details, is_substantive


def figure_keys(sentence: str) -> list[str]:
    return [f.key for f in analyze(sentence, "en").figures]


@pytest.mark.parametrize("text", ["US$190 billion", "$190 billion", "190bn", "$190bn", "190 billion", "190,000 million"])
def test_amounts_normalize_to_one_key(text: str) -> None:
    assert figure_keys(f"Trade reached {text} last year.") == ["1.9e+11"]


@pytest.mark.parametrize("text", ["40%", "40 per cent", "40 percent", "40 %"])
def test_percentages_normalize(text: str) -> None:
    assert figure_keys(f"Exports rose {text} this year.") == ["40%"]


def test_thousands_separators_decimals_and_ordinals() -> None:
    assert figure_keys("More than 4,000 families and 2.5 million people, the 23rd time.") == ["4000", "2.5e+06", "23"]


def test_years_and_day_numbers_are_dates() -> None:
    figures = analyze("On Tuesday, 23, the toll reached 12, up from 2022 and May 4 levels.", "en").figures
    assert [(f.key, f.date) for f in figures] == [("23", True), ("12", False), ("2022", True), ("4", True)]


def test_number_inside_a_name_is_not_a_figure() -> None:
    assert figure_keys("Leaders of the G20 met the G7.") == []


def test_surface_of_figure_is_kept() -> None:
    assert [f.surface for f in analyze("It cost US$190 billion.", "en").figures] == ["US$190 billion"]


def test_names_are_capitalized_runs() -> None:
    fact = analyze("Russian Prime Minister Mikhail Mishustin met Xi Jinping in Beijing on Wednesday.", "en")
    names = [n for n, _ in details(fact).names]
    assert names == ["Russian Prime Minister Mikhail Mishustin", "Xi Jinping", "Beijing"]


def test_sentence_initial_common_word_is_not_a_name() -> None:
    fact = analyze("Following the talks, the ministers signed agreements.", "en")
    assert details(fact).names == ()
    assert not fact.surfaces["follow"][1]


def test_cyrillic_names_and_terms() -> None:
    fact = analyze("Премьер-министр Михаил Мишустин прибыл в Пекин во вторник.", "ru")
    names = [n for n, _ in details(fact).names]
    assert "Михаил Мишустин" in names
    assert len(fact.keys) >= 4


def test_stopwords_dropped_and_inflections_share_keys() -> None:
    one = analyze("The ministers signed an agreement on patents.", "en")
    two = analyze("A minister signs agreements on a patent.", "en")
    assert {"the", "an", "on", "a"}.isdisjoint(one.keys)
    assert {"minist", "agreem", "patent"} <= one.keys & two.keys


def test_rare_words_weigh_more_than_common_ones() -> None:
    fact = analyze("The millet exports grew last year.", "en")
    assert fact.weights["millet"] > fact.weights["year"]


def test_caseless_script_gives_bigram_terms() -> None:
    fact = analyze("中国国家主席会见了俄罗斯总理。", "zh")
    assert "主席" in fact.keys and "总理" in fact.keys


@pytest.mark.parametrize("sentence, expected", [
    ("He said.", False),
    ("-he declares.", False),
    ("Li added.", False),
    ("The vote was 285 to 122.", True),
    ("Hope Hicks is out.", True),
    ("The ministers signed agreements on patents and millet exports.", True),
])
def test_substantive(sentence: str, expected: bool) -> None:
    assert is_substantive(analyze(sentence, "en")) is expected


def test_known_form_is_compact_and_json_able() -> None:
    import json

    known = analyze("Trade reached $190 billion, customs data showed.", "en").to_known()
    assert set(known) == {"text", "k", "f"}
    assert json.loads(json.dumps(known)) == known


@pytest.mark.parametrize("sentence, lang", [
    ("Former Fox News co-president Bill Shine has been named White House deputy chief of staff.", "en"),
    ("Officials said the bridge reopened.", "en"),
    ("China's President Xi Jinping met Russian Prime Minister Mikhail Mishustin in Beijing on Tuesday.", "en"),
    ("Die Regierung in Berlin (AFP) teilte mit, dass Olaf Scholz am Montag nach Paris reist.", "de"),
    ("習近平主席は北京でミシュスチン首相と会談した。", "ja"),
    ("Apple 公司 Tim Cook 说 iPhone 销量 增长", "zh"),  # an unspaced word does not end a run of names
    ("\"We will rebuild,\" Mayor Anne Hidalgo said - adding that the UN, the SCO and BRICS agreed.", "en"),
])
def test_names_is_details_names(sentence: str, lang: str) -> None:
    from streams.core.facts import names

    fact = analyze(sentence, lang)
    assert names(fact) == details(fact).names


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["US$190 billion", "40%", "4,000", "1,234.5", "in 2022", "Tuesday, 23", "3-1",
                                 "Rs. 12 crore", "the", "Smith", "said", "(", ")", ",", "19.5", "mln"]),
                min_size=1, max_size=12))
def test_blanked_figures_are_kept_per_sentence_not_changed(words):
    """``_blank_figures`` keeps its last results per sentence: a cached result is the definition's
    (the uncached function), and reading it again, or a fact's names after ``analyze``, gives the same."""
    sentence = " ".join(words) + "."
    plain = facts._blank_digits.__wrapped__(sentence) if any(c.isdigit() for c in sentence) else (sentence, ())
    assert facts._blank_figures(sentence) == plain
    fact = facts.analyze(sentence, "en")
    names = facts.names(fact)
    facts._blank_digits.cache_clear()
    assert facts.names(fact) == names and facts.analyze(sentence, "en") == fact
    assert facts._blank_figures(sentence) == plain
