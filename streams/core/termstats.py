"""Background term weights: inverse document frequencies that work from the very first story.

A stream starts empty, so its own document frequencies say nothing at first. We start from a
*background* estimate derived from ``wordfreq`` (Zipf frequencies per language, the compact
"small" lists: ~30-40k words per language, a few MB each, loaded lazily) and blend it with the
stream's own running event frequencies (how many live events carry the term), as a Bayesian prior
worth ``PRIOR_DOCS`` pseudo-documents:

    df(t) = (stream_df(t) + PRIOR_DOCS * p_bg(t)) / (stream_n + PRIOR_DOCS)
    idf(t) = ln(1 / df(t))

``p_bg`` is the probability that a news story contains the word, from its Zipf frequency
(``10 ** (zipf - 9)`` per token times an effective story length). Words missing from the list
are rarer than its cut-off (Zipf 3) and get ``UNKNOWN_ZIPF``; for languages wordfreq does not
cover, short tokens are presumed common and longer ones moderately rare, and the stream's own
frequencies take over as events arrive.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache

__all__ = ["PRIOR_DOCS", "UNKNOWN_ZIPF", "background_df", "background_zipf", "idf"]

# An effective story length (in tokens) turning a per-token frequency into the probability that a
# story contains the word at least once (word bursts make this far less than the real length).
EFFECTIVE_LENGTH = 60.0
UNKNOWN_ZIPF = 2.0  # below the "small" lists' cut-off (Zipf 3)
UNSUPPORTED_SHORT_ZIPF = 5.5  # tokens of <= 3 letters in a language wordfreq lacks: presume function words
UNSUPPORTED_ZIPF = 3.5
PRIOR_DOCS = 500.0
MIN_DF = 1e-6

# languages wordfreq covers under a sibling's list
_ALIASES = {"tl": "fil", "no": "nb", "nn": "nb", "hr": "sh", "sr": "sh", "bs": "sh", "af": "nl", "zh-cn": "zh",
            "zh-tw": "zh", "in": "id", "iw": "he"}
_lock = threading.Lock()
_lists: dict[str, dict[str, float] | None] = {}


def _freqs(lang: str) -> dict[str, float] | None:
    table = _lists.get(lang, False)
    if table is not False:
        return table  # type: ignore[return-value]
    with _lock:
        if lang in _lists:
            return _lists[lang]
        try:
            import wordfreq

            code = _ALIASES.get(lang, lang)
            # exact codes only (wordfreq would log a "nearest match" warning for every other one)
            table = (wordfreq.get_frequency_dict(code, wordlist="small")
                     if code in wordfreq.available_languages(wordlist="small") else None)
        except (ImportError, LookupError, OSError, ValueError):  # no wordfreq at all, or a broken list
            table = None
        _lists[lang] = table
        return table


@lru_cache(maxsize=400_000)
def background_zipf(word: str, lang: str) -> float:
    """Zipf frequency of a lowercased word in ``lang`` (a default when unknown)."""
    table = _freqs(lang)
    if table is None:
        if lang != "en":
            # Names and numbers are shared across languages; English is the widest net for them.
            return UNSUPPORTED_SHORT_ZIPF if len(word) <= 3 else UNSUPPORTED_ZIPF
        return UNKNOWN_ZIPF
    freq = table.get(word)
    if freq is None or freq <= 0.0:
        return UNKNOWN_ZIPF
    return math.log10(freq) + 9.0


def background_df(word: str, lang: str) -> float:
    """Probability that a story in ``lang`` contains ``word`` (background estimate)."""
    return min(1.0, max(MIN_DF, 10.0 ** (background_zipf(word, lang) - 9.0) * EFFECTIVE_LENGTH))


def idf(p_bg: float, stream_df: int = 0, stream_n: int = 0) -> float:
    """Blend of the background probability with the stream's running frequency."""
    df = (stream_df + PRIOR_DOCS * p_bg) / (stream_n + PRIOR_DOCS)
    return math.log(1.0 / max(df, MIN_DF))
