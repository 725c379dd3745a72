"""Sentence-level facts: the names, figures and key terms a sentence states.

A fact is one normalized sentence. ``analyze`` turns it into comparable keys:

* **terms** — content words, lowercased, stop words dropped (the language's most frequent words
  from ``wordfreq``), lightly stemmed by prefix truncation so inflections match
  ("agreements"/"agreement", "countries"/"country"), each weighted by how rare it is (Zipf
  frequency): a rare word says more than a common one. Scripts without spaces (Han, kana, Thai...)
  give character bigrams instead.
* **names** — runs of capitalized tokens (Latin, Cyrillic, Greek...; a sentence-initial word
  counts only when it is not a common word); their tokens are terms too, weighted at least
  ``NAME_WEIGHT``. Scripts without case have no names, only terms.
* **figures** — numbers normalized to comparable keys: "US$190 billion", "$190 billion" and
  "190bn" all give ``1.9e+11``; "40%" and "40 per cent" give ``40%``; "23rd" gives ``23``.

``analyze`` is the fast path (cached per whitespace word; novelty runs it on every sentence);
``clause_weights`` gives the term weights per clause (text between commas, semicolons, brackets,
quotes, dashes) so novelty can tell a clause glued onto a known sentence from a paraphrase;
``details`` gives surface forms and name phrases, for reporting the few facts found new.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import NamedTuple

__all__ = ["NAME_WEIGHT", "Details", "Fact", "Figure", "Term", "analyze", "clause_spans", "clause_weights", "details", "figure_spans",
           "is_content_word", "is_substantive", "names"]

NAME_WEIGHT = 0.7  # minimum weight of a name token
_MIN_WEIGHT = 0.15
_STOP_TOP_N = 110  # the language's most frequent words are stop words
_COMMON_ZIPF = 4.0  # a lone sentence-initial capitalized word more common than this is no name
_CALENDAR_WEIGHT = 0.2

# Calendar words say when, not what: weak evidence of novelty (a few languages; others fall back
# to their Zipf weight).
_CALENDAR = frozenset(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "today", "yesterday", "tomorrow", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag", "januar", "februar", "märz", "juni", "juli", "oktober", "dezember", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo", "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre", "понедельник", "вторник", "среда", "среду", "четверг", "пятница", "пятницу", "суббота", "субботу", "воскресенье", "января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"])

_SCALE = {
    "thousand": 1e3, "k": 1e3, "тыс": 1e3,
    "million": 1e6, "millions": 1e6, "mln": 1e6, "mn": 1e6, "m": 1e6, "mio": 1e6, "millones": 1e6,
    "millón": 1e6, "millon": 1e6, "milhões": 1e6, "milioni": 1e6, "млн": 1e6,
    "billion": 1e9, "billions": 1e9, "bn": 1e9, "b": 1e9, "milliard": 1e9, "milliards": 1e9,
    "mrd": 1e9, "млрд": 1e9,
    "trillion": 1e12, "tn": 1e12, "trillions": 1e12,
    "crore": 1e7, "lakh": 1e5,
}

_NUMBER = re.compile(
    r"""(?<![\w.,])(?=[\dUSACNHREIR$\u20ac\u00a3\u00a5\u20b9\u20bd\u20a9])
    (?P<cur>(?:US|USD|AU|A|C|CA|NZ|HK|S|R)?[$\u20ac\u00a3\u00a5\u20b9\u20bd\u20a9]\s?
        |(?:USD|EUR|GBP|JPY|CNY|RMB|INR|Rs\.?)\s?)?
    (?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?)
    (?P<to>[-\u2013\u2014]\d+(?:[.,]\d+)?(?![\w.,]\d))?
    (?:st|nd|rd|th)?
    (?:(?P<att>bn|mn|tn|m|b|k)\b
      |\s?(?P<scale>thousand|millions?|mln|billions?|trillions?|milliards?|mio|mrd|millones|mill[oó]n|milh[õo]es|milioni|crore|lakh
          |миллиард\w*|миллион\w*|млрд|млн|тыс)\b\.?)?
    (?:\s?(?P<pct>%|per\s?cent\b|percent\b|pct\b|por\s?ciento|pour\s?cent|prozent|процент\w*))?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_NUMBER_HINT = re.compile(r"[\d]")
