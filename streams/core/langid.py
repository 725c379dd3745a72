"""Language of a story: an ISO 639-1 code, or ``"und"`` when the evidence is weak.

The engine is langdetect (seeded, so deterministic); ``langdetect_rs`` is used instead when it
is importable, as it gives bit-identical results about 50x faster. Around the engine:

1. **Script first.** Letters are counted per Unicode script. A script that belongs to a single
   language decides on its own (Hangul -> ko, kana -> ja, Greek -> el, ...). Text in a
   multi-language script (Latin, Cyrillic, Arabic, Devanagari) goes to the model with the
   letters of other scripts removed (an English menu bar must not outvote an Urdu sentence)
   and the answer is restricted to languages written in that script.
2. **Confusable groups.** langdetect samples n-grams at random, so on short text it often
   picks the wrong one of two close languages (ca/es, cs/sk, bg/mk, hr/sl, ru/uk, ...). Within
   such a group the model's log-probabilities are combined with (a) how well the counts of
   the group's distinctive letters fit each language (rates from langdetect's own profiles:
   a Ukrainian sentence without any of і/ї/є is unlikely), (b) hits of short curated
   function-word lists and (c) a word-unigram model from wordfreq's frequency lists
   (:mod:`streams.core.wordlm`), scored only for members the letters leave in the running.
   The same model lets Malay, Serbian (Cyrillic) and Icelandic compete with the langdetect
   languages their texts come out as, and turns an answer into ``"und"`` when that
   language's word list knows hardly any of the text's words (a language we do not model).
3. **Languages langdetect lacks.** A few have letters no supported language uses (Azerbaijani
   ə, Esperanto ĉ/ĝ/ŭ, Belarusian ў, Kazakh қ/ң/ә, Serbian ђ/ћ, Mongolian ө/ү); Norwegian
   ("no" in langdetect) is split into Bokmål/Nynorsk by function words. Otherwise a low model
   probability, or too few letters, gives ``"und"`` rather than a confident wrong label.
4. **The feed's hint** is a prior: it breaks near-ties and answers when the text has no
   evidence, but never overrides a clear decision.

Public API: :func:`detect_language` (a story), :func:`detect_text` (any text) and
:func:`analyse` (the decision with its reason, for evaluation and debugging).
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from streams.core import wordlm

UND = "und"

#: Characters of headline + body used (at least half from the body). langdetect converges
#: long before this on prose; more text only costs time (the engine is ~linear in length).
MAX_CHARS = 500
#: Fewer letters than this (in the deciding script) is too little evidence for the model.
MIN_LETTERS = 4
#: Below this (restricted, refined) model probability the answer is "und" (or the hint).
MIN_PROB = 0.5
#: Fewer letters than this and a model answer also needs a higher probability.
SHORT_LETTERS = 12
MIN_PROB_SHORT = 0.8
#: The hint wins when the model gives it at least this share of the top probability.
HINT_RATIO = 0.25
#: Log-prior added to the hinted language inside a confusable group.
HINT_PRIOR = 2.0
#: A weak model answer yields to the hint unless the model gives the hint less than this.
HINT_MIN_PROB = 0.01
#: Weight of the model's log-probability against the letter/word evidence in a group.
MODEL_WEIGHT = 0.25
#: Floor for model probabilities inside a group (langdetect's 0.0 / 1e-30 are not certainty).
PROB_FLOOR = 1e-6
#: Log-likelihood bonus for each function word of a language found in the text.
WORD_WEIGHT = 1.5
#: Weight of the word model (wordfreq unigrams, see :mod:`streams.core.wordlm`) inside a
#: group: its mean token log-likelihood times min(tokens, LM_CAP) times this.
LM_WEIGHT = 1.0
LM_CAP = 20
#: Members of a group further than this (log-likelihood) behind the leader on the other
#: evidence are not scored by the word model (nor kept in the running).
LM_PRUNE = 20.0
#: Word tokens looked at by the word model (the text's first ones).
LM_TOKENS = 40
#: Scripts whose words the word model checks (word-level tokens; Indic scripts would need
#: syllable-aware tokenisation, and are decided by script or by langdetect alone).
_WORD_SCRIPTS = frozenset({"Latin", "Cyrillic"})
#: A model answer whose word list knows fewer than this share of the text's words (3+ letters;
#: at least MIN_KNOWN_TOKENS of them) is "und": the text is in a language we do not model.
MIN_KNOWN_SHARE = 0.25
MIN_KNOWN_TOKENS = 3
#: Log-prior against a language langdetect lacks (Malay, Serbian, Icelandic) inside a group.
EXTRA_PENALTY = 4.0
#: For a language without a word model, a model answer is "und" when fewer than this share of
#: the text's words (at least MIN_STOP_TOKENS of them) are its function words (stopwords-iso
#: lists of at least MIN_STOP_LIST words: shorter lists miss too much running text to judge).
#: Zulu, Xhosa, Shona... come out of langdetect as Swahili without a single Swahili "na", "ya",
#: "kwa", "katika". Picked on the language dev file: no Swahili sentence of it falls below.
MIN_STOP_SHARE = 0.05
MIN_STOP_TOKENS = 5
MIN_STOP_LIST = 50

# --------------------------------------------------------------------------------------------
# Scripts

# (first code point, last code point, script). Only letters and marks are counted.
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "Latin"),
    (0x0061, 0x007A, "Latin"),
    (0x00C0, 0x024F, "Latin"),
    (0x0250, 0x02AF, "Latin"),
    (0x0370, 0x03FF, "Greek"),
    (0x0400, 0x052F, "Cyrillic"),
    (0x0530, 0x058F, "Armenian"),
    (0x0590, 0x05FF, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"),
    (0x0700, 0x074F, "Syriac"),
    (0x0750, 0x077F, "Arabic"),
    (0x0780, 0x07BF, "Thaana"),
    (0x08A0, 0x08FF, "Arabic"),
    (0x0900, 0x097F, "Devanagari"),
    (0x0980, 0x09FF, "Bengali"),
    (0x0A00, 0x0A7F, "Gurmukhi"),
    (0x0A80, 0x0AFF, "Gujarati"),
    (0x0B00, 0x0B7F, "Oriya"),
    (0x0B80, 0x0BFF, "Tamil"),
    (0x0C00, 0x0C7F, "Telugu"),
    (0x0C80, 0x0CFF, "Kannada"),
    (0x0D00, 0x0D7F, "Malayalam"),
    (0x0D80, 0x0DFF, "Sinhala"),
    (0x0E00, 0x0E7F, "Thai"),
    (0x0E80, 0x0EFF, "Lao"),
    (0x0F00, 0x0FFF, "Tibetan"),
    (0x1000, 0x109F, "Myanmar"),
    (0x10A0, 0x10FF, "Georgian"),
    (0x1100, 0x11FF, "Hangul"),
    (0x1200, 0x139F, "Ethiopic"),
    (0x1780, 0x17FF, "Khmer"),
    (0x1C80, 0x1C8F, "Cyrillic"),
    (0x1C90, 0x1CBF, "Georgian"),
    (0x1E00, 0x1EFF, "Latin"),
    (0x1F00, 0x1FFF, "Greek"),
    (0x2D00, 0x2D2F, "Georgian"),
    (0x2DE0, 0x2DFF, "Cyrillic"),
    (0x3005, 0x3007, "Han"),
    (0x3040, 0x309F, "Kana"),
    (0x30A0, 0x30FF, "Kana"),
    (0x3130, 0x318F, "Hangul"),
    (0x31F0, 0x31FF, "Kana"),
    (0x3400, 0x4DBF, "Han"),
    (0x4E00, 0x9FFF, "Han"),
    (0xA640, 0xA69F, "Cyrillic"),
    (0xA8E0, 0xA8FF, "Devanagari"),
    (0xA960, 0xA97F, "Hangul"),
    (0xAC00, 0xD7FF, "Hangul"),
    (0xF900, 0xFAFF, "Han"),
    (0xFB1D, 0xFB4F, "Hebrew"),
    (0xFB50, 0xFDFF, "Arabic"),
    (0xFE70, 0xFEFF, "Arabic"),
    (0xFF21, 0xFF3A, "Latin"),
    (0xFF41, 0xFF5A, "Latin"),
    (0xFF66, 0xFF9F, "Kana"),
    (0x20000, 0x2FFFF, "Han"),
)
_STARTS = [r[0] for r in _RANGES]

#: Scripts written by one language (the default), with the others the hint may pick.
_SCRIPT_LANG: dict[str, tuple[str, frozenset[str]]] = {
    "Greek": ("el", frozenset()),
    "Hebrew": ("he", frozenset({"yi"})),
    "Armenian": ("hy", frozenset()),
    "Georgian": ("ka", frozenset()),
    "Gurmukhi": ("pa", frozenset()),
    "Gujarati": ("gu", frozenset()),
    "Oriya": ("or", frozenset()),
    "Tamil": ("ta", frozenset()),
    "Telugu": ("te", frozenset()),
    "Kannada": ("kn", frozenset()),
    "Malayalam": ("ml", frozenset()),
    "Sinhala": ("si", frozenset()),
    "Thai": ("th", frozenset()),
    "Lao": ("lo", frozenset()),
    "Tibetan": ("bo", frozenset({"dz"})),
    "Myanmar": ("my", frozenset()),
    "Khmer": ("km", frozenset()),
    "Thaana": ("dv", frozenset()),
    "Ethiopic": ("am", frozenset({"ti"})),
    "Hangul": ("ko", frozenset()),
    "Kana": ("ja", frozenset()),
    # Bengali script is also Assamese: decided below by Assamese-only letters.
    "Bengali": ("bn", frozenset({"as"})),
    # Han alone is Chinese unless the feed says Japanese (an all-kanji headline) or Korean.
    "Han": ("zh", frozenset({"ja", "ko"})),
}
#: Scripts shared by several languages: the model decides among these (langdetect codes).
_MODEL_SCRIPT_LANGS: dict[str, frozenset[str]] = {
    "Latin": frozenset(
        "af ca cs cy da de en es et fi fr hr hu id it lt lv nl no pl pt ro sk sl so sq sv sw "
        "tl tr vi".split()
    ),
    "Cyrillic": frozenset({"bg", "mk", "ru", "uk"}),
    "Arabic": frozenset({"ar", "fa", "ur"}),
    "Devanagari": frozenset({"hi", "mr", "ne"}),
}
#: Scripts that carry more information per letter than Latin, and that, when mixed with Latin,
#: are nearly always the text's own language (Latin being brand names, URLs, English menus).
_LATIN_DISCOUNT = 4.0


@lru_cache(maxsize=8192)
def _script_of(ch: str) -> str | None:
    """The script of a letter or mark, or None (digits, punctuation, symbols, emoji)."""
    if unicodedata.category(ch)[0] not in "LM":
        return None
    cp = ord(ch)
    i = bisect_right(_STARTS, cp) - 1
    if i >= 0 and cp <= _RANGES[i][1]:
        return _RANGES[i][2]
    return "Other"


def _script_counts(chars: Counter[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for ch, n in chars.items():
        script = _script_of(ch)
        if script is not None:
            counts[script] += n
    return counts


def _dominant_script(scripts: Counter[str]) -> str | None:
    """The script the text is written in. Han+kana is Japanese, Han+Hangul Korean."""
    if not scripts:
        return None
    if scripts["Kana"] and scripts["Kana"] * 10 >= scripts["Han"]:
        scripts = scripts.copy()
        scripts["Kana"] += scripts.pop("Han", 0)
    elif scripts["Hangul"] and scripts["Hangul"] * 2 >= scripts["Han"]:
        scripts = scripts.copy()
        scripts["Hangul"] += scripts.pop("Han", 0)
    return max(
        scripts,
        key=lambda s: (scripts[s] / (_LATIN_DISCOUNT if s == "Latin" else 1.0), s),
    )


#: Latin letters that look like Cyrillic ones; mixed into Cyrillic words they are typing
#: shortcuts (Ukrainian "вiн" with a Latin i), not Latin text.
_HOMOGLYPHS = str.maketrans("aceiopxyjsACEHIKMOPTXBJS", "асеіорхујѕАСЕНІКМОРТХВЈЅ")
_MIXED_WORD_RE = re.compile(
    r"\w*(?:[a-zA-Z][\u0400-\u04ff]|[\u0400-\u04ff][a-zA-Z])\w*|\b[a-zA-Z]\b"
)


def _fix_homoglyphs(text: str) -> str:
    return _MIXED_WORD_RE.sub(lambda m: m.group(0).translate(_HOMOGLYPHS), text)


def _only_script(text: str, script: str, chars: Counter[str]) -> str:
    """Text with the letters of other scripts blanked out (digits and punctuation kept)."""
    table = {}
    for ch in chars:  # lower-case letters; blank their upper-case forms too
        if _script_of(ch) not in (script, None):
            table[ord(ch)] = " "
            table[ord(ch.upper()[0])] = " "
    return text.translate(table)


# --------------------------------------------------------------------------------------------
# Letters and words that tell close languages apart

#: Per language, the share of letters that are each distinctive letter (from langdetect's own
#: unigram profiles, so independent of any evaluation data). A letter missing from a
#: language's row has the floor rate (names and loanwords).
_LETTER_RATES: dict[str, dict[str, float]] = {
    "ru": {"ы": 0.0155, "э": 0.0022, "ъ": 0.0003, "ё": 0.0020, "щ": 0.0033, "ю": 0.0052,
           "я": 0.0206, "й": 0.0182, "ь": 0.0114},
    "uk": {"і": 0.0684, "ї": 0.0090, "є": 0.0054, "ґ": 0.0003, "щ": 0.0022, "ю": 0.0079,
           "я": 0.0169, "й": 0.0114, "ь": 0.0205},
    "bg": {"ъ": 0.0148, "щ": 0.0048, "ю": 0.0021, "я": 0.0150, "й": 0.0071, "ь": 0.0006},
    "mk": {"ѓ": 0.0018, "ќ": 0.0010, "ѕ": 0.0002, "љ": 0.0003, "њ": 0.0025, "џ": 0.0004,
           "ј": 0.0198},
    "ca": {"à": 0.0047, "è": 0.0047, "ò": 0.0023, "ï": 0.0004, "ç": 0.0009, "·": 0.0007},
    "es": {"ñ": 0.0020, "á": 0.0034},
    "pt": {"ã": 0.0064, "õ": 0.0007, "â": 0.0008, "ê": 0.0014, "ç": 0.0043, "à": 0.0005,
           "á": 0.0038},
    "cs": {"ě": 0.0122, "ř": 0.0093, "ů": 0.0043},
    "sk": {"ä": 0.0009, "ľ": 0.0036, "ĺ": 0.0003, "ŕ": 0.0002, "ô": 0.0012},
    "hr": {"ć": 0.0033, "đ": 0.0016},
    "sl": {},
    "pl": {"ą": 0.0082, "ę": 0.0060, "ł": 0.0132, "ń": 0.0028, "ś": 0.0062, "ż": 0.0057,
           "ć": 0.0014},
    "da": {"æ": 0.0065},
    "no": {"æ": 0.0013},
    "sv": {"ä": 0.0177, "ö": 0.0135},
    "af": {"ê": 0.0007, "ë": 0.0019},
    # languages langdetect lacks: rates from wordfreq's lists (frequency-weighted letters;
    # Serbian through its Latin spelling, lj/nj/dž/j/đ/ć -> љ/њ/џ/ј/ђ/ћ)
    "sr": {"ђ": 0.0019, "џ": 0.0001, "љ": 0.0048, "ј": 0.0389, "ћ": 0.0047, "њ": 0.0062},
    "is": {"ö": 0.0071, "æ": 0.0076},
    "nl": {"ë": 0.0010},
}
_RATE_FLOOR = 1e-4

#: Short, frequent words that are common in one language of a group and rare in the others.
_WORDS: dict[str, frozenset[str]] = {
    k: frozenset(v.split())
    for k, v in {
        "ca": "i amb els dels pels per és més però aquest aquesta aquests seva seu seus "
              "també va van fins perquè quan molt molts tot tots totes any anys altres ara "
              "sense segons durant després sempre només així l d s n hi ha el del al es",
        "es": "y los las con por para pero más muy también este esta estos su sus como "
              "cuando porque sin hasta está son fue hay lo todo todos años otros ahora "
              "según durante después siempre sólo solo así ya el del al se",
        "pt": "não em um uma os do da dos das com para mais foi ao pelo pela seu sua também "
              "muito ou é são está ser pode quando sobre",
        "cs": "se jsou jsem jsme jako také který která které nebo pro byl bylo být když "
              "podle mezi jen jejich proto protože již než jeho této tento",
        "sk": "sa sú som sme ako tiež ktorý ktorá ktoré alebo pre bol bolo byť keď podľa "
              "medzi len ich preto pretože aj iba ešte veľmi môže tejto ak",
        "hr": "i u su kao koji koja koje što će ili biti bio bila od iz sa smo nije samo s je "
              "se da",
        "sl": "in v so kot ki ga tudi bo pa še lahko biti bil bila iz smo ni samo jih jim je "
              "se da",
        "bg": "на е и да се за от не с са по като че това които която който",
        "mk": "на е и да се за од не со се по како што ова кои која кој",
        "ru": "и в не на что с как это по он но из у все она так его за только от",
        "uk": "і в не на що з як це по він але із у все вона так його за тільки від",
        "da": "af ikke jeg hvad nu efter mig dig sig bliver vores meget sådan og er det",
        "no": "av ikke jeg hva nå etter meg deg seg blir vår mye slik og er det",
        "sv": "av inte jag vad nu efter mig dig sig blir vår mycket sådan och är att det",
        "af": "nie die is het ek jy sy ons word 'n vir met my se hulle",
        "nl": "de het een niet van zijn ik je wordt met voor mij ze zij",
    }.items()
}
# Words appear in both lists of a pair on purpose only where listed for both groups
# (e.g. "на" for bg/mk): those cancel out; the distinctive ones decide.

#: Groups of languages langdetect confuses; letters/words above decide inside a group.
_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"ca", "es", "pt"}),
    frozenset({"cs", "sk", "sl", "hr", "pl"}),
    frozenset({"ru", "uk", "bg", "mk"}),
    frozenset({"da", "no", "sv"}),
    frozenset({"af", "nl"}),
)
_GROUP_OF: dict[str, frozenset[str]] = {lang: g for g in _GROUPS for lang in g}

_WORD_RE = re.compile(r"[^\W\d_]+(?:'n)?")


@lru_cache(maxsize=None)
def _letter_logs(lang: str, markers: frozenset[str]) -> tuple[tuple[str, float, float], ...]:
    """(letter, log rate, log(1 - rate)) of each marker letter for ``lang``."""
    rates = _LETTER_RATES.get(lang, {})
    out = []
    for ch in sorted(markers):
        rate = max(rates.get(ch, 0.0), _RATE_FLOOR)
        out.append((ch, math.log(rate), math.log1p(-rate)))
    return tuple(out)


def _letter_loglik(lang: str, chars: Counter[str], letters: int, markers: frozenset[str]) -> float:
    """log P(counts of the group's marker letters | lang), binomial per marker letter."""
    total = 0.0
    for ch, log_rate, log_not in _letter_logs(lang, markers):
        k = chars.get(ch, 0)
        total += k * log_rate + (letters - k) * log_not
    return total


@lru_cache(maxsize=None)
def _group_markers(group: frozenset[str]) -> frozenset[str]:
    return frozenset(ch for lang in group for ch in _LETTER_RATES.get(lang, {}))


@lru_cache(maxsize=None)
def _group_vocab(group: frozenset[str]) -> dict[str, frozenset[str]]:
    """Each member's words minus those another member lists too (shared words prove nothing)."""
    vocab = {}
    for lang in group:
        others = frozenset().union(*(_WORDS.get(o, frozenset()) for o in group if o != lang))
        vocab[lang] = _WORDS.get(lang, frozenset()) - others
    return vocab


#: Languages langdetect lacks but the word model knows, with the script they are recognised
#: in and the langdetect languages their texts come out as (a candidate's model probability
#: is the largest of those: langdetect cannot tell them apart, the words and letters do).
_WORD_EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ms": ("Latin", ("id",)),
    "sr": ("Cyrillic", ("mk", "bg", "ru", "uk")),
    "is": ("Latin", ("no", "da", "sv")),
}
_EXTRAS_FOR: dict[str, frozenset[str]] = {}
for _extra, (_script, _proxies) in _WORD_EXTRAS.items():
    for _proxy in _proxies:
        _EXTRAS_FOR[_proxy] = _EXTRAS_FOR.get(_proxy, frozenset()) | {_extra}


