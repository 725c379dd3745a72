"""Text normalization: Unicode forms, paragraphs, sentences, and page-debris removal.

Runs before language detection, so everything here is language-agnostic: the debris rules are
structural (short label lines without sentence punctuation, comma-separated title-case lists,
name-list captions carrying a photo credit, lone agency tags, byline/timestamp lines) plus a
few families of boilerplate phrases that scraped feeds carry ("Read more", "Share this",
"With information from ...", "Photo: ...", "Check out our other content" ...).

``clean_story`` is the entry point; it costs a few tens of microseconds per 3 KB story
(blingfire does the sentence split).
"""

from __future__ import annotations

import ctypes
import re
import threading
import unicodedata

import blingfire

from .models import CleanText

__all__ = ["clean_story", "is_debris_line", "normalize_text"]

# --- character-level normalization -------------------------------------------------------------

_CHAR_MAP = str.maketrans({
    # double quotes and guillemets
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2033": '"', "\u301d": '"', "\u301e": '"', "\uff02": '"', "\u2039": '"', "\u203a": '"',
    # single quotes / apostrophes
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'",
    "\uff07": "'", "`": "'", "\u00b4": "'",
    # dashes and minus
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u2e3a": "-", "\u2e3b": "-", "\ufe58": "-", "\ufe63": "-", "\uff0d": "-",
    # spaces
    "\u00a0": " ", "\u2000": " ", "\u2001": " ", "\u2002": " ", "\u2003": " ", "\u2004": " ",
    "\u2005": " ", "\u2006": " ", "\u2007": " ", "\u2008": " ", "\u2009": " ", "\u200a": " ",
    "\u202f": " ", "\u205f": " ", "\u3000": " ", "\t": " ", "\v": " ", "\f": "\n",
    # line separators
    "\r": "\n", "\u2028": "\n", "\u2029": "\n\n", "\x85": "\n",
    # invisible characters
    "\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None, "\ufeff": None, "\u00ad": None,
    # ellipsis
    "\u2026": "...",
})

_TERMINAL = frozenset('.!?"\'\u3002\uff01\uff1f\u0964\u061f\u06d4\u1362)]\u300d\u300f:;')


_SPECIAL = re.compile("[" + "".join(re.escape(chr(c)) for c in _CHAR_MAP) + "]")
_PARA_MARK = "\u2029"  # joins paragraphs for one segmenter call (normalize_text removes it from input)


def _replace(m: re.Match[str]) -> str:
    return _CHAR_MAP.get(ord(m.group(0))) or ""


def normalize_text(text: str) -> str:
    """NFC, unified quotes/dashes/spaces, CRLF -> LF. Line structure is kept."""
    if not text:
        return ""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return _SPECIAL.sub(_replace, text)


def _collapse(line: str) -> str:
    return " ".join(line.split())


# --- debris patterns ---------------------------------------------------------------------------