# "4,000" or "1,234,567.5": commas as thousands separators (compiled once: ``re.fullmatch`` with the
# pattern's text looks it up in the re module's cache on every figure, ~1% of the core)
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_MAX_PREFIX = 5  # longest text before a figure's first digit: "USD$ " (``cur`` above)
_BLANK = "\x00"
_BLANKS = re.compile("\x00+")
_SUBTOKEN = re.compile(r"[^\W\d_][^\W_]*(?:'[^\W\d_]+)*|\x00+")
_PUNCT = "\"'()[]{}<>,;:.!?-*/\\|&+=~^_#@%$\u00bf\u00a1\u2026\x00"
_CLAUSE_SPLIT = re.compile(r"[,;:()\[\]\"]|\s-\s")
_BREAKS = frozenset(",;:()[]\"-")
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")

_Info = tuple[bool, str, float, float, bool]  # is_stop, key, weight, zipf, is_calendar

_PREFIX_LEN = {"ru": 5, "uk": 5, "bg": 5, "mk": 5, "sr": 5, "sh": 5, "hr": 5, "bs": 5, "pl": 5, "cs": 5,
               "sk": 5, "sl": 5, "fi": 5, "et": 5, "hu": 5, "tr": 5, "lt": 5, "lv": 5, "ko": 3}


class Term(NamedTuple):
    key: str  # stemmed, lowercased
    surface: str  # as written (lowercased unless a name)
    weight: float  # 0..1, rarer is heavier
    clause: int
    name: bool


class Figure(NamedTuple):
    key: str  # comparable value: "1.9e+11", "40%", "2022"
    surface: str  # as written: "US$190 billion"
    date: bool = False  # a year or a day of the month ("in 2022", "Tuesday, 23"): says when, not what


class Fact(NamedTuple):
    """What one sentence states, in comparable keys (cheap to compute; see ``details``)."""

    text: str
    lang: str
    weights: dict[str, float]  # term key -> weight
    surfaces: dict[str, tuple[str, bool]]  # term key -> (surface form, is a name)
    figures: tuple[Figure, ...]  # unique by key
    keys: frozenset[str]  # the term keys
    weight: float  # total term weight

    def to_known(self) -> dict[str, object]:
        """The compact, JSON-able form kept in the event's known facts."""
        return {"text": self.text, "k": list(self.weights), "f": [f.key for f in self.figures]}


class Details(NamedTuple):
    """The slower per-token view of a fact: terms with surface form and clause, and names."""

    terms: tuple[Term, ...]
    names: tuple[tuple[str, tuple[str, ...]], ...]  # (name phrase, its term keys)


def is_content_word(word: str, lang: str) -> bool:
    """A word that can make a fact: a figure's digits or a term (not a stop word of ``lang``)."""
    if _NUMBER_HINT.search(word) or _UNSPACED.search(word):
        return True
    return not _token_info(word.lower(), lang)[0]


def is_substantive(fact: Fact) -> bool:
    """Enough content to be a fact: not a bare attribution ("he said", "Li added") or a fragment."""
    n = len(fact.weights)
    if n >= 3:
        return fact.weight >= 1.2
    figures = sum(1 for f in fact.figures if not f.date)
    if n == 0 or n + figures < 2:
        return False
    return n + figures >= 3 or all(t.name for t in details(fact).terms)


# --- per-language lexicon (lazy caches) --------------------------------------------------------

@lru_cache(maxsize=64)
def _wordfreq_code(lang: str) -> str:
    """The wordfreq list wordfreq itself would use for ``lang`` ("af" -> "nl"), resolved once here:
    asked with ``lang``, wordfreq logs a "nearest match" warning on every lookup."""
    try:
        import langcodes
        import wordfreq

        best, _ = langcodes.closest_match(lang, list(wordfreq.available_languages("best")), max_distance=60)
    except Exception:  # no match possible: wordfreq's own lookup fails the same way
        return lang
    return lang if best == "und" else best