def _candidates(top: str) -> frozenset[str]:
    """top, its confusable group and the extra languages its texts may really be in."""
    return _GROUP_OF.get(top, frozenset({top})) | _EXTRAS_FOR.get(top, frozenset())


def _model_prob(lang: str, probs: dict[str, float]) -> float:
    if lang in _WORD_EXTRAS:
        return max(probs.get(p, 0.0) for p in _WORD_EXTRAS[lang][1])
    return probs.get(lang, 0.0)


def _word_scores(group: frozenset[str], toks: list[str]) -> dict[str, float]:
    """Each member's word-model evidence (its mean token log-likelihood, scaled by the
    number of tokens up to :data:`LM_CAP`), or {} when some member has no word model."""
    if LM_WEIGHT <= 0.0 or not toks or not all(wordlm.available(lang) for lang in group):
        return {}
    scale = LM_WEIGHT * min(len(toks), LM_CAP)
    return {lang: scale * mean for lang, (mean, _) in wordlm.score(toks, group).items()}


def _unexplained(lang: str, toks: list[str]) -> bool:
    """Whether ``lang``'s word list knows too few of the text's words (of 3+ letters) for the
    text to be in ``lang``. False when there is no word model or too few words to tell."""
    toks = [t for t in toks if len(t) >= 3]
    if len(toks) < MIN_KNOWN_TOKENS:
        return False
    share = wordlm.known_share(toks, lang)
    return share is not None and share < MIN_KNOWN_SHARE


