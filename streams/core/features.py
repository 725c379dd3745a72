"""Story features for event clustering: weighted tokens, names and numbers.

Everything here is a pure function of the text (plus a term-weight callable), deterministic and
language-robust:

* **tokens**: Unicode word runs, lowercased, *folded* (diacritics stripped; Cyrillic and Greek
  transliterated to Latin) so that names spelled alike match across languages; numbers are kept
  apart. Scripts written without spaces (Han, kana, Thai...) are cut into character bigrams.
* **names**: capitalized tokens that are not merely sentence-initial (or are rare words even
  there), in headline and body: a robust multilingual stand-in for named entities.
* **numbers**: figures normalized across conventions (``1,500`` = ``1.500`` = ``1500``,
  ``1,5`` = ``1.5``) and scale words (``$190 billion`` = ``190.000 millones`` = ``190 milliards``);
  one-digit figures are left out (too common to mean anything) unless a scale word follows.

Weights are TF-IDF (sublinear TF), L2-normalized per vector; the IDF comes from the caller (see
``termstats`` and ``clusterer.TermWeights``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = [
    "StoryFeatures",
    "cosine",
    "extract",
    "extract_names",
    "extract_numbers",
    "fold",
    "norm_vector",
    "tokenize",
]

# --- folding -----------------------------------------------------------------------------------

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "і": "i", "ї": "i",
    "є": "ye", "ґ": "g", "ў": "u", "ј": "j", "љ": "lj", "њ": "nj", "ћ": "c", "ђ": "dj", "џ": "dz",
    "ѓ": "gj", "ќ": "kj", "ѕ": "dz",
}
_GREEK = {
    "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th", "ι": "i",
    "κ": "k", "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p", "ρ": "r", "σ": "s",
    "ς": "s", "τ": "t", "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps", "ω": "o",
}
_SPECIAL = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "ı": "i", "þ": "th", "ð": "d"}
_TRANSLIT = str.maketrans({**_CYRILLIC, **_GREEK, **_SPECIAL})


@lru_cache(maxsize=200_000)
def fold(word: str) -> str:
    """Lowercase, strip diacritics, transliterate Cyrillic/Greek: ``Mišustin``/``Мишустин`` -> ``mishustin``."""
    w = word.lower()
    if w.isascii():
        return w
    w = unicodedata.normalize("NFKD", w)
    w = "".join(ch for ch in w if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", w.translate(_TRANSLIT))


# --- stemming ---------------------------------------------------------------------------------

_SNOWBALL = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech", "da": "danish",
    "nl": "dutch", "en": "english", "et": "estonian", "fi": "finnish", "fr": "french", "de": "german",
    "el": "greek", "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian",
    "lt": "lithuanian", "ne": "nepali", "no": "norwegian", "nb": "norwegian", "nn": "norwegian",
    "fa": "persian", "pl": "polish", "pt": "portuguese", "ro": "romanian", "ru": "russian",
    "sr": "serbian", "es": "spanish", "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}
_stemmers: dict[str, object | None] = {}


def _stemmer(lang: str):
    if lang not in _stemmers:
        algo = _SNOWBALL.get(lang)
        st = None
        if algo is not None:
            try:
                import snowballstemmer

                st = snowballstemmer.stemmer(algo)
            except (ImportError, KeyError):  # pragma: no cover - no stemmer: unstemmed tokens still work
                st = None
        _stemmers[lang] = st
    return _stemmers[lang]


@lru_cache(maxsize=400_000)
def stem(lower: str, lang: str) -> str:
    """Snowball stem of a lowercase word (the word itself for languages without a stemmer), folded."""
    st = _stemmer(lang)
    if st is not None and len(lower) > 3:
        lower = st.stemWord(lower)  # type: ignore[attr-defined]
    return fold(lower)


# --- tokens ------------------------------------------------------------------------------------

# Words: letters/marks (apostrophes inside words split them: "Fauci's" -> "Fauci", "s").
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_NUMBER = re.compile(r"(?<![\w.,])(\d+(?:[.,]\d+)*)(bn|mn|tn)?(?![\w])")
# the word after a figure, when it may be a scale word ("190 billion", "190.000 millones", "1,5 Mrd.")
_SCALE_WORDS = re.compile(r"[ \u00a0\u202f]*([^\W\d_]+)(?:[ \u00a0\u202f]+([^\W\d_]+))?")
# Scripts written without spaces between words: cut them into character bigrams.
_NOSPACE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff]")
_SENT_BOUNDARY = re.compile(r"(?:^|[.!?:;\"“”«»()\[\]—–-]\s*)$")


def _bigrams(run: str) -> list[str]:
    if len(run) <= 2:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)]


def tokenize(text: str) -> list[tuple[str, int]]:
    """Word tokens as (surface form, start offset); space-less scripts as character bigrams."""
    if not _NOSPACE.search(text):  # the usual case: no word needs cutting into bigrams
        return [(m.group(), m.start()) for m in _WORD.finditer(text)]
    out: list[tuple[str, int]] = []
    for m in _WORD.finditer(text):
        w = m.group()
        if _NOSPACE.search(w):
            out.extend((b, m.start()) for b in _bigrams(w))
        else:
            out.append((w, m.start()))
    return out


def _normalize_number(raw: str) -> str | None:
    parts = re.split(r"[.,]", raw)
    if len(parts) == 1:
        s = raw
    elif len(parts[-1]) == 3 and len(parts[0]) <= 3:
        s = "".join(parts)  # thousands separators: 1,500 / 1.500 / 3,000,000
    else:
        s = "".join(parts[:-1]) + "." + parts[-1]  # decimal: 1.5 / 1,5
    s = s.lstrip("0") or "0"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
        if s.startswith("."):
            s = "0" + s
    digits = s.replace(".", "")
    if len(digits) < 2:
        return None
    return s


# Scale words, folded, -> power of ten, so that "$190 billion", "190.000 millones" and "190 milliards"
# are one figure across languages. The long scale ("Billion" = 10^12) where the language uses it.
_SCALE = {
    "thousand": 3, "thousands": 3, "tausend": 3, "mille": 3, "mila": 3, "duizend": 3, "tys": 3,
    "tysiecy": 3, "tysiace": 3, "tysyach": 3, "tysyacha": 3, "tysyachi": 3,  # keys as fold() writes them
    "million": 6, "millions": 6, "millionen": 6, "mio": 6, "mn": 6, "millon": 6, "millones": 6,
    "milhao": 6, "milhoes": 6, "milione": 6, "milioni": 6, "miljoen": 6, "miljoenen": 6, "mln": 6,
    "milion": 6, "milionow": 6, "miliony": 6, "millionov": 6, "milliona": 6,
    "billion": 9, "billions": 9, "bn": 9, "milliard": 9, "milliards": 9, "milliarde": 9, "milliarden": 9,
    "mrd": 9, "mds": 9, "md": 9, "bilhao": 9, "bilhoes": 9, "miliardo": 9, "miliardi": 9, "mld": 9,
    "miljard": 9, "miljarden": 9, "miliard": 9, "miliardow": 9, "miliardy": 9, "milliardov": 9,
    "milliarda": 9, "mlrd": 9,
    "trillion": 12, "trillions": 12, "tn": 12, "billon": 12, "billones": 12, "biljoen": 12,
    "bilione": 12, "billionen": 12, "trillionov": 12, "trilliona": 12, "trln": 12, "bilion": 12, "biliony": 12,
}
# languages where "billion" is 10^12 (the long scale)
_LONG_SCALE = frozenset({"de", "fr", "es", "it", "nl", "pl", "da", "sv", "nb", "no", "fi", "cs", "sk", "sl",
                         "hr", "sr", "bs", "hu", "ro", "pt-pt"})


def _scale_after(text: str, end: int, lang: str) -> int:
    """Power of ten of the scale word(s) right after a figure ending at ``end`` (0 when none)."""
    m = _SCALE_WORDS.match(text, end)
    if m is None:
        return 0
    first = fold(m.group(1))
    if first == "mil":  # "mil millones" / "mil milhões": a thousand millions; "5 mil": 5,000
        second = fold(m.group(2)) if m.group(2) else ""
        power = _SCALE.get(second, 0)
        return power + 3 if power else (3 if lang in ("es", "pt", "ca") else 0)
    power = _SCALE.get(first, 0)
    if power == 9 and first in ("billion", "billions") and lang in _LONG_SCALE:
        return 12
    return power


def _scaled(number: str, power: int) -> str:
    """``number`` (normalized, e.g. "1.5") times 10**power, as a plain decimal string."""
    whole, _, frac = number.partition(".")
    frac = frac.ljust(power, "0")
    digits = (whole + frac[:power]).lstrip("0") or "0"
    rest = frac[power:].rstrip("0")
    return f"{digits}.{rest}" if rest else digits


def extract_numbers(text: str, lang: str = "und") -> list[str]:
    """Normalized figures of ``text``; a scale word after a figure multiplies it (see ``_SCALE``)."""
    out = []
    for m in _NUMBER.finditer(text):
        raw, suffix = m.group(1), m.group(2)
        power = _SCALE[suffix] if suffix else _scale_after(text, m.end(), lang)
        if power:
            # one digit is a figure too here: "7 million"
            out.append(_scaled(_normalize_number(raw) or raw.replace(",", "."), power))
            continue
        n = _normalize_number(raw)
        if n is not None:
            out.append(n)
    return out


COMMON_ZIPF = 3.8  # a capitalized sentence start this frequent is a common word, not a name
FUNCTION_ZIPF = 5.8  # mid-sentence capitals this frequent ("The", "I") are not names


def _is_capitalized(word: str) -> bool:
    return word[:1].isupper() and not _NOSPACE.match(word)


def _sentence_initial(text: str, start: int) -> bool:
    return _SENT_BOUNDARY.search(text[max(0, start - 3):start]) is not None


def extract_names(
    text: str, tokens: list[tuple[str, int]], zipf: Callable[[str], float], *, title_case: bool = False
) -> list[str]:
    """Folded name tokens: capitalized words that are not just capitalized common words.

    A sentence-initial word (or any word of a title-cased headline) counts only when it is not a
    common word of the language; mid-sentence capitals count unless the word is a function word.
    """
    out = []
    for w, start in tokens:
        if len(w) < 2 or not _is_capitalized(w):
            continue
        z = zipf(w.lower())
        if (title_case or _sentence_initial(text, start)) and z >= COMMON_ZIPF:
            continue
        if z >= FUNCTION_ZIPF:
            continue
        out.append(fold(w))
    return out


# --- vectors -----------------------------------------------------------------------------------

Vector = dict[str, float]


def norm_vector(v: dict[str, float]) -> Vector:
    n = math.sqrt(sum(x * x for x in v.values()))
    if n <= 0.0:
        return {}
    return {k: x / n for k, x in v.items()}


def cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(k, 0.0) for k, x in a.items())


def _tfidf(counts: dict[str, int], weight: Callable[[str], float]) -> Vector:
    return norm_vector({t: (1.0 + math.log(c)) * weight(t) for t, c in counts.items()})


# Per (language, stemming): a word token as written -> its subtokens' (term, lower, name) — a
# space-less word gives one per bigram; ``term`` None for a one-letter token (no term), ``name``
# the folded form when the token is capitalized (a name candidate), else None. A pure function of
# the token, so a story's tokens are looked up, not lowercased, stemmed and folded one by one.
_Sub = tuple[str | None, str, str | None]
# per language; cleared when full (a long-running worker's vocabulary drifts). ~600 B an entry:
# 50,000 is ~30 MiB, and the 45,000 distinct English tokens of the 12k-story dev stream fit.
_TOKEN_CACHE_MAX = 50_000
_token_caches: dict[tuple[str, bool], dict[str, tuple[_Sub, ...]]] = {}


def _token_entry(word: str, lang: str, stemming: bool) -> tuple[_Sub, ...]:
    subs = []
    for w in (_bigrams(word) if _NOSPACE.search(word) else (word,)):
        low = w.lower()
        term = None if len(w) < 2 and not _NOSPACE.match(w) else (stem(low, lang) if stemming else fold(low))
        subs.append((term, low, fold(w) if len(w) >= 2 and _is_capitalized(w) else None))
    return tuple(subs)


# A word token, and what stands right before it: a sentence boundary within the 3 characters
# before it (``_sentence_initial``), or the start of its text (``_START``, put before each text).
_START = "\x00"
_TOKEN_IN_CONTEXT = re.compile(r"(?:([.!?:;\"“”«»()\[\]—–-])\s{0,2}|(\x00))?([^\W\d_]+)", re.UNICODE)


def _title_cased(tokens: list[tuple[str, int]]) -> bool:
    words = [w for w, _ in tokens if len(w) > 3]
    if len(words) < 3:
        return False
    return sum(1 for w in words if w[:1].isupper()) >= 0.6 * len(words)


@dataclass(frozen=True, slots=True)
class StoryFeatures:
    body: Vector  # all text (headline + body) tokens, L2-normalized TF-IDF
    head: Vector  # headline tokens
    names: Vector  # name tokens
    numbers: tuple[str, ...]  # distinct normalized figures, sorted
    idf: dict[str, float]  # idf of every term above (for candidate search)
    length: int = 0  # weighted terms read (headline + body): how much text the story carries
    sem: Any = None  # int8 semantic vector of headline + lead (``embedding``), None without the model


def extract(
    headline: str,
    sentences: Iterable[str],
    term_idf: Callable[[str, str], float],
    zipf: Callable[[str], float],
    *,
    lang: str = "und",
    min_idf: float = 0.5,
    max_sentences: int = 40,
    stemming: bool = True,
) -> StoryFeatures:
    """Features of one story.

    ``term_idf(lower_surface, term)`` gives a term's weight; terms whose idf is below ``min_idf``
    (function words) are dropped. ``zipf(lower)`` is the background Zipf frequency of a lowercase
    word in the story's language (used to tell names from capitalized sentence starts).
    Body and headline terms are Snowball stems (when the language has a stemmer), folded; names are
    folded surface forms.

    One pass over the tokens of the headline, then of the body's sentences (joined, each after a
    ``_START`` mark, so one regex call finds them all with what precedes each): the same terms,
    names and counts, in the same order, as ``tokenize`` + ``extract_names`` per text would give.
    """
    body_text = list(sentences)[:max_sentences]
    body = _START + _START.join(body_text)
    head = _START + headline
    if head.count(_START) != 1 or body.count(_START) != max(1, len(body_text)):
        # a text holding the mark itself, where it would read as a text start: "\x01" is read as
        # the mark is elsewhere (no letter, digit, space or sentence boundary)
        head = _START + headline.replace(_START, "\x01")
        body = _START + _START.join(s.replace(_START, "\x01") for s in body_text)
    key = (lang, stemming)
    cache = _token_caches.get(key)
    if cache is None or len(cache) >= _TOKEN_CACHE_MAX:
        cache = _token_caches[key] = {}
    get = cache.get
    idf: dict[str, float] = {}
    idf_get = idf.get
    names: list[str] = []
    counts: list[dict[str, int]] = []
    length = 0
    for text, title_case in ((head, None), (body, False)):
        found = _TOKEN_IN_CONTEXT.findall(text)
        if title_case is None:
            # (a space-less word is read as bigrams, too short to count)
            title_case = _title_cased([(w, 0) for _, _, w in found if not _NOSPACE.search(w)])
        terms: dict[str, int] = {}
        for boundary, start, word in found:
            subs = get(word)
            if subs is None:
                subs = cache[word] = _token_entry(word, lang, stemming)
            for term, low, name in subs:
                if term is not None:
                    x = idf_get(term)
                    if x is None:
                        x = idf[term] = term_idf(low, term)
                    if x >= min_idf:
                        terms[term] = terms.get(term, 0) + 1
                        length += 1
                if name is not None:
                    z = zipf(low)
                    if z >= FUNCTION_ZIPF or (z >= COMMON_ZIPF and (title_case or boundary or start)):
                        continue
                    names.append(name)
        counts.append(terms)
    head_counts, body_counts = counts
    all_counts = dict(head_counts)
    for term, n in body_counts.items():
        all_counts[term] = all_counts.get(term, 0) + n

    def w(t: str) -> float:
        x = idf_get(t)
        if x is None:
            x = idf[t] = term_idf(t, t)
        return x

    numbers = extract_numbers(headline, lang)
    numbers.extend(extract_numbers(body, lang))  # the mark reads as the end and start of a text
    return StoryFeatures(
        body=_tfidf(all_counts, w),
        head=_tfidf(head_counts, w),
        names=_tfidf(_count(names), w),
        numbers=tuple(sorted(set(numbers))),
        idf=idf,
        length=length,
    )


def _count(items: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out
