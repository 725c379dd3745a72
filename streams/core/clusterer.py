"""Online event clustering (Miranda et al., EMNLP 2018, simplified): one story at a time, a story
joins the best-matching live event of its shard or founds a new one.

* **Features** (``features.py``): TF-IDF vectors of the headline + lead (first
  ``lead_sentences``) and of the headline, folded name tokens, normalized figures. IDF = background (``wordfreq``) blended with the shard's running
  event frequencies (``termstats.py``), so weights are sensible from the first story on.
* **Score**: a logistic combination (``FEATURE_NAMES``) of the story's similarity to the event's
  profile, a centroid over all its stories (body, headline, headline-vs-event and names cosines,
  shared figures, the idf mass of shared terms and names, "both have figures, none shared", the
  idf of the three rarest shared terms), of time (log hours since the event's last story, learned
  from dated data; while a shard's stream carries no time — every story stamped alike — an
  ``undated`` feature stands in for it), of how much text the story carries (``short`` and its
  interactions: a flash and a long article are not held to one cosine), of a missing headline and
  of the event's size. Weights and the join threshold are fitted by ``bench/fit_clusterer.py`` on
  the tune half (split by gold event) of the whole dev suite — a dated stream, full lower-cased
  articles, title + lead, headlines only — one configuration for every stream. A story in a
  language the event has not seen yet is also scored on names and figures alone (hand-set
  ``cross_weights``: the dev data is monolingual), and the better of the two counts.
* **Join or found**: the top-scored candidate is joined when a second logistic model over it says
  so (``join_features``: its pair features and score, the runner-up's score and the margin, how
  many candidates there were and how many reach the threshold, whether it is also the best by body,
  headline, names and semantic cosine, its place in the index's order, the event's age and size;
  ``join_weights``, fitted by ``bench/fit_join.py`` on the tune halves). Without the semantic model,
  and for a top candidate in another language, its score against ``threshold`` decides.
* **Candidates**: an inverted index (term -> live events, most recently updated last) queried with
  the story's rarest terms; very long posting lists are read only for their most recent events,
  so the cost per story does not grow with the number of live events.
* **State**: each event's profile is a small JSON-able dict in ``profiles`` (a Faust table
  online) holding its top-K weighted terms, names and figures as parallel lists (weights as small
  integers), its story count, last update and an update sequence number. The index, the heap of
  expiry times and the term frequencies are caches derived from the profiles
  (``rebuild_index``), and rebuilding them gives exactly the same decisions.
* **Expiry**: an event untouched for ``window_seconds`` of stream time (the latest story time
  seen in its shard) leaves the index and ``profiles``; expiry is lazy, from a heap, amortized.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections.abc import MutableMapping
from dataclasses import dataclass
from itertools import islice
from operator import mul, neg
from typing import Any

import numpy as np

from . import embedding, termstats
from .features import StoryFeatures, extract
from .models import EnrichedStory

__all__ = ["DEFAULT_CONFIG", "FEATURE_NAMES", "JOIN_FEATURE_NAMES", "ClusterConfig", "Clusterer", "join_features",
           "pair_features", "sem_cosines"]

FEATURE_NAMES = ("body_cos", "head_cos", "head_body_cos", "names_cos", "shared_numbers", "shared_idf",
                 "shared_names_idf", "numbers_disjoint", "shared_top_idf", "log_hours", "undated", "short",
                 "short_body_cos", "short_shared_idf", "no_headline", "event_size", "sem_cos", "short_sem_cos",
                 "bias")
# The join decision's features: the top-scored candidate's pair features (without the bias) and the
# context the pair score does not see (``join_features``).
JOIN_FEATURE_NAMES = (*FEATURE_NAMES[:-1], "top_p", "top_logit", "second_p", "margin", "n_candidates", "n_above",
                      "best_body", "best_head", "best_names", "best_sem", "gap_body", "gap_sem", "gap_names",
                      "index_rank", "event_age", "event_size_raw")
_F = {n: i for i, n in enumerate(FEATURE_NAMES)}
_LOG17 = math.log(17.0)
# Event size enters as log1p(n) / 3, held at 16 stories: the dev events rarely grow past it, and a
# term fitted on them must not extrapolate (a 60-story running event would score below the threshold
# against a copy of its own story).
_SIZE_CAP = 16
_EVENT_SIZE = tuple(math.log1p(n) / 3.0 for n in range(_SIZE_CAP + 1))
_LONG_STORY = math.log1p(300.0)  # terms: a story this long or longer counts as "not short" at all


@dataclass(frozen=True)
class ClusterConfig:
    # profile size (top-K kept per event)
    k_body: int = 48
    k_head: int = 24
    k_names: int = 24
    k_numbers: int = 16
    k_langs: int = 8
    quant: float = 200.0  # weights stored as round(w * quant) (ints, JSON-compact)
    # index
    k_index: int = 32  # body terms of an event put in the index (its heaviest)
    query_terms: int = 24  # story terms used to look up candidates (its rarest)
    posting_cap: int = 64  # at most this many most-recent events read per posting list
    posting_budget: int = 512  # at most this many posting entries read per story
    candidates: int = 16  # events scored in full (24 on the dev data: F1 +0.001 for 1.5x the scoring cost)
    min_idf: float = 1.0  # terms below this weight are ignored (function words)
    # score: logistic regression weights over FEATURE_NAMES and the join probability, fitted on the
    # tune half of the dev suite (``python bench/fit_clusterer.py`` makes them again)
    weights: tuple[float, ...] = (5.788, 2.963, -0.528, 0.603, 0.24, 3.191, -2.087, -0.992, 14.516, -4.326, -3.584, 9.989,
                                  -7.711, -1.597, 2.069, -7.994, 6.497, -1.826, -8.561)
    threshold: float = 0.4  # join when the probability reaches this
    # Without the semantic model (``wordllama`` not installed, or ``semantic=False``) the sem_* features
    # are 0 and these weights, fitted without them (``fit_clusterer.py --no-semantic``), are used.
    weights_plain: tuple[float, ...] = (10.06, 3.318, -0.94, 1.028, 0.36, 4.676, -2.336, -0.923, 14.443, -4.141, -3.288,
                                        8.991, -8.347, -1.55, 1.49, -7.471, 0.0, 0.0, -7.3)
    threshold_plain: float = 0.4
    # Join decision over the top-scored candidate (``join_features``): a second logistic model over
    # JOIN_FEATURE_NAMES (+ bias), fitted by ``bench/fit_join.py`` on the tune halves; join when its
    # probability reaches ``join_threshold``. Empty: join when the top score reaches ``threshold``.
    # Used with the semantic model only (without it, and for a cross-language top candidate, the
    # top score against the threshold decides, as before).
    join_weights: tuple[float, ...] = (
        -0.0253, 0.855, 0.4294, 0.037, 0.1475, 0.5181, 0.2413, 0.1021, 1.0778, 1.7221, -1.3179, 1.6194, -3.7839, 2.0355,
        0.0949, 0.7098, -1.0509, -0.8062, 1.0153, 4.7455, -0.729, 1.7443, 2.3641, -1.3565, 0.201, 0.0288, 0.041, 0.1714,
        -0.6036, 3.3247, -0.2953, -0.7523, -3.9207, 0.4259, -3.0675)
    join_threshold: float = 0.45
    semantic: bool = True  # use the semantic model when it is installed
    sem_memory: int = 8  # an event's semantic centroid weighs at most this many stories against a new one
    number_cap: int = 3
    # cross-language score (names cosine, shared figures, bias): hand-set, as the dev data is monolingual
    cross_weights: tuple[float, float, float] = (8.0, 1.0, -6.5)
    number_query_weight: float = 0.3
    number_query_idf: float = 6.0
    idf_cap: float = 60.0
    stemming: bool = True
    # Only the headline and the lead are read: wire copy puts the event there (inverted pyramid), and
    # the background paragraphs further down bring shared context words that join unrelated events.
    lead_sentences: int = 6


DEFAULT_CONFIG = ClusterConfig()
_BACKGROUND_CACHE = 200_000  # words per language before the background-weight cache starts over


def pair_features(sf: StoryFeatures, p: dict[str, Any], cfg: ClusterConfig = DEFAULT_CONFIG,
                  hours: float | None = None, sem: float = 0.0) -> list[float]:
    """Similarity features between a story and an event profile (order: FEATURE_NAMES).

    ``hours`` since the event's last story, ``None`` when the stream carries no time (every story
    stamped alike): then the time features are 0 and ``undated`` stands in for them. ``sem``: the
    cosine of the story's and the event's semantic vectors (0 without them, see ``sem_cosines``).
    """
    # body terms: one pass gives the body cosine, the headline-vs-event cosine and the shared idf mass
    body = sf.body
    head = sf.head
    idf = sf.idf
    dot_b = dot_hb = shared_b = 0.0
    nn = 0
    shared_idfs = []
    for t, w in zip(p["b"], p["bw"]):
        nn += w * w
        x = body.get(t)
        if x is not None:
            dot_b += x * w
            i = idf.get(t, 0.0)
            shared_b += i
            shared_idfs.append(i)
            y = head.get(t)
            if y is not None:
                dot_hb += y * w
    norm_b = math.sqrt(nn) if nn else 1.0
    head_cos, _ = _cos_lists(head, p["h"], p["hw"], None)
    names_cos, shared_n = _cos_lists(sf.names, p["e"], p["ew"], idf)
    nums = p["x"]
    shared = sum(1 for x in sf.numbers if x in nums) if nums and sf.numbers else 0
    cap = cfg.idf_cap
    body_cos = dot_b / norm_b
    shared_idf = min(shared_b, cap) / cap
    # how little text the story carries (1 = nothing, 0 = a long article): short stories need other weights
    short = max(0.0, 1.0 - math.log1p(sf.length) / _LONG_STORY)
    return [body_cos, head_cos, dot_hb / norm_b, names_cos, float(min(shared, cfg.number_cap)),
            shared_idf, min(shared_n, cap) / cap,
            1.0 if (nums and sf.numbers and not shared) else 0.0,
            min(sum(sorted(shared_idfs, reverse=True)[:3]), cap) / cap,
            0.0 if hours is None else math.log1p(hours) / 5.0, 1.0 if hours is None else 0.0,
            short, short * body_cos, short * shared_idf, 0.0 if head else 1.0,
            _EVENT_SIZE[min(p["n"], _SIZE_CAP)], sem, short * sem, 1.0]


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1.0 - 1e-6)
    return math.log(p / (1.0 - p))


def join_features(scored: list[tuple[str, dict[str, Any], list[float], float]], top: int, hours_first: float | None,
                  threshold: float) -> list[float]:
    """The join decision's features (order: JOIN_FEATURE_NAMES) for the top-scored candidate.

    ``scored``: (event id, profile, pair features, score) of every candidate in the index's order;
    ``top``: the position of the top-scored one; ``hours_first``: hours since the event's first
    story (None while the stream carries no time). What the pair score cannot see: how the
    runner-up scored, how many candidates there were and how many reach the threshold, whether the
    top one is also the best by body, headline, names and semantic cosine (and by how much), its
    place in the index's order, the event's age and its size uncapped.
    """
    _e, p, f, s = scored[top]
    above = sum(1 for x in scored if x[3] >= threshold)
    others = [x[2] for i, x in enumerate(scored) if i != top]
    second = max((x[3] for i, x in enumerate(scored) if i != top), default=0.0)
    # the best other candidate by each sub-similarity (cosines of the semantic vectors can be negative)
    ob, oh, on, os_ = (max((g[_F[k]] for g in others), default=0.0)
                       for k in ("body_cos", "head_cos", "names_cos", "sem_cos"))
    b, h, n, sem = f[_F["body_cos"]], f[_F["head_cos"]], f[_F["names_cos"]], f[_F["sem_cos"]]
    return [*f[:-1], s, _logit(s) / 10.0, second, s - second, math.log1p(len(scored)) / _LOG17,
            math.log1p(above) / _LOG17, 1.0 if b >= ob else 0.0, 1.0 if h >= oh else 0.0, 1.0 if n >= on else 0.0,
            1.0 if sem >= os_ else 0.0, b - ob, sem - os_, n - on, top / 16.0,
            0.0 if hours_first is None else math.log1p(hours_first) / 5.0, math.log1p(p["n"]) / 5.0]


def sem_cosines(sf: StoryFeatures, profiles: list[dict[str, Any]]) -> list[float]:
    """Cosines of the story's semantic vector with each event's (0 where either has none).

    int8 vectors, integer dot products: exact, the same on every machine."""
    v = sf.sem
    out = [0.0] * len(profiles)
    if v is None:
        return out
    rows = [i for i, p in enumerate(profiles) if "s" in p]
    if not rows:
        return out
    m = np.stack([embedding.decode(profiles[i]["s"]) for i in rows]).astype(np.int32)
    a = v.astype(np.int32)
    dots = m @ a
    norms = np.sqrt(np.einsum("ij,ij->i", m, m).astype(np.float64) * float(a @ a))
    for i, d, n in zip(rows, dots.tolist(), norms.tolist()):
        out[i] = d / n if n > 0 else 0.0
    return out


def _cos_lists(v: dict[str, float], terms: list[str], weights: list[int], idf: dict[str, float] | None
               ) -> tuple[float, float]:
    """Cosine of a story vector with an event's (terms, weights), and the idf mass of shared terms."""
    if not v or not terms:
        return 0.0, 0.0
    dot = 0.0
    shared = 0.0
    nn = 0
    get = v.get
    for t, w in zip(terms, weights):
        nn += w * w
        x = get(t)
        if x is not None:
            dot += x * w
            if idf is not None:
                shared += idf.get(t, 0.0)
    return (dot / math.sqrt(nn) if nn else 0.0), shared


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _merge_top(terms: list[str], weights: list[int], vec: dict[str, float], quant: float, k: int
               ) -> tuple[list[str], list[int]]:
    acc: dict[str, int] = dict(zip(terms, weights))
    for t, x in vec.items():
        q = round(x * quant)
        if q > 0:
            acc[t] = acc.get(t, 0) + q
    # heaviest first, ties by term: sorting the (-weight, term) pairs themselves (terms are distinct, so
    # this is the same order as a sort keyed on them) compares in C instead of calling a key per item
    top = sorted(zip(map(neg, acc.values()), acc))[:k]
    return [t for _, t in top], [-w for w, _ in top]


