"""Word-unigram language models from the ``wordfreq`` word lists: a second opinion for language ID.

``wordfreq`` ships, for about 40 languages, the frequencies of the 25-60k most common words
(everything down to one in a million tokens, from Wikipedia, subtitles, news, web text,
books...). That is independent of any evaluation data, and it is exactly what tells close
languages apart where character n-grams struggle: Catalan "amb els seus" vs Spanish
"con los sus", Czech "které jsou" vs Slovak "ktoré sú", Malay "boleh tak" vs Indonesian
"bisa tidak".

A text's tokens are scored per language as the mean of log P(token | language), with unknown
tokens at a floor (:data:`LOG_FLOOR`, a tenth of the rarest listed frequency): a per-token
average, so the score does not grow with length and can be mixed with other evidence.
:func:`score` also reports how many tokens the language's list knows at all.

Tables are built lazily, one language at a time, on first use (a few ms and a few MB each)
and cached for the life of the process. The data files are read straight from the installed
package (gzip + msgpack, the documented "cBpack" format): ``import wordfreq`` itself would
cost ~0.3 s at start-up for machinery (tokenizers, language tags) this module does not need.
No network access, ever.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

#: Our (ISO 639-1) codes -> the wordfreq list that models them. Serbian, Croatian and Bosnian
#: share one Serbo-Croatian list (Latin script; Serbian Cyrillic is transliterated first).
_LIST_OF: dict[str, str] = {
    "hr": "sh", "bs": "sh", "sr": "sh", "sh": "sh",
    "no": "nb", "nb": "nb",
    "tl": "fil", "fil": "fil",
    "zh-cn": "zh", "zh-tw": "zh",
}

#: log of the frequency given to a token a language's list does not contain. The lists stop
#: at 1e-6; a tenth of that is the usual "seen less often than the cut-off" smoothing.
LOG_FLOOR = math.log(1e-7)

#: At most this many words per language (most frequent first; the lists hold 25-60k; the
#: tail past 30k changed no tune-half decision and would double the memory).
MAX_WORDS = 30_000

#: Characters looked at per word wanted (words plus spaces and punctuation average ~6-7).
_CHARS_PER_WORD = 10

#: Characters that separate words inside a whitespace-delimited chunk.
_SPLIT = ("'", "\u2019", "-", "\u2010", "\u2011", "/", ".", ",", ":", ";", "(", ")", "\u2013", "\u2014")
#: Characters stripped from the ends of a chunk (punctuation and digits).
_EDGE = "\"«»„“”‘'!?.,:;()[]{}<>*#%&+=|~^`@$€£0123456789…–—-_/\\¡¿"

#: Serbian Cyrillic -> Latin (Gaj's alphabet), as wordfreq does before looking up "sh".
_SR_LATIN = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ђ": "đ", "е": "e", "ж": "ž", "з": "z",
    "и": "i", "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m", "н": "n", "њ": "nj",
    "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "ћ": "ć", "у": "u", "ф": "f", "х": "h",
    "ц": "c", "ч": "č", "џ": "dž", "ш": "š",
})
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")


def _data_dir() -> Path | None:
    spec = importlib.util.find_spec("wordfreq")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        path = Path(loc) / "data"
        if path.is_dir():
            return path
    return None


_lock = threading.Lock()
_files: dict[str, Path] | None = None
_tables: dict[str, dict[str, float]] = {}


def _list_files() -> dict[str, Path]:
    """wordfreq list name -> its "small" data file (the lists every language has)."""
    global _files
    if _files is None:
        found: dict[str, Path] = {}
        root = _data_dir()
        if root is not None:
            for path in root.glob("small_*.msgpack.gz"):
                found[path.name[len("small_"): -len(".msgpack.gz")]] = path
        _files = found
    return _files


def list_name(lang: str) -> str | None:
    """The wordfreq list modelling ``lang`` (our code), or None when there is none."""
    name = _LIST_OF.get(lang, lang)
    return name if name in _list_files() else None


def available(lang: str) -> bool:
    """Whether a word model exists for ``lang``."""
    return list_name(lang) is not None


def _read_cbpack(path: Path) -> list[list[str]]:
    import msgpack  # a dependency of wordfreq; imported only when a table is built

    with gzip.open(path, "rb") as fh:
        data = msgpack.load(fh, raw=False)
    header = data[0]
    if not isinstance(header, dict) or header.get("format") != "cB" or header.get("version") != 1:
        raise ValueError(f"unexpected wordfreq header in {path}: {header!r}")
    return data[1:]


def table(lang: str) -> dict[str, float]:
    """word -> natural log of its frequency in ``lang`` ({} when there is no list). Cached."""
    name = list_name(lang)
    if name is None:
        return {}
    tab = _tables.get(name)
    if tab is not None:
        return tab
    with _lock:
        tab = _tables.get(name)
        if tab is None:
            tab = {}
            ln10 = math.log(10.0)
            # bucket i holds the words at -i centibels: log10 freq = -i / 100.
            for i, bucket in enumerate(_read_cbpack(_list_files()[name])):
                if not bucket:
                    continue
                logp = -i / 100.0 * ln10  # one float object shared by the bucket
                for word in bucket:
                    tab.setdefault(word, logp)  # entries our tokens never match are harmless
                if len(tab) >= MAX_WORDS:
                    break
            _tables[name] = tab
    return tab


def loaded() -> tuple[str, ...]:
    """The wordfreq lists built so far (for diagnostics)."""
    return tuple(sorted(_tables))


def tokens(text: str, limit: int | None = None) -> list[str]:
    """Case-folded, NFC-normalised words of ``text`` (letters only; apostrophes and hyphens
    split words, Catalan "l·l" does not), at most ``limit`` of them.

    Written with str methods rather than a regular expression: ``[^\\W\\d_]+`` costs ~60 ns per
    character on non-ASCII text, several times this."""
    if limit is not None:
        text = text[: limit * _CHARS_PER_WORD]  # enough for ``limit`` words of most text
    text = unicodedata.normalize("NFC", text).casefold()
    for sep in _SPLIT:
        if sep in text:
            text = text.replace(sep, " ")
    out: list[str] = []
    for word in text.split():
        if not word.isalpha():
            word = word.strip(_EDGE)
            if not word.isalpha() and not (
                word and word.replace("·", "").isalpha() and word[0] != "·" and word[-1] != "·"
            ):
                continue  # digits, URLs, codes, marks (scripts this module does not serve)
        out.append(word)
        if limit is not None and len(out) >= limit:
            break
    return out


def _view(lang: str, toks: Sequence[str]) -> Sequence[str]:
    """The tokens as ``lang``'s list spells them (Serbian Cyrillic transliterated)."""
    if list_name(lang) == "sh" and _CYRILLIC_RE.search(" ".join(toks)):
        return [t.translate(_SR_LATIN) for t in toks]
    return toks


def score(toks: Sequence[str], langs: Iterable[str]) -> dict[str, tuple[float, float]]:
    """Per language with a model: (mean log P(token | lang) with the floor for unknown tokens,
    share of the tokens the language's list knows). Languages without a model are left out;
    so is everything when there are no tokens."""
    out: dict[str, tuple[float, float]] = {}
    n = len(toks)
    if not n:
        return out
    for lang in langs:
        if lang in out or not available(lang):
            continue
        tab = table(lang)
        view = _view(lang, toks)
        logps = list(map(tab.get, view))  # a C loop: this runs per article
        known = n - logps.count(None)
        total = sum(filter(None, logps)) + (n - known) * LOG_FLOOR  # (no listed word has 0.0)
        out[lang] = (total / n, known / n)
    return out