@lru_cache(maxsize=64)
def _lexicon(lang: str) -> tuple[frozenset[str], dict[str, _Info]]:
    """Stop words of ``lang`` and an (unbounded, per-language) token cache."""
    import wordfreq

    stop: set[str] = set()
    try:
        stop.update(wordfreq.top_n_list(_wordfreq_code(lang), _STOP_TOP_N))
    except Exception:  # language without a wordfreq list: no stop words of its own
        pass
    if lang != "en":  # English function words leak into every language's news
        stop.update(wordfreq.top_n_list("en", 60))
    return frozenset(stop), {}


def _zipf(word: str, lang: str) -> float:
    import wordfreq

    try:
        return wordfreq.zipf_frequency(word, _wordfreq_code(lang))
    except Exception:
        return 0.0


def _token_info(lower: str, lang: str) -> _Info:
    """(is_stop, key, weight, zipf, is_calendar) for a lowercased token, cached per language."""
    stop, cache = _lexicon(lang)
    info = cache.get(lower)
    if info is None:
        word = lower.removesuffix("'s")
        if word in stop or len(word) < 2:
            info = (True, word, 0.0, 8.0, False)
        else:
            z = _zipf(word, lang)
            calendar = word in _CALENDAR
            weight = _CALENDAR_WEIGHT if calendar else max(_MIN_WEIGHT, min(1.0, (7.0 - z) / 3.0))
            info = (False, _stem(word, lang), weight, z, calendar)
        if len(cache) < 200_000:
            cache[lower] = info
    return info


def _stem(word: str, lang: str) -> str:
    n = _PREFIX_LEN.get(lang, 6)
    if len(word) > n:
        return word[:n]
    if len(word) >= 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _figure_key(m: re.Match[str]) -> str:
    to = m.group("to")
    if to:  # a score or a range ("3-1", "10\u201312"): one figure, its two values in order
        return f"{_number(m.group('num'))}-{_number(to[1:])}"
    num = m.group("num")
    if "," in num and _THOUSANDS.fullmatch(num):
        value = float(num.replace(",", ""))
    else:
        value = float(num.replace(",", "."))
    scale = m.group("att") or m.group("scale")
    if scale:
        s = scale.lower().rstrip(".")
        if s.startswith("миллиард"):
            value *= 1e9
        elif s.startswith("миллион"):
            value *= 1e6
        else:
            value *= _SCALE.get(s, 1.0)
    if m.group("pct"):
        return f"{value:g}%"
    return f"{value:.6g}"


_WORD_BEFORE = re.compile(r"([^\W\d_]+)\W{0,3}$")
_WORD_AFTER = re.compile(r"^\W{0,3}([^\W\d_]+)")


def _number(text: str) -> str:
    value = float(text.replace(",", "")) if _THOUSANDS.fullmatch(text) \
        else float(text.replace(",", "."))
    return f"{value:.6g}"


def _is_date(m: re.Match[str], sentence: str) -> bool:
    """A bare year (1800-2100) or a day number next to a month or weekday name."""
    if m.group("cur") or m.group("pct") or m.group("att") or m.group("scale"):
        return False
    num, to = m.group("num"), m.group("to")
    if to:  # a span of years ("2019-2020", "2019-20") says when; a score or range says what
        return (len(num) == 4 and num.isdigit() and 1800 <= int(num) <= 2100
                and to[1:].isdigit() and (len(to) == 3 or 1800 <= int(to[1:]) <= 2100))
    if not num.isdigit():
        return False
    value = int(num)
    if len(num) == 4 and 1800 <= value <= 2100:
        return True
    if value > 31:
        return False
    before = _WORD_BEFORE.search(sentence, max(0, m.start() - 16), m.start())
    after = _WORD_AFTER.search(sentence[m.end():m.end() + 16])
    return any(w is not None and w.group(1).lower() in _CALENDAR for w in (before, after))