@lru_cache(maxsize=None)
def _function_words(lang: str) -> frozenset[str]:
    """``lang``'s stopwords-iso list when it is long enough to judge by, else empty."""
    try:
        import stopwordsiso
    except ImportError:  # pragma: no cover - a declared dependency; without it the check is off
        return frozenset()
    words = stopwordsiso.stopwords(lang) if stopwordsiso.has_lang(lang) else set()
    return frozenset(w.casefold() for w in words) if len(words) >= MIN_STOP_LIST else frozenset()


def _lacks_function_words(lang: str, toks: list[str]) -> bool:
    """Whether a text can hardly be in ``lang``, a language without a word model: too few of its
    words are ``lang``'s function words. False when there is no list or too few words to tell."""
    if len(toks) < MIN_STOP_TOKENS or wordlm.available(lang):
        return False
    stop = _function_words(lang)
    if not stop:
        return False
    return sum(1 for t in toks if t in stop) < MIN_STOP_SHARE * len(toks)


def _refine(
    top: str,
    probs: dict[str, float],
    chars: Counter[str],
    letters: int,
    words: Counter[str],
    hint: str | None,
    toks: list[str] | None = None,
) -> tuple[str, float]:
    """The language of top's confusable group that best explains the model's probabilities,
    the distinctive letters, the function words and the word model, with its probability."""
    group = _candidates(top)
    if len(group) == 1:
        return top, probs[top]
    markers = _group_markers(group)
    vocab = _group_vocab(group)
    seen = words.keys()
    scores: dict[str, float] = {}
    for lang in sorted(group):
        score = MODEL_WEIGHT * math.log(max(_model_prob(lang, probs), PROB_FLOOR))
        score += _letter_loglik(lang, chars, letters, markers)
        score += WORD_WEIGHT * sum(words[w] for w in vocab[lang] & seen)
        if lang in _WORD_EXTRAS:
            score -= EXTRA_PENALTY  # a prior: the languages langdetect knows are the usual
        if lang == hint:
            score += HINT_PRIOR  # the feed's word settles a close call inside the group
        scores[lang] = score
    # The word model, for the members still in the running (the letters of a long text
    # usually rule most out; scoring those would only cost time).
    lead = max(scores.values())
    alive = frozenset(lang for lang, v in scores.items() if v >= lead - LM_PRUNE)
    if len(alive) > 1:
        lm = _word_scores(alive, toks or [])
        if lm:
            scores = {lang: scores[lang] + lm[lang] for lang in alive}
    best = max(scores, key=lambda lang: (scores[lang], lang))
    # confidence: the model's mass on the group, shared out by the combined scores
    norm = sum(math.exp(v - scores[best]) for v in scores.values())
    mass = sum(probs.get(lang, 0.0) for lang in group)
    return best, mass / norm