def _merge_sem(old: str | None, n: int, v: np.ndarray | None, memory: int,
               old_vector: np.ndarray | None = None) -> tuple[str | None, np.ndarray | None]:
    """The event's semantic centroid with one more story: old direction x min(n, memory) + the story's.

    Returns it encoded and as its int8 vector (None, None when the event has none: ``v`` None and no
    ``old``; the vector is None also when ``old`` is kept as it is). ``old_vector``: ``old`` decoded,
    when the caller has it."""
    if v is None:
        return old, None
    new = v.astype(np.float64)
    new /= np.sqrt(new @ new)
    if old is not None and n > 0:
        o = (embedding.decode(old) if old_vector is None else old_vector).astype(np.float64)
        new += o * (min(n, memory) / np.sqrt(o @ o))
    q = embedding.quantize(new)
    return (embedding.encode(q), q) if q is not None else (old, None)


class _ShardState:
    """In-memory caches for one shard (derived from the profiles)."""

    __slots__ = ("df", "first", "heap", "n", "now", "postings", "version")

    def __init__(self) -> None:
        self.postings: dict[str, dict[str, None]] = {}  # term -> {event_id: None}, oldest update first
        self.df: dict[str, int] = {}  # term -> live events whose profile holds it (body terms)
        self.n = 0  # live events
        self.heap: list[tuple[float, int, str]] = []  # (last update time, seq, event_id)
        self.now = float("-inf")  # latest story time seen
        self.first = float("inf")  # earliest story time seen (== now: the stream carries no time yet)
        self.version = 0  # bumped whenever df/n change (features computed before stay valid until then)