def _figure_matches(sentence: str, digit: re.Match[str]) -> Iterator[re.Match[str]]:
    """``_NUMBER.finditer(sentence)``, without trying the pattern at every character.

    Every figure has a digit at most ``_MAX_PREFIX`` characters after its start (the currency
    prefix: "USD$ ", "Rs. "), so the leftmost figure at or after ``pos`` starts no earlier than
    the next digit minus that: searching from there finds the same matches as ``finditer``, and
    the C-level digit search skips the (mostly digit-free) text in between.
    """
    pos = 0
    while digit is not None:
        m = _NUMBER.search(sentence, max(pos, digit.start() - _MAX_PREFIX))
        if m is None:
            return
        yield m
        pos = m.end()
        digit = _NUMBER_HINT.search(sentence, pos)


def _blank_figures(sentence: str) -> tuple[str, tuple[tuple[str, str, bool], ...]]:
    """The sentence with its figures blanked out, and each figure's (key, surface, is_date)."""
    if _NUMBER_HINT.search(sentence) is None:
        return sentence, ()
    return _blank_digits(sentence)


# A sentence with digits is blanked by ``analyze`` and again when a new fact's names
# (``names``) or clauses are read: the last few thousand results are kept (a pure function of
# the sentence; the figures as a tuple, so no caller can change a cached result).
@lru_cache(maxsize=4096)
def _blank_digits(sentence: str) -> tuple[str, tuple[tuple[str, str, bool], ...]]:
    digit = _NUMBER_HINT.search(sentence)
    found: list[tuple[str, str, bool]] = []
    parts: list[str] = []
    last = 0
    for m in _figure_matches(sentence, digit):
        found.append((_figure_key(m), m.group(0).strip().rstrip("."), _is_date(m, sentence)))
        parts.append(sentence[last:m.start()])
        parts.append(_BLANK * (m.end() - m.start()))  # "US$190" must give no "US" term
        last = m.end()
    if not found:
        return sentence, ()
    parts.append(sentence[last:])
    return "".join(parts), tuple(found)


_Pair = tuple[str, float, str, bool]  # key, weight, surface, is a name


def _word_pairs(word: str, lang: str) -> tuple[_Pair, ...]:
    """(key, weight, surface, is_name) of each content token in a whitespace-delimited word."""
    pairs: list[_Pair] = []
    for tok in (word,) if word.isalpha() else _SUBTOKEN.findall(word):
        if tok[0] == _BLANK:
            continue
        if _UNSPACED.search(tok):
            pairs.extend((g, 0.5, g, False) for g in _bigrams(tok))
            continue
        tok = tok.removesuffix("'s")
        lower = tok.lower()
        is_stop, key, weight, _, calendar = _token_info(lower, lang)
        if not is_stop:
            if tok[0].isupper() and not calendar:
                pairs.append((key, max(weight, NAME_WEIGHT), tok, True))
            else:
                pairs.append((key, weight, lower, False))
    return tuple(pairs)


# Per-language cache: whitespace-delimited word (as written, punctuation included) -> its
# ((key, weight), ...) and ((key, (surface, is_name)), ...). Keying on the raw word skips the
# strip; the sentence's pairs are then joined and turned into dicts by C-level calls only.
_Entry = tuple[tuple[tuple[str, float], ...], tuple[tuple[str, tuple[str, bool]], ...]]
_WORD_CACHE_MAX = 300_000  # per language; cleared when full (a long-running worker's vocabulary drifts)
_first = itemgetter(0)
_second = itemgetter(1)


@lru_cache(maxsize=64)
def _word_cache(lang: str) -> dict[str, _Entry]:
    return {}


def _word_entry(word: str, lang: str, cache: dict[str, _Entry]) -> _Entry:
    core = word.strip(_PUNCT)
    pairs = _word_pairs(core, lang) if core else ()
    entry = (tuple((key, weight) for key, weight, _, _ in pairs),
             tuple((key, (surface, name)) for key, _, surface, name in pairs))
    if len(cache) >= _WORD_CACHE_MAX:
        cache.clear()
    cache[word] = entry
    return entry


