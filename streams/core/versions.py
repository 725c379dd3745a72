"""What a new version of a story changes, sentence by sentence, against the version it replaces.

Words are compared, not sentences: a word of the new version is **kept** when some run of
``WINDOW`` consecutive words around it (inside its sentence) occurs in the old version (across its
sentence breaks too); in those runs any figure stands for any other, except for the figure itself.
So sentences that are reordered, split, joined, restyled (quote marks, capitals, punctuation) or
deleted leave no word uncovered, while a word that changed — a figure at its place in the sentence
("aged 14 and 15" -> "aged 15 and 15"), a name — is uncovered exactly where it changed, and its
neighbours stay kept. Each new sentence then gets one edit:

* ``kept`` — no uncovered content word (stop words and punctuation of a join do not count);
* ``added`` — no covered content word: a sentence the old version did not have;
* ``clause`` — one run of at least ``MIN_CLAUSE_WORDS`` uncovered words (fewer after a clause
  break: "...; too moderate?") in a sentence whose other words, at least ``MIN_CLAUSE_WORDS`` content
  words of them, are kept: a clause glued onto (or into) a known sentence; ``text`` is the clause,
  ``context`` the sentence;
* ``changed`` — a few words changed in place: ``changed`` holds the character spans that changed.
  Figures are also compared **by position** with the old sentences the new one comes from (those
  sharing at least half of either's words): a figure whose value at its place changed is changed
  even when every word around it occurs somewhere in the old text ("from $666 billion ... to $779
  billion" -> "... to $666 billion").

Old sentences left with no word in the new version are ``removed`` (counted, never alerting).
Pure and deterministic; one pass over each version's words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

__all__ = ["Edit", "EditScript", "MIN_CLAUSE_WORDS", "WINDOW", "diff"]

WINDOW = 3  # words: long enough that a kept word is kept in its context, short enough for a one-word edit
MIN_CLAUSE_WORDS = 3  # content words an uncovered run needs to stand as a clause of its own
_GAP = WINDOW  # covered words inside one uncovered run (a stray common phrase) that do not split it
_CLAUSE_SHARE = 0.5  # ... nor does a longer covered phrase, when this share of the stretch is uncovered
_BREAKS = frozenset(",;:-\u2013\u2014")  # what parts a clause from its host sentence
_QUOTES = " \"'\u201c\u201d\u2018\u2019([)]"  # may stand between a clause and that break

# words for comparison: numbers whole ("1.2", "4,000"), letter runs; quote style, apostrophes and
# dashes never matter
WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+")
_REGION_SHARE = 0.5  # an old sentence is a source of a new one when this share of either's words is in the other


@dataclass(frozen=True, slots=True)
class Edit:
    kind: str  # kept | added | clause | changed
    sentence: str  # the new version's sentence
    text: str  # what is new: the sentence (added, changed), the clause (clause), "" (kept)
    changed: tuple[tuple[int, int], ...] = ()  # character spans (in ``sentence``) of the uncovered words


@dataclass(frozen=True, slots=True)
class EditScript:
    edits: tuple[Edit, ...]
    removed: int  # old sentences with no word left in the new version

    @property
    def new(self) -> tuple[Edit, ...]:
        """The edits that bring something: added sentences, clauses and changed words."""
        return tuple(e for e in self.edits if e.kind != "kept")


# A sentence's words (the matches, and their lowercased text), found once per ``diff`` call: each
# sentence's words are read by several steps (grams, cover, figures by position, removed).
_Split = tuple[list[re.Match[str]], list[str]]


def _split(sentence: str) -> _Split:
    matches = list(WORD.finditer(sentence))
    return matches, [m.group(0).lower() for m in matches]


def _lowered(sentence: str) -> list[str]:
    """``_split(sentence)[1]`` (an old sentence's words: no positions needed)."""
    return [w.lower() for w in WORD.findall(sentence)]


def _windows(words: Sequence[str], n: int) -> zip:
    """``tuple(words[i:i + n])`` for every i where it is ``n`` long (``zip`` builds them in C)."""
    if n == 3:
        return zip(words, words[1:], words[2:])
    return zip(*[words[k:] for k in range(n)])


def _grams(words: Sequence[str]) -> set[tuple[str, ...]]:
    n = min(WINDOW, len(words))
    return set(_windows(words, n)) if n else {()}


Figures = Callable[[str], Sequence[tuple[int, int, str]]]


def diff(old: Sequence[str], new: Sequence[str], is_content: Callable[[str], bool],
         figures: Figures | None = None) -> EditScript:
    """The edit script turning sentences ``old`` into sentences ``new``.

    ``is_content(word)`` tells a content word (a figure or a term) from a stop word; only content
    words make an edit. ``figures(sentence)``: each figure's (start, end, comparable key), in
    order — for comparing figures by position (None: words only).
    """
    old_split = [_lowered(s) for s in old]
    new_split = [_split(s) for s in new]
    old_words = [w for lowered in old_split for w in lowered]
    old_grams = _all_grams(old_words)
    masked_words = [_mask(w) for w in old_words]
    masked_grams = _all_grams(masked_words) if masked_words != old_words else old_grams
    # old "sentences" that are a bare figure ("1.", "20."): list numbers, cut-off text; moved onto
    # the end or start of a sentence they change nothing (a figure's text has no case to lower)
    fragments = {w for ws in old_split if ws and all(x[0].isdigit() for x in ws) for w in ws}
    edits = [_edit(s, old_grams, masked_grams, is_content, fragments, split)
             for s, split in zip(new, new_split)]
    if figures is not None:
        old_sets = [set(lowered) for lowered in old_split]
        old_figures: dict[int, list[str]] = {}
        old_stream = f" {' '.join(old_words)} "
        for n, edit in enumerate(edits):
            if edit.kind in ("kept", "changed"):
                edits[n] = _figures_by_position(edit, old, old_sets, old_figures, figures, old_stream, fragments,
                                                new_split[n])
    new_grams: set[tuple[str, ...]] = set()
    for _, words in new_split:
        new_grams |= _grams(words)
    removed = 0
    for words in old_split:
        if words and new_grams.isdisjoint(_grams(words)):
            removed += 1
    return EditScript(tuple(edits), removed)


def _all_grams(words: Sequence[str]) -> set[tuple[str, ...]]:
    grams: set[tuple[str, ...]] = set()
    for n in range(1, WINDOW + 1):  # shorter grams for sentences shorter than the window
        grams.update(_windows(words, n))
    return grams


def _mask(word: str) -> str:
    return "#" if word[0].isdigit() else word


def _cover(words: Sequence[str], grams: set[tuple[str, ...]]) -> list[bool]:
    """Which words some run of ``WINDOW`` words around them (inside the sentence) in ``grams`` covers."""
    n = len(words)
    width = min(WINDOW, n)
    if not width:
        return []
    # word j is covered when one of the windows starting at j - width + 1 .. j is in grams
    hits = list(map(grams.__contains__, _windows(words, width)))
    if width > 1:
        pad = [False] * (width - 1)
        hits = pad + hits + pad
    covered = list(map(any, _windows(hits, width)))
    # at the sentence's edges a shorter run will do: "Nov. 3 presidential election" -> "Nov. 4
    # presidential election" leaves "presidential election" kept, only the figure changed
    for k in range(2, width):
        if tuple(words[:k]) in grams:
            covered[:k] = [True] * k
        if tuple(words[n - k:]) in grams:
            covered[n - k:] = [True] * k
    return covered


def _edit(sentence: str, old_grams: set[tuple[str, ...]], masked_grams: set[tuple[str, ...]],
          is_content: Callable[[str], bool], fragments: set[str] = frozenset(), split: _Split | None = None) -> Edit:
    matches, words = split if split is not None else _split(sentence)
    n = len(words)
    if n == 0:
        return Edit("kept", sentence, "")
    # a word is kept in its context, figures read as any figure — so a changed figure leaves its
    # neighbours kept ("Smith, 43, said" -> "Smith, 44, said": only "44" changed); a figure itself
    # is kept only with its own value
    covered = _cover(words, old_grams)
    masked = [_mask(w) for w in words] if not all(covered) else words
    if masked != words:  # (without a figure the masked cover is the exact one: "#" is no word)
        covered = [e or (m and not w[0].isdigit())
                   for e, m, w in zip(covered, _cover(masked, masked_grams), words)]
    for edge in {0, n - 1}:
        if words[edge] in fragments:
            covered[edge] = True
    if all(covered):  # nothing uncovered, content word or not
        return Edit("kept", sentence, "")
    content = [is_content(m.group(0)) for m in matches]
    uncovered = [i for i in range(n) if not covered[i] and content[i]]
    if not uncovered:
        return Edit("kept", sentence, "")
    spans = tuple((matches[i].start(), matches[i].end()) for i in range(n) if not covered[i] and content[i])
    if not any(covered[i] and content[i] for i in range(n)):
        return Edit("added", sentence, sentence, spans)
    # runs of uncovered words, a stray covered word or two inside a run not splitting it
    runs: list[list[int]] = []
    for i in uncovered:
        if runs and i - runs[-1][-1] <= _GAP + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    if len(runs) > 1:
        # several runs: one clause still, when most content words from the first to the last are
        # new (the covered ones are phrases the clause shares with the old text by chance)
        stretch = [i for i in range(runs[0][0], runs[-1][-1] + 1) if content[i]]
        if len(uncovered) >= _CLAUSE_SHARE * len(stretch):
            runs = [uncovered]
    if len(runs) == 1:
        first, last = runs[0][0], runs[0][-1]
        # a clause at the end of the sentence starts with its uncovered stop words ("and the ..."),
        # one at the start ends with its content words (the connector to the host is left out)
        trailing = all(not covered[j] for j in range(last + 1, n))
        leading = not trailing and all(not covered[j] for j in range(first))
        if trailing:
            last = n - 1
            while first > 0 and not covered[first - 1]:
                first -= 1
        elif leading:
            first = 0
        start = matches[first].start()
        end = len(sentence.rstrip()) if last == n - 1 else matches[last].end()  # keeps the final stop
        # fewer words make a clause only where a clause break parts them from the host: "...; too
        # moderate?" is a clause, "... ends Oct. 11." a changed figure
        glued = ((trailing and sentence[:start].rstrip(_QUOTES)[-1:] in _BREAKS)
                 or (leading and sentence[end:].lstrip(_QUOTES)[:1] in _BREAKS))
        host = sum(1 for i in range(n) if content[i] and covered[i] and not first <= i <= last)
        if host >= MIN_CLAUSE_WORDS and (len(runs[0]) >= MIN_CLAUSE_WORDS or (glued and last > first)):
            return Edit("clause", sentence, sentence[start:end].strip(" ,;:-\u2013\u2014"), spans)
    return Edit("changed", sentence, sentence, spans)


def _figures_by_position(edit: Edit, old: Sequence[str], old_sets: Sequence[set[str]],
                         old_figures: dict[int, list[str]], figures: Figures, old_stream: str,
                         fragments: set[str], split: _Split) -> Edit:
    """``edit`` with the figures whose value at their place changed added to its changed spans.

    The figure sequences are aligned with the old sentences the new one comes from. With one source
    sentence and as many figures, they are compared place by place; otherwise a figure out of step
    counts only where neither the two words before it nor the two after it ever stood next to that
    value in the old text — so sentences glued differently, whose figures come in another order,
    change nothing."""
    found = figures(edit.sentence)
    if not found:
        return edit
    matches, lowered = split  # of edit.sentence
    words = set(lowered)
    source: list[str] = []
    sources = 0
    for i, old_words in enumerate(old_sets):
        shared = len(old_words & words)
        if old_words and (shared >= _REGION_SHARE * len(old_words) or shared >= _REGION_SHARE * len(words)):
            if i not in old_figures:
                old_figures[i] = [key for _, _, key in figures(old[i])]
            source.extend(old_figures[i])
            sources += 1
    keys = [key for _, _, key in found]
    if keys == source:
        return edit
    changed = []
    if len(source) == len(keys):  # as many figures: compared place by place
        out_of_step = [j for j, (a, b) in enumerate(zip(source, keys)) if a != b]
    else:
        out_of_step = [j for tag, _, _, j1, j2 in SequenceMatcher(None, source, keys, autojunk=False).get_opcodes()
                       if tag in ("replace", "insert") for j in range(j1, j2)]
    for j in out_of_step:
        start, end, _ = found[j]
        inside = [i for i, m in enumerate(matches) if m.start() < end and start < m.end()]
        if not inside:
            continue
        first, last = inside[0], inside[-1]
        if (first == 0 or last == len(lowered) - 1) and lowered[first] in fragments:
            continue  # a bare figure of the old text, moved to this sentence's edge
        # the value with the two words before it, and with the two after it (where there are any)
        contexts = [lowered[max(0, first - 2):last + 1]] if first > 0 else []
        if last + 1 < len(lowered) or not contexts:
            contexts.append(lowered[first:last + 3])
        # one source sentence, as many figures: the place is certain, the words around need not be new
        if (sources == 1 and len(source) == len(keys)) or all(f" {' '.join(c)} " not in old_stream for c in contexts):
            changed.append((start, end))
    if not changed:
        return edit
    spans = tuple(sorted(set(edit.changed) | set(changed)))
    return Edit("changed", edit.sentence, edit.sentence, spans)