#: Per script, letters (lower case) that only a language langdetect lacks uses.
_EXTRA_LETTERS: dict[str, tuple[tuple[str, str], ...]] = {
    "Latin": (("ə", "az"), ("ĉĝĥĵŝŭ", "eo"), ("ðþ", "is")),
    "Cyrillic": (("ў", "be"), ("әғқңұһ", "kk"), ("ђћ", "sr"), ("өү", "mn")),
}

_NYNORSK = frozenset(
    "ikkje eg ein eit korleis kva frå berre noko vere dei me mykje heile fekk òg "
    "kvar ho hjå sjølv mellom no".split()
)
_BOKMAL = frozenset(
    "ikke jeg en et hvordan hva fra bare noe være de vi mye hele fikk også hver hun "
    "hos selv nå".split()
)


def _extra_language(script: str, chars: Counter[str], letters: int) -> str | None:
    """A language langdetect lacks, when its own letters are frequent enough in the text."""
    for group, lang in _EXTRA_LETTERS.get(script, ()):
        hits = sum(chars.get(ch, 0) for ch in group)
        # one stray letter in a long text is a name, not the language
        if hits and hits * 150 >= letters:
            return lang
    return None


def _norwegian(words: Counter[str]) -> str:
    """langdetect's "no" as Bokmål (the usual written form) or Nynorsk."""
    nn = sum(n for w, n in words.items() if w in _NYNORSK)
    nb = sum(n for w, n in words.items() if w in _BOKMAL)
    return "nn" if nn > nb else "nb"