def _entries(text: str, lang: str, initial: bool) -> list[_Entry]:
    """The cached entry of each whitespace word of ``text``."""
    words = text.split()
    if initial and words:
        first = words[0].strip(_PUNCT)
        if first[:1].isupper():
            # sentence-initial capital: no name evidence. The lowercased core has nothing to
            # strip, so as a cache key it gives the same entry as the stripped word would.
            words[0] = first.lower()
    cache = _word_cache(lang)
    entries = list(map(cache.get, words))
    if None in entries:
        for i, entry in enumerate(entries):
            if entry is None:
                entries[i] = _word_entry(words[i], lang, cache)
    return entries


def _term_weights(entries: list[_Entry]) -> dict[str, float]:
    """Term key -> weight, keys in order of first occurrence, a repeated key at its largest weight."""
    pairs = list(chain.from_iterable(map(_first, entries)))
    weights = dict(pairs)
    if len(weights) < len(pairs):  # a repeated key: the last write wins, so write in weight order
        weights.update(sorted(pairs, key=_second))
    return weights


def _weigh(text: str, lang: str, initial: bool) -> tuple[dict[str, float], dict[str, tuple[str, bool]]]:
    """Term key -> weight and key -> (surface, is_name) of a (figure-blanked) text.

    A key's surface is that of its first occurrence.
    """
    entries = _entries(text, lang, initial)
    weights = _term_weights(entries)
    pairs = list(chain.from_iterable(map(_second, entries)))
    surfaces = dict(pairs)
    if len(surfaces) < len(pairs):  # a repeated key: write the pairs again backwards, first one last
        surfaces.update(reversed(pairs))
    return weights, surfaces


def analyze(sentence: str, lang: str = "und") -> Fact:
    """Extract a sentence's term keys (weighted) and figures — the fast path novelty runs on."""
    text, found = _blank_figures(sentence)
    weights, surfaces = _weigh(text, lang, True)
    figures: list[Figure] = []
    if found:
        seen: set[str] = set()
        for key, surface, date in found:
            if key not in seen:
                seen.add(key)
                figures.append(Figure(key, surface, date))
    return Fact(sentence, lang, weights, surfaces, tuple(figures), frozenset(weights), sum(weights.values()))


def clause_weights(fact: Fact) -> list[dict[str, float]]:
    """Term weights of each clause (text between commas, semicolons, colons, brackets, quotes, dashes)."""
    text, _ = _blank_figures(fact.text)
    lang = fact.lang
    return [_term_weights(_entries(chunk, lang, n == 0)) for n, chunk in enumerate(_CLAUSE_SPLIT.split(text))]


def clause_spans(fact: Fact) -> list[tuple[int, int]]:
    """The character span in ``fact.text`` of each clause ``clause_weights`` weighs, in order."""
    text, _ = _blank_figures(fact.text)  # figures blanked: same length, same splits
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _CLAUSE_SPLIT.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return spans


def figure_spans(sentence: str) -> list[tuple[int, int, Figure]]:
    """Each figure of ``sentence`` where it stands (a repeated value once per place)."""
    digit = _NUMBER_HINT.search(sentence)
    if digit is None:
        return []
    return [(m.start(), m.end(), Figure(_figure_key(m), m.group(0).strip().rstrip("."), _is_date(m, sentence)))
            for m in _figure_matches(sentence, digit)]


def details(fact: Fact) -> Details:
    """Terms (with surface form, weight and clause) and name phrases of a fact."""
    terms: list[Term] = []
    names_ = _scan(fact, terms)
    return Details(tuple(terms), names_)