# Boilerplate phrase families, matched at the start of a line or sentence (case-insensitive).
_BOILERPLATE = re.compile(
    r"""^[\W_]{0,3}(?:
        no\ menu\ items | skip\ to\ (?:main\ )?content | back\ to\ top | toggle\ navigation
      | check\ out\ (?:our|more|the\ latest|other|all) | don'?t\ miss | you\ (?:may|might)\ also\ (?:like|be)
      | read\ (?:more|also|next|the\ full|full) | also\ read | see\ also | more\ (?:on\ this|stories|news)\b
      | related\s*(?::|articles?|stories|news|content|coverage|topics|posts)
      | recommended\ (?:for\ you|stories|articles|reading)
      | most\ (?:read|popular|viewed|shared) | trending\ (?:now|news|stories)
      | share\ (?:this|on|via|the\ story|article|story) | share\s*: | tweet\ this | print\ this | email\ this
      | subscribe\b | sign\ up\ (?:for|to|now|here|today) | follow\ us | join\ (?:us|our)\ on
      | click\ here | tap\ here | download\ (?:our|the)\ app | get\ the\ app
      | advertisement\b | sponsored\ content | (?:paid\ )?partner\ content
      | all\ rights\ reserved | copyright\b | \(c\)\ \d{4} | \u00a9
      | (?:photo|image|picture|foto|video|graphic)s?\s*(?::|/|by\b|credit|courtesy|source)
      | (?:photo|image|picture)\ (?:internet\ )?reproduction
      | file\ (?:photo|image|picture)
      | credits?\s*: | sources?\s*: | via\s*: | tags?\s*: | topics?\s*: | categor(?:y|ies)\s*: | filed\ under
      | keywords?\s*:
      | with\ (?:information|reporting|inputs?|files|agencies|material)\ (?:from|by)
      | with\ (?:afp|ap|reuters|agencies|wires)\b
      | (?:additional\ )?reporting\ by | writing\ by | edit(?:ed|ing)\ by | compiled\ by | translated\ by
      | produced\ by | fact[- ]checked\ by
      | (?:published|updated|posted|last\ updated|modified|created)(?:\ on|\ at)?\s*[:\d]
      | (?:published|updated|posted)\ \d+\ \w+\ ago
      | comments?\s*(?:\(\d+\)|:|$) | leave\ a\ (?:comment|reply)
      | listen\ to\ (?:this|the)\ (?:article|story) | \d+\ min(?:ute)?s?\ read
    )""",
    re.IGNORECASE | re.VERBOSE,
)

# A parenthesised or trailing credit inside an otherwise real line.
_INLINE_CREDIT = re.compile(
    r"\s*\([^()]{0,80}\b(?:photo|image|picture|foto|credit|reproduction|getty)s?\b[^()]{0,80}\)"
    r"|\s+(?:photo|image|picture|foto|credit)s?\s*(?::|/)\s*[^.!?]{1,60}$",
    re.IGNORECASE,
)

_CREDIT_WORDS = ("photo", "image", "picture", "foto", "credit", "reproduction", "getty")
# one C-level scan of the lowercased line for any of them (the same test as ``word in low`` for
# each: literal alternatives, no flags)
_CREDIT_HINT = re.compile("|".join(_CREDIT_WORDS))


def _maybe_credit(line: str) -> bool:
    return _CREDIT_HINT.search(line.lower()) is not None

_AGENCIES = (
    r"afp|ap|reuters|xinhua|dpa|ani|ians|pti|upi|efe|ansa|tass|bernama|kyodo|yonhap|sputnik|"
    r"ria\ novosti|interfax|anadolu|aa|lusa|apa|cna|kuna|wam|spa|irna|mena|bss|ap\ photo|"
    r"bloomberg|nhk|belga|ktk|ctk|pap|mti|hina|tanjug|agerpres|bta|ap/reuters|afp/reuters|"
    r"agencies|wires|xinhua\ net"
)
# A lone agency tag ("AFP", "- AFP", "(Reuters)", "AFP/Reuters") forming a whole line or sentence.
_LONE_AGENCY = re.compile(rf"^[\W_]*(?:{_AGENCIES})(?:\s*[/,&]\s*(?:{_AGENCIES}))*[\W_]*$", re.IGNORECASE | re.VERBOSE)
# A trailing agency tag glued after a sentence end ("... to visit Beijing. AFP").
_TRAILING_AGENCY = re.compile(rf"(?<=[.!?\"'])\s+[-(]*\s*(?:{_AGENCIES})\s*\)?\s*$", re.IGNORECASE | re.VERBOSE)

# Dateline at the start of a paragraph: "BEIJING:", "BEIJING, May 24 (Xinhua) --", "Kyiv (AP) -".
_DATELINE = re.compile(
    r"^(?P<place>[^\W\d_][^\W\d_'.]*(?:[ .'/-]{1,2}[^\W\d_]+){0,3})"
    r"(?:\s*,\s*(?:[^\W\d_]+\.?\s+\d{1,2}|\d{1,2}\s+[^\W\d_]+\.?)(?:\s*,?\s*\d{4})?)?"
    r"(?P<agency>\s*\([^()]{1,30}\))?"
    r"\s*(?::|-{1,2})\s+(?=\S)"
)