# --------------------------------------------------------------------------------------------
# The engine


class _Engine:
    """A private, seeded langdetect factory (no global langdetect state is touched)."""

    def __init__(self) -> None:
        try:
            import langdetect_rs as ld  # same API and results, much faster
        except ImportError:  # pragma: no cover - exercised where langdetect_rs is absent
            import langdetect as ld  # type: ignore[no-redef]
        self.name: str = ld.__name__
        self._exception: type[Exception] = ld.LangDetectException
        factory = ld.DetectorFactory()
        factory.load_profile(ld.PROFILES_DIRECTORY)
        factory.seed = 0  # instance attribute: Detector copies factory.seed
        self._factory = factory
        self.langs: tuple[str, ...] = tuple(factory.get_lang_list())

    def probabilities(self, text: str) -> dict[str, float]:
        """Every language's probability (langdetect codes), {} when the text has no features."""
        detector = self._factory.create()
        detector.append(text)
        try:
            detector.get_probabilities()
        except self._exception:
            return {}
        return dict(zip(self.langs, detector.langprob))


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def engine() -> _Engine:
    """The lazily built engine (profiles load on first use, not at import)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = _Engine()
    return _engine


def engine_name() -> str:
    """``"langdetect_rs"`` or ``"langdetect"``: which engine is in use."""
    return engine().name


# --------------------------------------------------------------------------------------------
# Decision


@dataclass(frozen=True, slots=True)
class Decision:
    """A language decision and why: ``script``, ``model``, ``extra``, ``hint``, ``weak``."""

    lang: str
    prob: float
    reason: str


_ALIASES = {"zh-cn": "zh", "zh-tw": "zh", "no": "nb", "iw": "he", "in": "id", "ji": "yi"}


def normalize_code(code: str | None) -> str | None:
    """A hint like "en-US", "ZH_Hans", "iw" as a base ISO 639-1 code, or None if unusable."""
    if not code or not isinstance(code, str):
        return None
    low = code.strip().lower().replace("_", "-")
    if low in _ALIASES:
        return _ALIASES[low]
    base = low.split("-", 1)[0]
    base = _ALIASES.get(base, base)
    return base if len(base) == 2 and base.isalpha() and base.isascii() else None


def _hint_fallback(hint: str | None, script: str | None) -> Decision:
    """No usable evidence: trust the feed if its language can be written this way."""
    if hint is not None and (script is None or _hint_fits_script(hint, script)):
        return Decision(hint, 0.0, "hint")
    return Decision(UND, 0.0, "weak")


def _hint_fits_script(hint: str, script: str) -> bool:
    if script in _SCRIPT_LANG:
        default, others = _SCRIPT_LANG[script]
        return hint == default or hint in others
    if script in _MODEL_SCRIPT_LANGS:
        # languages the model lacks are accepted too: the feed may know better than us
        return hint in _MODEL_SCRIPT_LANGS[script] or _CODE_SCRIPT.get(hint, script) == script
    return False


#: Scripts of languages the hint may name but the model lacks (to reject mismatched hints).
_CODE_SCRIPT: dict[str, str] = {
    **{c: "Latin" for c in "az bs eo eu ga is la lg mi ms nb nn sn st tn ts xh yo zu gl "
                          "mt lb br oc ha ig uz".split()},
    **{c: "Cyrillic" for c in "be kk mn sr ky tg tt ba".split()},
    **{c: "Arabic" for c in "ps ku sd ug".split()},
    **{c: "Devanagari" for c in "sa".split()},
    **{lang: s for s, (lang, _) in _SCRIPT_LANG.items()},
    "zh": "Han", "ja": "Kana", "ko": "Hangul",
    **{c: "Latin" for c in _MODEL_SCRIPT_LANGS["Latin"]},
    **{c: "Cyrillic" for c in _MODEL_SCRIPT_LANGS["Cyrillic"]},
    **{c: "Arabic" for c in _MODEL_SCRIPT_LANGS["Arabic"]},
    **{c: "Devanagari" for c in _MODEL_SCRIPT_LANGS["Devanagari"]},
}


def analyse(text: str, hint: str | None = None) -> Decision:
    """The language of ``text`` with its probability and the reason. Never raises."""
    try:
        return _analyse(text if isinstance(text, str) else str(text or ""), normalize_code(hint))
    except Exception:  # noqa: BLE001 - a language guess must never stop the pipeline
        return Decision(UND, 0.0, "error")


def _analyse(text: str, hint: str | None) -> Decision:
    chars = Counter(text.lower())
    scripts = _script_counts(chars)
    script = _dominant_script(scripts)
    if script is None:
        return _hint_fallback(hint, None)

    if script in _SCRIPT_LANG:
        default, others = _SCRIPT_LANG[script]
        if hint in others:
            return Decision(hint, 1.0, "script+hint")
        if script == "Bengali" and (chars.get("ৰ", 0) + chars.get("ৱ", 0)):
            return Decision("as", 1.0, "script")  # letters Bengali does not use
        return Decision(default, 1.0, "script")

    candidates = _MODEL_SCRIPT_LANGS.get(script)
    letters = scripts[script]
    if candidates is None or letters < MIN_LETTERS:
        return _hint_fallback(hint, script)

    extra = _extra_language(script, chars, letters)
    # the letters say so, unless the language's own word list knows hardly any of the words
    # (Icelandic ð/þ are also what Turkish ğ/ş become when cp1254 text is read as Latin-1)
    if extra is not None and not _unexplained(extra, wordlm.tokens(text, LM_TOKENS)):
        return Decision(extra, 1.0, "extra")

    if len(scripts) > 1:
        if script == "Cyrillic" and scripts["Latin"]:
            text = _fix_homoglyphs(text)
            chars = Counter(text.lower())
        text = _only_script(text, script, chars)
    raw = engine().probabilities(text)
    probs = {lang: p for lang, p in raw.items() if lang in candidates}
    if not probs:
        return _hint_fallback(hint, script)
    total = sum(probs.values())
    if total <= 0.0:
        return _hint_fallback(hint, script)
    probs = {lang: p / total for lang, p in probs.items()}
    top = max(probs, key=lambda lang: (probs[lang], lang))

    words: Counter[str] = Counter()
    if top in _GROUP_OF or top == "no":
        words = Counter(_WORD_RE.findall(text.lower()))
    model_hint = {"nb": "no", "nn": "no", "zh": "zh-cn"}.get(hint or "", hint)
    # word tokens for the word model (the first LM_TOKENS: enough to judge, cheap to score)
    toks = wordlm.tokens(text, LM_TOKENS) if script in _WORD_SCRIPTS else []
    lang, prob = _refine(top, probs, chars, letters, words, model_hint, toks)
    code = _norwegian(words) if lang == "no" else _ALIASES.get(lang, lang)

    # The hint: a prior that decides near-ties, never a clear answer.
    hint_prob = 0.0
    if hint is not None and hint != code:
        hint_prob = probs.get(model_hint or "", 0.0)
        if hint == "zh":
            hint_prob = probs.get("zh-cn", 0.0) + probs.get("zh-tw", 0.0)
        if hint_prob > 0.0 and hint_prob >= HINT_RATIO * prob:
            return Decision(hint, hint_prob, "hint")

    if toks and (_unexplained(code, toks) or _lacks_function_words(code, toks)):
        # the words are not the language's: most likely a language we have no model of
        if hint is not None and hint != code:
            return _hint_fallback(hint, script)
        return Decision(UND, prob, "unknown-words")

    need = MIN_PROB_SHORT if letters < SHORT_LETTERS else MIN_PROB
    if prob < need:
        # weak evidence: the hint, unless the model rules it out (a language it knows and
        # gives almost nothing to)
        if hint is not None and (model_hint not in probs or hint_prob >= HINT_MIN_PROB):
            return _hint_fallback(hint, script)
        return Decision(UND, prob, "weak")
    return Decision(code, prob, "model")


def detect_text(text: str, hint: str | None = None) -> str:
    """ISO 639-1 code of ``text`` (any length), or ``"und"``. Deterministic; never raises."""
    return analyse(text, hint).lang


def compose(headline: str, body: str) -> str:
    """The text language detection looks at: the headline and the start of the body."""
    headline = headline if isinstance(headline, str) else ""
    body = body if isinstance(body, str) else ""
    headline = headline[:MAX_CHARS]
    return f"{headline}\n{body[: max(MAX_CHARS - len(headline), MAX_CHARS // 2)]}"


def detect_language(headline: str, body: str, hint: str | None = None) -> str:
    """ISO 639-1 code of a story (headline + start of body), or ``"und"`` when unsure.

    ``hint`` is the feed's declared language: it settles near-ties and texts without usable
    letters, but a clear decision from the text wins over it.
    """
    return detect_text(compose(headline, body), hint)


def explain(text: str, hint: str | None = None) -> dict[str, Any]:
    """The decision as a dict (for logs and the evaluation)."""
    d = analyse(text, hint)
    return {"lang": d.lang, "prob": d.prob, "reason": d.reason}