def names(fact: Fact) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``details(fact).names`` without building the terms (novelty reports the names of new facts)."""
    return _scan(fact, None)


def _scan(fact: Fact, terms: list[Term] | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The name phrases of a fact; appends its terms to ``terms`` unless that is None."""
    lang = fact.lang
    text, _ = _blank_figures(fact.text)
    stop, cache = _lexicon(lang)
    unspaced = _UNSPACED.search(text) is not None
    seen: set[str] = set()
    names: list[tuple[str, tuple[str, ...]]] = []
    run: list[tuple[str, str]] = []  # (token, key) of the current run of name tokens
    # a common sentence-initial capitalized word (a name only in a run): its term key, and its
    # index in ``terms`` (-1 when there is none)
    doubtful: tuple[str, int] | None = None
    first = True
    clause = 0
    for word in text.split():
        if word.isalpha():
            if terms is None and not word[0].isupper() and not (unspaced and _UNSPACED.search(word)):
                # names only: a lowercase word is no name, stop word or not, so all it does is
                # end a run (the doubtful index only matters for a capitalized first word; an
                # unspaced-script word does not end a run, see below)
                first = False
                if run:
                    doubtful = _close_run(run, names, terms, doubtful, lang)
                continue
            tokens: Sequence[str] = (word,)
            after = False
        else:
            core = word.strip(_PUNCT)
            lead = word[0] in _PUNCT and word[0] not in "'\x00"
            after = core != word and word[-1] in _PUNCT and word.rstrip(_PUNCT) == core and word[-1] != "."
            if lead or not core:
                if run:
                    doubtful = _close_run(run, names, terms, doubtful, lang)
                if lead and (set(word[:len(word) - len(word.lstrip(_PUNCT))]) & _BREAKS or word == "-"):
                    clause += 1
                if not core:
                    continue
            if _BLANK in core and run:
                doubtful = _close_run(run, names, terms, doubtful, lang)
            tokens = _SUBTOKEN.findall(core)
            if after:
                after = bool(set(word[len(core) + (len(word) - len(word.lstrip(_PUNCT))):]) & _BREAKS)
        for tok in tokens:
            if tok[0] == _BLANK:
                continue
            if unspaced and _UNSPACED.search(tok):
                if terms is not None:
                    _add_unspaced(tok, clause, terms, seen)
                else:
                    seen.update(_bigrams(tok))
                first = False
                continue
            tok = tok.removesuffix("'s")
            lower = tok.lower()
            info = cache.get(lower)
            if info is None:
                info = _token_info(lower, lang)
            is_stop, key, weight, zipf, calendar = info
            initial, first = first, False
            is_name = not is_stop and not calendar and tok[0].isupper()
            if not is_name:
                if run:
                    doubtful = _close_run(run, names, terms, doubtful, lang)
                if is_stop:
                    continue
            index = -1
            if key not in seen:
                seen.add(key)
                if terms is not None:
                    index = len(terms)
                    if is_name:
                        terms.append(Term(key, tok, max(NAME_WEIGHT, weight), clause, True))
                    else:
                        terms.append(Term(key, lower, weight, clause, False))
                else:
                    index = 0  # any index >= 0: only the key is used without terms
            if is_name:
                if initial and zipf >= _COMMON_ZIPF and not tok.isupper():
                    doubtful = (key, index) if index >= 0 else None
                run.append((tok, key))
        if after:
            clause += 1
            if run:
                doubtful = _close_run(run, names, terms, doubtful, lang)
    if run:
        _close_run(run, names, terms, doubtful, lang)
    return tuple(names)


def _close_run(run: list[tuple[str, str]], names: list[tuple[str, tuple[str, ...]]], terms: list[Term] | None,
               doubtful: tuple[str, int] | None, lang: str) -> None:
    """End a run of name tokens: a lone common sentence-initial word is no name after all."""
    if len(run) == 1 and doubtful is not None and doubtful[0] == run[0][1]:
        if terms is not None:
            t = terms[doubtful[1]]
            lower = t.surface.lower()
            terms[doubtful[1]] = Term(t.key, lower, _token_info(lower, lang)[2], t.clause, False)
    else:
        names.append((" ".join(r[0] for r in run), tuple(r[1] for r in run)))
    run.clear()
    return None


def _bigrams(tok: str) -> list[str]:
    """Character bigrams for scripts written without spaces."""
    return [tok] if len(tok) < 2 else [tok[i:i + 2] for i in range(len(tok) - 1)]


def _add_unspaced(tok: str, clause: int, terms: list[Term], seen: set[str]) -> None:
    for g in _bigrams(tok):
        if g not in seen:
            seen.add(g)
            terms.append(Term(g, g, 0.5, clause, False))