_BYLINE = re.compile(r"^(?:by|von|par|por|di|door|av|od|\u043e\u0442)\s*:?\s+\S", re.IGNORECASE)
_LIST_SPLIT = re.compile(r"\s*(?:[,|\u2022\u00b7;/>\u00bb]|\s-\s)\s*")
_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
_HAS_ALNUM = re.compile(r"[^\W_]")
_CASELESS = re.compile(r"[\u0590-\u08ff\u0900-\u0dff\u0e00-\u0eff\u1000-\u109f\u1100-\u11ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def _title_ratio(words: list[str]) -> float:
    cased = [w for w in words if w[0].isupper() or w[0].islower()]
    if not cased:
        return 0.0
    return sum(1 for w in cased if w[0].isupper()) / len(cased)


_DEBRIS_SENTENCE_CHARS = 200  # furniture that starts like boilerplate is at most this long


def is_debris_line(line: str) -> bool:
    """True when a whole line (paragraph) is page furniture rather than story text."""
    if not _HAS_ALNUM.search(line):
        return True
    if _LONE_AGENCY.match(line):
        return True
    if _BOILERPLATE.match(line):
        # A short line is furniture; a long one is an article that only starts with it ("Advertisement
        # calgary-nose hill mp michelle rempel delivered...", a whole lower-cased story as one paragraph):
        # its sentences are judged one by one instead (``_is_debris_sentence``), so the story is kept.
        return len(line) <= _DEBRIS_SENTENCE_CHARS
    if line[-1] in ".!?":
        return False
    words = _WORD.findall(line)
    n = len(words)
    if _BYLINE.match(line) and n <= 10:
        return True
    if line[-1] in _TERMINAL:
        return False
    if _CASELESS.search(line):
        return len(line) <= 16
    if n <= 4:
        return True  # labels, menu entries, short headings, "Check out our other content"
    items = [i for i in _LIST_SPLIT.split(line) if i]
    if len(items) >= 3 and all(len(_WORD.findall(i)) <= 5 for i in items):
        return True  # tag / category / breadcrumb list
    # headings and captions: no sentence punctuation, mostly title-case words
    return n <= 20 and _title_ratio(words) >= 0.6


def _is_name_list(line: str) -> bool:
    """A caption body that only names people or places ("X and Y"), once its credit is gone."""
    words = _WORD.findall(line)
    return len(words) <= 20 and _title_ratio(words) >= 0.6


def _is_debris_sentence(sentence: str) -> bool:
    if not _HAS_ALNUM.search(sentence):
        return True
    if _LONE_AGENCY.match(sentence):
        return True
    return len(sentence) <= _DEBRIS_SENTENCE_CHARS and bool(_BOILERPLATE.match(sentence))


def _paragraphs(body: str) -> list[str]:
    """Blank lines and newlines separate paragraphs; a hard-wrapped line continues lowercase."""
    out: list[str] = []
    for block in body.split("\n\n"):
        if "\n" not in block:  # one line: nothing to join
            line = _collapse(block)
            if line:
                out.append(line)
            continue
        current = ""
        for raw in block.split("\n"):
            line = _collapse(raw)
            if not line:
                continue
            if current and current[-1] not in _TERMINAL and (line[0].islower() or line[0].isdigit()):
                current = f"{current} {line}"
            else:
                if current:
                    out.append(current)
                current = line
        if current:
            out.append(current)
    return out


_LEAD_LETTERS = re.compile(r"[^\W\d_]+")


def _strip_dateline(paragraph: str, debris: list[str]) -> str:
    # A dateline is only stripped when its place is all capitals or an agency tag "(...)" follows
    # it. The place starts with the paragraph's first run of letters: when that run has a lower-
    # or title-case letter ("The", "Kyiv") and there is no "(", skip the (costly) regex.
    if "(" not in paragraph:
        lead = _LEAD_LETTERS.match(paragraph)
        if lead is None or not (lead.group() + "A").isupper():
            return paragraph
    m = _DATELINE.match(paragraph)
    if m is None:
        return paragraph
    place = m.group("place")
    letters = [c for c in place if c.isalpha()]
    if (len(letters) >= 2 and place.isupper()) or (m.group("agency") and len(place.split()) <= 3 and place[0].isupper()):
        debris.append(m.group(0).strip())
        return paragraph[m.end():]
    return paragraph


# blingfire's own ``text_to_sentences`` allocates (and zero-fills) a fresh ctypes buffer and
# converts its arguments on every call; calling the library function with declared argument
# types and a reused per-thread buffer does the same work with less Python overhead. The C call
# itself (~30 ns per byte) is most of what sentence splitting costs.
_TEXT_TO_SENTENCES = blingfire.blingfire["TextToSentences"]  # a function object of our own
_TEXT_TO_SENTENCES.restype = ctypes.c_int
_TEXT_TO_SENTENCES.argtypes = (ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
_BUFFERS = threading.local()


def _text_to_sentences(text: str) -> str:
    """``blingfire.text_to_sentences(text)``: sentences one per line."""
    data = text.encode("utf-8")
    size = 2 * len(data)  # the output limit blingfire's wrapper passes
    buf = getattr(_BUFFERS, "buf", None)
    if buf is None or len(buf) < size:
        buf = _BUFFERS.buf = ctypes.create_string_buffer(max(size, 16384))
    n = _TEXT_TO_SENTENCES(data, len(data), buf, size)
    if n == -1 or n > size:
        return ""
    out = ctypes.string_at(buf, n)
    end = out.find(b"\0")  # the wrapper reads up to the NUL terminator
    return (out if end < 0 else out[:end]).decode("utf-8")


def _split_sentences(paragraphs: list[str]) -> list[list[str]]:
    """Sentences of each paragraph, with one segmenter call for the whole story.

    A sentence split inside an open quotation is joined back.
    """
    out: list[list[str]] = [[]]
    open_quote = False
    for line in _text_to_sentences(f" {_PARA_MARK} ".join(paragraphs)).split("\n"):
        pieces = line.split(_PARA_MARK)
        for n, piece in enumerate(pieces):
            if n:
                out.append([])
                open_quote = False
            part = piece.strip()
            if not part:
                continue
            current = out[-1]
            if current and open_quote and len(current[-1]) < 600:
                current[-1] = f"{current[-1]} {part}"
            else:
                current.append(part)
            open_quote = current[-1].count('"') % 2 == 1
    return out


def clean_story(headline: str, body_text: str) -> CleanText:
    """Normalize a story and split it into paragraphs and sentences, dropping page debris."""
    head = _collapse(normalize_text(headline))
    debris: list[str] = []
    paragraphs: list[str] = []
    sentences: list[str] = []
    kept_paragraphs: list[str] = []
    for para in _paragraphs(normalize_text(body_text)):
        stripped = _INLINE_CREDIT.sub("", para).strip() if _maybe_credit(para) else para
        if not stripped or is_debris_line(stripped) or (stripped != para and _is_name_list(stripped)):
            debris.append(para)
            continue
        if stripped != para:
            debris.append(para[len(stripped):].strip() if para.startswith(stripped) else para)
        para = _strip_dateline(stripped, debris)
        tail = _TRAILING_AGENCY.search(para, max(0, len(para) - 48))
        if tail is not None:
            debris.append(tail.group(0).strip())
            para = para[: tail.start()]
        if para.strip():
            kept_paragraphs.append(para)
    if not kept_paragraphs:
        return CleanText(headline=head, paragraphs=(), sentences=(), debris=tuple(debris))
    for split in _split_sentences(kept_paragraphs):
        kept = []
        for sentence in split:
            if _is_debris_sentence(sentence):
                debris.append(sentence)
            else:
                kept.append(sentence)
        if kept:
            paragraphs.append(" ".join(kept))
            sentences.extend(kept)
    return CleanText(headline=head, paragraphs=tuple(paragraphs), sentences=tuple(sentences), debris=tuple(debris))
