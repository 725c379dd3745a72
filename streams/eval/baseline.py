"""The yardstick for event clustering: single-pass TF-IDF centroid clustering.

What any news clusterer has to beat (Allan et al., "On-line new event detection", 1998, and every
TDT system since): each story, in stream order, becomes a TF-IDF vector (sublinear term
frequency, folded lower-case word tokens of headline and body, IDF from the stories seen *before*
it — online, no look-ahead), is compared by cosine with the centroid of every event so far, and
joins the most similar one when the cosine reaches ``THRESHOLD``, else founds a new event. No
window, no time, no names, no learning.

``THRESHOLD`` was chosen once for the whole dev suite (the best macro B-cubed F1 over
``THRESHOLDS``; ``python bench/fit_clusterer.py --baseline`` repeats the sweep) and is not tuned
per file. The sweep (B-cubed F1 on stream / multinews / dev / dev headlines -> macro):

    0.20: 0.567 0.836 0.522 0.467 -> 0.598
    0.25: 0.682 0.844 0.640 0.583 -> 0.687
    0.30: 0.728 0.819 0.710 0.638 -> 0.724   <- THRESHOLD
    0.35: 0.729 0.776 0.712 0.642 -> 0.715

Candidates come from an inverted index queried with the story's heaviest terms, and the best
``RESCORE`` of them by that partial dot product are scored exactly: at this size that loses
nothing measurable and keeps the baseline a few seconds a file.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence

from streams.core.features import fold, tokenize
from streams.core.models import EnrichedStory

__all__ = ["THRESHOLD", "THRESHOLDS", "BaselineClusterer", "cluster_baseline"]

THRESHOLD = 0.3
THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4)
QUERY_TERMS = 30
RESCORE = 20


def _terms(story: EnrichedStory) -> dict[str, int]:
    counts: dict[str, int] = {}
    for text in (story.headline, *story.sentences):
        for word, _ in tokenize(text):
            if len(word) < 2:
                continue
            t = fold(word)
            counts[t] = counts.get(t, 0) + 1
    return counts


class BaselineClusterer:
    """Online TF-IDF centroid clustering with one cosine threshold."""

    def __init__(self, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        self.df: dict[str, int] = {}
        self.n = 0
        self.centroids: list[dict[str, float]] = []
        self.norms2: list[float] = []
        self.postings: dict[str, list[int]] = {}

    def vector(self, counts: dict[str, int]) -> dict[str, float]:
        n, df = self.n, self.df
        v = {t: (1.0 + math.log(c)) * (math.log((n + 1) / (df.get(t, 0) + 1)) + 1.0) for t, c in counts.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {t: x / norm for t, x in v.items()}

    def assign(self, story: EnrichedStory) -> int:
        """The event index the story joins (a new one when nothing is close enough)."""
        counts = _terms(story)
        v = self.vector(counts)
        query = heapq.nlargest(QUERY_TERMS, v, key=lambda t: (v[t], t))
        partial: dict[int, float] = {}
        for t in query:
            x = v[t]
            for e in self.postings.get(t, ()):
                partial[e] = partial.get(e, 0.0) + x * self.centroids[e][t]
        best, best_cos = -1, 0.0
        for e in heapq.nlargest(RESCORE, partial, key=lambda e: (partial[e], -e)):
            c = self.centroids[e]
            cos = sum(x * c.get(t, 0.0) for t, x in v.items()) / math.sqrt(self.norms2[e])
            if cos > best_cos:
                best, best_cos = e, cos
        if best < 0 or best_cos < self.threshold:
            best = len(self.centroids)
            self.centroids.append({})
            self.norms2.append(0.0)
        c = self.centroids[best]
        dot = sum(x * c.get(t, 0.0) for t, x in v.items())
        self.norms2[best] += 2.0 * dot + 1.0  # |c + v|^2 with |v| = 1
        for t, x in v.items():
            if t not in c:
                self.postings.setdefault(t, []).append(best)
                c[t] = x
            else:
                c[t] += x
        for t in counts:
            self.df[t] = self.df.get(t, 0) + 1
        self.n += 1
        return best


def cluster_baseline(stories: Iterable[EnrichedStory | None], threshold: float = THRESHOLD) -> list[int | None]:
    """Event index per story, in order (``None`` for a story that was rejected)."""
    cl = BaselineClusterer(threshold)
    return [None if s is None else cl.assign(s) for s in stories]


def best_threshold(scores: dict[float, Sequence[float]]) -> float:
    """The threshold with the best mean over files (ties: the lower one)."""
    return max(sorted(scores), key=lambda th: (sum(scores[th]) / len(scores[th]), -th))