class Clusterer:
    def __init__(self, profiles: MutableMapping[str, dict[str, Any]], *, window_seconds: float,
                 config: ClusterConfig = DEFAULT_CONFIG) -> None:
        self.profiles = profiles
        self.window_seconds = float(window_seconds)
        self.cfg = config
        self._shards: dict[str, _ShardState] = {}
        self._seq = 0
        self._last: tuple[EnrichedStory, _ShardState, int, StoryFeatures] | None = None
        # lang -> lowercase word -> PRIOR_DOCS * background df (a pure function of the word: cached)
        self._background: dict[str, dict[str, float]] = {}
        # event_id -> (its profile's "s", that centroid decoded, its squared norm): decoding every
        # candidate's centroid for every story was 2.6-4% of the core. Checked against the profile's
        # "s" on every use (so a profile changed behind the clusterer's back is decoded again);
        # entries go with their event (expiry) and on ``rebuild_index``.
        self._sem: dict[str, tuple[str, np.ndarray, int]] = {}
        self.embedder = embedding.load() if config.semantic else None
        self.weights = config.weights if self.embedder is not None else config.weights_plain
        self.threshold = config.threshold if self.embedder is not None else config.threshold_plain
        self.join_weights = config.join_weights if self.embedder is not None else ()
        self.rebuild_index()

    # --- caches ------------------------------------------------------------------------------

    def rebuild_index(self) -> None:
        """Rebuild the index, heaps and frequencies from ``profiles`` (after recovery)."""
        self._shards = {}
        self._last = None
        self._sem = {}
        items = sorted(self.profiles.items(), key=lambda kv: (kv[1].get("q", 0), kv[0]))
        self._seq = max((p.get("q", 0) for _, p in items), default=0)
        for event_id, p in items:
            st = self._shard(p["shard"])
            st.now = max(st.now, p["last"])
            st.first = min(st.first, p["first"])
            self._post(st, event_id, p, None)
            heapq.heappush(st.heap, (p["last"], p.get("q", 0), event_id))
        for shard, st in sorted(self._shards.items()):
            self._expire(shard, st)

    def _shard(self, shard: str) -> _ShardState:
        st = self._shards.get(shard)
        if st is None:
            st = self._shards[shard] = _ShardState()
        return st

    def _index_terms(self, p: dict[str, Any]) -> tuple[str, ...]:
        terms = list(p["b"][: self.cfg.k_index])
        seen = set(terms)
        for t in p["e"]:
            if t not in seen:
                seen.add(t)
                terms.append(t)
        for x in p["x"]:
            if len(x) >= 3:
                key = "#" + x
                if key not in seen:
                    seen.add(key)
                    terms.append(key)
        return tuple(terms)

    def _post(self, st: _ShardState, event_id: str, p: dict[str, Any], old: dict[str, Any] | None) -> None:
        """(Re)post an event under its index terms, as the most recently updated; update frequencies."""
        new_terms = self._index_terms(p)
        old_terms = self._index_terms(old) if old is not None else ()
        for t in old_terms:
            d = st.postings.get(t)
            if d is not None:
                d.pop(event_id, None)
                if not d:
                    del st.postings[t]
        for t in new_terms:
            d = st.postings.get(t)
            if d is None:
                d = st.postings[t] = {}
            d[event_id] = None
        st.version += 1
        if old is None:
            st.n += 1
        else:
            for t in old["b"]:
                c = st.df.get(t, 0) - 1
                if c > 0:
                    st.df[t] = c
                else:
                    st.df.pop(t, None)
        for t in p["b"]:
            st.df[t] = st.df.get(t, 0) + 1

    def _unpost(self, st: _ShardState, event_id: str, p: dict[str, Any]) -> None:
        st.version += 1
        for t in self._index_terms(p):
            d = st.postings.get(t)
            if d is not None:
                d.pop(event_id, None)
                if not d:
                    del st.postings[t]
        for t in p["b"]:
            c = st.df.get(t, 0) - 1
            if c > 0:
                st.df[t] = c
            else:
                st.df.pop(t, None)
        st.n -= 1

    def _expire(self, shard: str, st: _ShardState) -> None:
        horizon = st.now - self.window_seconds
        heap = st.heap
        while heap and heap[0][0] < horizon:
            _last, q, event_id = heapq.heappop(heap)
            p = self.profiles.get(event_id)
            if p is None or p.get("q", 0) != q or p["shard"] != shard:
                continue  # stale heap entry: the event was updated since (or is gone)
            self._unpost(st, event_id, p)
            del self.profiles[event_id]
            self._sem.pop(event_id, None)

    def stream_time(self, shard: str) -> float:
        """The latest story time seen in ``shard`` (-inf before its first story)."""
        st = self._shards.get(shard)
        return st.now if st is not None else float("-inf")

    def _advance(self, shard: str, now: float) -> _ShardState:
        st = self._shard(shard)
        st.first = min(st.first, now)
        if now > st.now:
            st.now = now
            self._expire(shard, st)
        return st

    # --- features ----------------------------------------------------------------------------

    def features(self, story: EnrichedStory, st: _ShardState | None = None) -> StoryFeatures:
        if st is None:
            st = self._shard(story.shard)
        cached = self._last
        if cached is not None and cached[0] is story and cached[1] is st and cached[2] == st.version:
            return cached[3]  # best_event then add of the same story: same state, same features
        sf = self._features(story, st)
        self._last = (story, st, st.version, sf)
        return sf

    def _features(self, story: EnrichedStory, st: _ShardState) -> StoryFeatures:
        lang = story.lang
        df, n = st.df, st.n
        background = self._background.get(lang)
        if background is None or len(background) > _BACKGROUND_CACHE:
            background = self._background[lang] = {}
        bg_get = background.get
        prior_n = n + termstats.PRIOR_DOCS
        min_df = termstats.MIN_DF
        log = math.log

        def term_idf(lower: str, folded: str) -> float:
            # termstats.idf(termstats.background_df(lower, lang), df[folded], n), inlined: the same
            # arithmetic, so the same float, at a third of the cost (it runs for every story word).
            prior = bg_get(lower)
            if prior is None:
                prior = background[lower] = termstats.PRIOR_DOCS * termstats.background_df(lower, lang)
            return log(1.0 / max((df.get(folded, 0) + prior) / prior_n, min_df))

        def zipf(lower: str) -> float:
            return termstats.background_zipf(lower, lang)

        sf = extract(story.headline, story.sentences, term_idf, zipf, lang=lang, min_idf=self.cfg.min_idf,
                     max_sentences=self.cfg.lead_sentences, stemming=self.cfg.stemming)
        if self.embedder is not None:
            text = " ".join((story.headline, *story.sentences[: self.cfg.lead_sentences]))
            sf = dataclasses.replace(sf, sem=self.embedder.embed(text))
        return sf

    # --- decisions ---------------------------------------------------------------------------

    def candidates(self, sf: StoryFeatures, st: _ShardState) -> list[str]:
        """Live events sharing the story's rarest terms, best approximate overlap first."""
        cfg = self.cfg
        query: dict[str, float] = {}
        for t, x in sf.body.items():
            query[t] = x
        for t, x in sf.names.items():
            query[t] = query.get(t, 0.0) + x
        idf = dict(sf.idf)
        for x in sf.numbers:
            if len(x) >= 3:
                query["#" + x] = cfg.number_query_weight
                idf["#" + x] = cfg.number_query_idf
        # Only terms some live event is posted under can find it: rare words no event has (most of a
        # story's rarest ones, and every word of another language) must not crowd them out.
        postings = st.postings
        terms = sorted((t for t in query if t in postings), key=lambda t: (-idf.get(t, 0.0), t))[: cfg.query_terms]
        acc: dict[str, float] = {}
        budget = cfg.posting_budget
        for t in terms:
            d = postings[t]
            w = query[t] * idf.get(t, 1.0)
            take = min(len(d), cfg.posting_cap, budget)
            if take <= 0:
                break
            budget -= take
            for event_id in (reversed(d) if take == len(d) else islice(reversed(d), take)):
                acc[event_id] = acc.get(event_id, 0.0) + w
        if len(acc) > cfg.candidates:
            top = heapq.nlargest(cfg.candidates, acc, key=acc.__getitem__)
        else:
            top = list(acc)
        top.sort(key=lambda e: (-acc[e], e))
        return top

    @staticmethod
    def hours(st: _ShardState, p: dict[str, Any], now: float) -> float | None:
        """Hours from the event's last story to ``now``; None while the shard's stream carries no time."""
        if st.now <= st.first:
            return None
        return max(0.0, now - p["last"]) / 3600.0

    def score(self, sf: StoryFeatures, p: dict[str, Any], now: float, lang: str | None = None,
              st: _ShardState | None = None, sem: float | None = None) -> float:
        cfg = self.cfg
        if st is None:
            st = self._shard(p["shard"])
        if sem is None:
            sem = sem_cosines(sf, [p])[0]
        return self._score(pair_features(sf, p, cfg, self.hours(st, p, now), sem), p, lang)

    def _score(self, f: list[float], p: dict[str, Any], lang: str | None) -> float:
        cfg = self.cfg
        if lang is not None and lang not in p.get("l", ()):
            # Another language than the event's: words differ, names and figures carry the match; and
            # the semantic vectors (an English-centric model) do not: the weights fitted without them.
            a, b, c = cfg.cross_weights
            z = max(sum(map(mul, cfg.weights_plain, f)), a * f[3] + b * f[4] + c)
        else:
            z = sum(map(mul, self.weights, f))  # the same sum() over the same products
        return _sigmoid(z)

    def best_event(self, story: EnrichedStory, now: float) -> tuple[str | None, float]:
        st = self._advance(story.shard, now)
        sf = self.features(story, st)
        found = [(e, p) for e in self.candidates(sf, st) if (p := self.profiles.get(e)) is not None]
        if not found:
            return None, 0.0
        sems = self._sem_cosines(sf, found)
        scored = []
        top = 0
        for i, ((event_id, p), sem) in enumerate(zip(found, sems)):
            f = pair_features(sf, p, self.cfg, self.hours(st, p, now), sem)
            s = self._score(f, p, story.lang)
            scored.append((event_id, p, f, s))
            if s > scored[top][3] or (s == scored[top][3] and event_id < scored[top][0]):
                top = i
        best, p, _f, best_score = scored[top]
        if self.join_weights and (story.lang is None or story.lang in p.get("l", ())):
            x = join_features(scored, top, self.hours(st, {"last": p["first"]}, now), self.threshold)
            w = self.join_weights
            z = w[-1] + sum(a * b for a, b in zip(w, x))
            join = _sigmoid(z) >= self.cfg.join_threshold
        else:
            join = best_score >= self.threshold
        return (best if join else None), best_score

    def _centroid(self, event_id: str, s: str) -> tuple[str, np.ndarray, int]:
        """(s, s decoded, its squared norm) of an event whose profile's centroid is ``s``."""
        entry = self._sem.get(event_id)
        if entry is None or entry[0] != s:
            v = embedding.decode(s)
            w = v.astype(np.int32)
            entry = self._sem[event_id] = (s, v, int(w @ w))
        return entry

    def _sem_cosines(self, sf: StoryFeatures, found: list[tuple[str, dict[str, Any]]]) -> list[float]:
        """``sem_cosines(sf, [p for _, p in found])``, with each event's centroid decoded once.

        The same integer dot products and squared norms, and the same float operations on them
        (``sqrt(float(nn) * float(aa))``, then ``d / n``), so the same bits."""
        v = sf.sem
        out = [0.0] * len(found)
        if v is None:
            return out
        rows = []
        entries = []
        for i, (event_id, p) in enumerate(found):
            s = p.get("s")
            if s is not None:
                rows.append(i)
                entries.append(self._centroid(event_id, s))
        if not rows:
            return out
        a = v.astype(np.int32)
        aa = float(a @ a)
        dots = (np.array([e[1] for e in entries]).astype(np.int32) @ a).tolist()
        sqrt = math.sqrt
        for i, d, e in zip(rows, dots, entries):
            n = sqrt(float(e[2]) * aa)
            out[i] = d / n if n > 0 else 0.0
        return out

    def add(self, event_id: str, story: EnrichedStory, now: float) -> None:
        cfg = self.cfg
        st = self._advance(story.shard, now)
        sf = self.features(story, st)
        old = self.profiles.get(event_id)
        if old is not None and old["shard"] != story.shard:
            # A new version of a known uri whose language (shard) changed: the event stays in its shard.
            st = self._shard(old["shard"])
        base = old or {"b": [], "bw": [], "h": [], "hw": [], "e": [], "ew": [], "x": [], "xc": [], "n": 0}
        b, bw = _merge_top(base["b"], base["bw"], sf.body, cfg.quant, cfg.k_body)
        h, hw = _merge_top(base["h"], base["hw"], sf.head, cfg.quant, cfg.k_head)
        e, ew = _merge_top(base["e"], base["ew"], sf.names, cfg.quant, cfg.k_names)
        xs = dict(zip(base["x"], base["xc"]))
        for x in sf.numbers:
            xs[x] = xs.get(x, 0) + 1
        top_x = sorted(xs.items(), key=lambda kv: (-kv[1], kv[0]))[: cfg.k_numbers]
        self._seq += 1
        last = max(now, old["last"]) if old is not None else now
        p = {
            "shard": old["shard"] if old is not None else story.shard,
            "n": base["n"] + 1,
            "first": old["first"] if old is not None else now,
            "last": last,
            "q": self._seq,
            "b": b, "bw": bw, "h": h, "hw": hw, "e": e, "ew": ew,
            "x": [x for x, _ in top_x], "xc": [c for _, c in top_x],
            "l": sorted(set(base.get("l", ())) | {story.lang})[: cfg.k_langs],
        }
        old_sem = base.get("s")
        old_vector = self._centroid(event_id, old_sem)[1] if old_sem is not None and base["n"] > 0 else None
        sem, vector = _merge_sem(old_sem, base["n"], sf.sem, cfg.sem_memory, old_vector)
        if sem is not None:
            p["s"] = sem
            if vector is not None:
                w = vector.astype(np.int32)
                self._sem[event_id] = (sem, vector, int(w @ w))
        self._post(st, event_id, p, old)
        self.profiles[event_id] = p
        heapq.heappush(st.heap, (last, self._seq, event_id))
