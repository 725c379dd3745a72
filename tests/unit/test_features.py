"""Story features: folding, numbers, names, vectors."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core import termstats
from streams.core.features import (
    cosine,
    extract,
    extract_names,
    extract_numbers,
    fold,
    norm_vector,
    stem,
    tokenize,
)


def _extract(headline: str, sentences: tuple[str, ...], lang: str = "en"):
    def term_idf(lower: str, term: str) -> float:
        return termstats.idf(termstats.background_df(lower, lang))

    return extract(headline, sentences, term_idf, lambda w: termstats.background_zipf(w, lang), lang=lang)


def test_fold_diacritics_and_transliteration():
    assert fold("Mišustin") == "misustin"
    assert fold("Мишустин") == "mishustin"
    assert fold("Mishustin") == "mishustin"
    assert fold("Zürich") == "zurich"
    assert fold("Αθήνα") == "athina"
    assert fold("Straße") == "strasse"
    assert fold("SCO") == "sco"


def test_stem_is_language_aware_and_folded():
    assert stem("births", "en") == stem("birth", "en")
    assert stem("voting", "en") == stem("vote", "en")
    assert stem("zürich", "xx") == "zurich"  # no stemmer for the language: folded word


def test_numbers_normalized_across_conventions():
    assert extract_numbers("1,500 and 1.500 and 1500") == ["1500", "1500", "1500"]
    assert extract_numbers("1.5 trillion; 1,5 Billionen") == ["1500000000000", "1500000000000"]
    assert extract_numbers("3,000,000 people") == ["3000000"]
    assert extract_numbers("in 2020, 7 people") == ["2020"]  # one-digit figures dropped
    assert extract_numbers("COVID-19 and 4.10") == ["19", "4.1"]


def test_tokenize_splits_spaceless_scripts_into_bigrams():
    toks = [w for w, _ in tokenize("習近平主席 met Putin")]
    assert "習近" in toks and "近平" in toks and "Putin" in toks


def test_names_skip_capitalized_common_words():
    zipf = lambda w: termstats.background_zipf(w, "en")
    text = "The report said Amy Coney Barrett met Mitch McConnell on Friday."
    names = extract_names(text, tokenize(text), zipf)
    assert "the" not in names
    assert {"barrett", "mcconnell", "mitch"} <= set(names)


def test_vectors_are_unit_and_deterministic():
    a = _extract("Manchin sets $1.5 trillion limit", ("Sen. Joe Manchin said Thursday he favors a $1.5 trillion price tag.",))
    b = _extract("Manchin sets $1.5 trillion limit", ("Sen. Joe Manchin said Thursday he favors a $1.5 trillion price tag.",))
    assert a == b
    for v in (a.body, a.head, a.names):
        assert math.isclose(sum(x * x for x in v.values()), 1.0, rel_tol=1e-9)
    assert "1500000000000" in a.numbers  # $1.5 trillion
    assert "manchin" in a.names
    assert "the" not in a.body and "a" not in a.body  # function words carry no weight
    assert a.body.get("he", 0.0) < a.body["manchin"] / 4  # common words little, rare names much


def test_background_idf_orders_words_sensibly():
    def w(x):
        return termstats.idf(termstats.background_df(x, "en"))

    assert w("the") < w("court") < w("kavanaugh")
    assert w("mishustin") > w("president")
    # a language wordfreq lacks still gets finite weights, short words presumed common
    assert 0 < termstats.idf(termstats.background_df("ka", "xx")) < termstats.idf(termstats.background_df("mishustin", "xx"))


def test_stream_frequency_lowers_weight_of_terms_common_in_the_stream():
    p = termstats.background_df("kavanaugh", "en")
    assert termstats.idf(p, stream_df=900, stream_n=1000) < termstats.idf(p, stream_df=0, stream_n=1000)


@given(st.dictionaries(st.text(min_size=1, max_size=5), st.floats(0.01, 10), min_size=1, max_size=20))
def test_cosine_of_a_normalized_vector_with_itself_is_one(raw):
    v = norm_vector(raw)
    assert math.isclose(cosine(v, v), 1.0, rel_tol=1e-9)


def test_scale_words_make_one_figure_across_languages():
    same = [("trade reached $190 billion", "en"), ("alcanzaron los 190.000 millones de dólares", "es"),
            ("ont atteint 190 milliards de dollars", "fr"), ("erreichte 190 Milliarden Dollar", "de"),
            ("a $190bn trade", "en"), ("достиг 190 млрд долларов", "ru"), ("190 mil millones", "es")]
    assert {tuple(extract_numbers(text, lang)) for text, lang in same} == {("190000000000",)}
    # the long scale: a German or French "Billion" is a million millions
    assert extract_numbers("1,5 Billionen Euro", "de") == extract_numbers("1.5 trillion euros", "en")
    assert extract_numbers("2 billion", "en") == ["2000000000"]
    assert extract_numbers("7 million people") == ["7000000"]  # one digit counts with a scale word
    assert extract_numbers("12 people, 2 millionaires") == ["12"]  # only a whole scale word scales
    assert extract_numbers("15 тысяч человек", "ru") == extract_numbers("15 thousand people", "en") == ["15000"]


def _extract_by_definition(headline, sentences, term_idf, zipf, *, lang, min_idf, max_sentences, stemming):
    """``extract`` as it was written before its one-pass form: each text tokenized alone
    (``tokenize``), its names found by ``extract_names``, its figures by ``extract_numbers``."""
    from streams.core.features import StoryFeatures, _count, _NOSPACE, _tfidf, _title_cased

    idf: dict[str, float] = {}

    def weighted(tokens):
        out = []
        for w, _ in tokens:
            if len(w) < 2 and not _NOSPACE.match(w):
                continue
            low = w.lower()
            f = stem(low, lang) if stemming else fold(low)
            if f not in idf:
                idf[f] = term_idf(low, f)
            if idf[f] >= min_idf:
                out.append(f)
        return out

    head_tokens = tokenize(headline)
    head_terms = weighted(head_tokens)
    all_terms = list(head_terms)
    names = extract_names(headline, head_tokens, zipf, title_case=_title_cased(head_tokens))
    numbers = extract_numbers(headline, lang)
    for s in list(sentences)[:max_sentences]:
        toks = tokenize(s)
        all_terms.extend(weighted(toks))
        names.extend(extract_names(s, toks, zipf))
        numbers.extend(extract_numbers(s, lang))

    def w(t):
        if t not in idf:
            idf[t] = term_idf(t, t)
        return idf[t]

    return StoryFeatures(body=_tfidf(_count(all_terms), w), head=_tfidf(_count(head_terms), w),
                         names=_tfidf(_count(names), w), numbers=tuple(sorted(set(numbers))), idf=idf,
                         length=len(all_terms))


# letters of several scripts and cases, digits, sentence boundaries, spaces, and the marks
# ``extract`` puts between texts ("\x00") and writes for them ("\x01")
_TEXT = st.lists(st.sampled_from(list("AaBbEeZz ÉéΣσДд.!?:;\"“(-—,'0123\n\t\x00\x01") + ["習近", "平", "Mc", "Ⅱ", "  "]),
                 max_size=30).map("".join)


@settings(deadline=None)  # the first example of a language loads its word list
@given(_TEXT, st.lists(_TEXT, max_size=5), st.sampled_from(["en", "de", "ru", "xx"]), st.booleans())
def test_extract_is_its_definition(headline: str, sentences: list[str], lang: str, stemming: bool) -> None:
    """Same features, dict orders and float bits included, and the same term weights asked for in the
    same order, as the per-text definition (the one-pass form is only faster)."""
    results = []
    for fn in (extract, _extract_by_definition):
        calls: list[tuple[str, str]] = []

        def term_idf(lower: str, term: str, calls=calls) -> float:
            calls.append((lower, term))
            return termstats.idf(termstats.background_df(lower, lang), len(term) % 3, 5)

        sf = fn(headline, sentences, term_idf, lambda w: termstats.background_zipf(w, lang), lang=lang,
                min_idf=1.0, max_sentences=4, stemming=stemming)
        results.append((repr(sf), calls))
    assert results[0] == results[1]


def test_the_token_cache_stays_bounded_and_changes_nothing(monkeypatch) -> None:
    """A worker meets new words forever: the per-language token cache never holds more than its
    bound, and a story extracted across a clearing gives the features it gives with a warm cache."""
    from streams.core import features

    monkeypatch.setattr(features, "_TOKEN_CACHE_MAX", 50)
    monkeypatch.setattr(features, "_token_caches", {})

    def run(i: int):
        words = " ".join(f"Word{i}x{j} thing{i}y{j}" for j in range(40))
        return repr(extract(f"Headline {i}", [words + "."], lambda low, term: 2.0, lambda w: 1.0,
                            lang="en", min_idf=1.0, max_sentences=4, stemming=True))

    first = [run(i) for i in range(5)]
    for cache in features._token_caches.values():
        assert len(cache) <= 80 + 2  # cleared at 50, then at most one story's distinct tokens added
    assert [run(i) for i in range(5)] == first
