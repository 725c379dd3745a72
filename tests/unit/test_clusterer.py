"""Event clustering: metrics, decisions, determinism, expiry, index rebuild, candidates, dev data."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.clusterer import ClusterConfig, Clusterer
from streams.core.models import EnrichedStory, Story
from streams.eval.clustering import bcubed, pairwise

DAY = 86400.0
T0 = 1_700_000_000.0
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def story(uri: str, headline: str, body: str, *, lang: str = "en", shard: str | None = None) -> EnrichedStory:
    sentences = tuple(s.strip() + "." for s in body.split(". ") if s.strip())
    return EnrichedStory(story=Story(uri=uri, body_text=body, headline=headline), lang=lang, headline=headline,
                         sentences=sentences, text_hash=uri, shard=shard or lang)


def run(cl: Clusterer, stories: list[tuple[EnrichedStory, float]], prefix: str = "ev") -> list[str]:
    out = []
    for i, (s, t) in enumerate(stories):
        event_id, _ = cl.best_event(s, t)
        event_id = event_id or f"{prefix}-{s.story.uri}"
        cl.add(event_id, s, t)
        out.append(event_id)
    return out


FAUCI_1 = story("f1", "866 pages of Fauci emails shed light on early days of COVID crisis",
                "The Washington Post obtained 866 pages of Anthony Fauci's emails from March and April 2020. "
                "The emails show the infectious-disease expert fielding questions from Chinese official George Gao.")
FAUCI_2 = story("f2", "Fauci told Chinese official they would 'get through this together', emails reveal",
                "Dr. Anthony Fauci corresponded with Chinese health official George Gao early in the pandemic. "
                "The 866 pages of emails were obtained by BuzzFeed News and The Washington Post.")
GEORGIA = story("g1", "Georgia Senate runoff on pace for record-setting vote haul",
                "At least 3 million people have already cast early votes in the Georgia runoff elections. "
                "Both Georgia Senate seats and control of the chamber are up for grabs on Tuesday.")
MANCHIN = story("m1", "Manchin sets $1.5 trillion limit on spending package",
                "Sen. Joe Manchin said Thursday that $1.5 trillion is the price tag he would accept for the "
                "Democrats' reconciliation bill.")
SYRIA = story("s1", "Russia says Israel was behind Syria airstrike; 14 reported dead",
              "Russia and the Syrian military blamed Israel for a pre-dawn missile attack Monday on a major air base "
              "in central Syria.")


# --- metrics -----------------------------------------------------------------------------------

def test_bcubed_hand_computed():
    pred = {"a": 1, "b": 1, "c": 2}
    gold = {"a": "X", "b": "Y", "c": "Y"}
    m = bcubed(pred, gold)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    pw = pairwise(pred, gold)
    assert (pw["precision"], pw["recall"], pw["f1"]) == (0.0, 0.0, 0.0)


def test_bcubed_and_pairwise_second_example():
    pred = {"a": 1, "b": 1, "c": 1, "d": 2}
    gold = {"a": "X", "b": "X", "c": "Y", "d": "Y"}
    m = bcubed(pred, gold)
    # precision: a,b: 2/3, c: 1/3, d: 1 -> (2/3+2/3+1/3+1)/4 = 2/3 ; recall: a,b: 1, c: 1/2, d: 1/2 -> 3/4
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(3 / 4)
    pw = pairwise(pred, gold)
    assert pw["precision"] == pytest.approx(1 / 3)  # pred pairs ab ac bc, true: ab
    assert pw["recall"] == pytest.approx(1 / 2)  # gold pairs ab cd


labels = st.dictionaries(st.integers(0, 40), st.integers(0, 6), min_size=1, max_size=30)


@given(labels)
def test_perfect_clustering_scores_one(gold):
    renamed = {k: f"c{v}" for k, v in gold.items()}  # cluster names do not matter
    assert bcubed(renamed, gold)["f1"] == pytest.approx(1.0)
    assert pairwise(renamed, gold)["f1"] == pytest.approx(1.0)


@given(labels)
def test_singletons_have_full_precision_and_one_cluster_full_recall(gold):
    singletons = {k: k for k in gold}
    one = {k: 0 for k in gold}
    assert bcubed(singletons, gold)["precision"] == pytest.approx(1.0)
    assert bcubed(one, gold)["recall"] == pytest.approx(1.0)
    b = bcubed(singletons, gold)
    assert 0.0 <= b["f1"] <= 1.0


# --- decisions ---------------------------------------------------------------------------------

def test_same_event_joins_and_other_events_do_not():
    profiles: dict = {}
    cl = Clusterer(profiles, window_seconds=3 * DAY)
    ids = run(cl, [(FAUCI_1, T0), (GEORGIA, T0 + 60), (FAUCI_2, T0 + 120), (MANCHIN, T0 + 180), (SYRIA, T0 + 240)])
    assert ids[2] == ids[0]
    assert len({ids[0], ids[1], ids[3], ids[4]}) == 4
    assert profiles[ids[0]]["n"] == 2
    # profiles are small JSON values
    for p in profiles.values():
        assert json.loads(json.dumps(p)) == p
        assert len(json.dumps(p)) < 4000


def test_headline_only_flash_joins_its_event():
    cl = Clusterer({}, window_seconds=3 * DAY)
    flash = story("flash", "Manchin sets $1.5 trillion ceiling for Democrats' reconciliation bill",
                  "Manchin sets $1.5 trillion ceiling for Democrats' reconciliation bill")
    ids = run(cl, [(GEORGIA, T0), (MANCHIN, T0 + 10), (flash, T0 + 20)])
    assert ids[2] == ids[1]


def test_cross_lingual_pair_with_same_names_and_numbers_joins_in_shard_all():
    en = story("x-en", "Xi Jinping meets Mikhail Mishustin in Beijing, 14 agreements signed",
               "Chinese President Xi Jinping met Russian Prime Minister Mikhail Mishustin in Beijing on Tuesday. "
               "Xi Jinping named the UN, the SCO, BRICS and the G20. "
               "Mishustin said trade reached 237 billion dollars in 2024.", lang="en", shard="all")
    es = story("x-es", "Xi Jinping recibe a Mikhail Mishustin en Pekín; firman 14 acuerdos",
               "El presidente chino Xi Jinping se reunió el martes en Pekín con el primer ministro ruso Mikhail "
               "Mishustin. Xi Jinping mencionó a la ONU, la OCS, los BRICS y el G20. "
               "Mishustin dijo que el comercio alcanzó 237.000 millones de dólares en 2024.", lang="es", shard="all")
    other = story("o-es", "El Real Madrid gana la Liga por 36 vez",
                  "El Real Madrid ganó el domingo su trigésimo sexto título de Liga tras vencer al Cádiz.",
                  lang="es", shard="all")
    cl = Clusterer({}, window_seconds=3 * DAY)
    ids = run(cl, [(GEORGIA, T0), (en, T0 + 10), (other, T0 + 20), (es, T0 + 3600)])
    assert ids[3] == ids[1]
    assert ids[2] != ids[1]
    # the English event now holds both languages; a third language with the same names joins too
    pt = story("x-pt", "Xi Jinping recebe Mikhail Mishustin em Pequim; 14 acordos assinados",
               "O presidente chinês Xi Jinping recebeu o primeiro-ministro russo Mikhail Mishustin. "
               "O comércio chegou a 237 bilhões de dólares em 2024.", lang="pt", shard="all")
    assert cl.best_event(pt, T0 + 7200)[0] == ids[1]


def test_same_story_in_another_shard_never_matches():
    cl = Clusterer({}, window_seconds=3 * DAY)
    fr = story("f2-fr", FAUCI_2.headline, " ".join(FAUCI_2.sentences), lang="fr")
    ids = run(cl, [(FAUCI_1, T0), (fr, T0 + 1)])
    assert ids[0] != ids[1]


def test_recency_decay_lowers_the_score():
    cl = Clusterer({}, window_seconds=10 * DAY)
    cl.add("ev-f", FAUCI_1, T0)
    _, fresh = cl.best_event(FAUCI_2, T0 + 600)
    cl2 = Clusterer({}, window_seconds=10 * DAY)
    cl2.add("ev-f", FAUCI_1, T0)
    _, stale = cl2.best_event(FAUCI_2, T0 + 2 * DAY)
    assert stale < fresh


# --- expiry ------------------------------------------------------------------------------------

def test_events_expire_after_the_window_of_stream_time():
    profiles: dict = {}
    cl = Clusterer(profiles, window_seconds=1 * DAY)
    cl.add("ev-f", FAUCI_1, T0)
    cl.add("ev-g", GEORGIA, T0 + 0.8 * DAY)
    # a story well inside the window still finds the event
    assert cl.best_event(FAUCI_2, T0 + 0.9 * DAY)[0] == "ev-f"
    # once stream time passes last update + window, the event is gone from the index and the profiles
    cl.add("ev-m", MANCHIN, T0 + 1.2 * DAY)
    assert "ev-f" not in profiles and "ev-g" in profiles
    assert cl.best_event(FAUCI_2, T0 + 1.2 * DAY)[0] is None
    assert all("ev-f" not in d for s in cl._shards.values() for d in s.postings.values())
    # a late (out-of-order) story does not move stream time backwards nor resurrect anything
    assert cl.best_event(FAUCI_2, T0 + 0.5 * DAY)[0] is None


def test_an_update_keeps_an_event_alive():
    profiles: dict = {}
    cl = Clusterer(profiles, window_seconds=1 * DAY)
    cl.add("ev-f", FAUCI_1, T0)
    cl.add("ev-f", FAUCI_2, T0 + 0.9 * DAY)
    cl.add("ev-m", MANCHIN, T0 + 1.5 * DAY)
    assert "ev-f" in profiles  # last update at 0.9 day: alive until 1.9
    cl.add("ev-g", GEORGIA, T0 + 2.0 * DAY)
    assert "ev-f" not in profiles


# --- determinism and rebuild -------------------------------------------------------------------

def _synthetic_stream() -> list[tuple[EnrichedStory, float]]:
    base = [FAUCI_1, GEORGIA, FAUCI_2, MANCHIN, SYRIA]
    out = []
    for k in range(6):
        for j, s in enumerate(base):
            body = " ".join(s.sentences) + f" Officials counted {100 + 7 * k + j} cases in district {k}."
            out.append((story(f"{s.story.uri}-{k}", s.headline, body), T0 + (k * 5 + j) * 3600.0))
    return out


def test_decisions_are_deterministic():
    stream = _synthetic_stream()
    p1: dict = {}
    p2: dict = {}
    a = run(Clusterer(p1, window_seconds=3 * DAY), stream)
    b = run(Clusterer(p2, window_seconds=3 * DAY), stream)
    assert a == b and p1 == p2


_SUBPROCESS = """
import json, sys
sys.path.insert(0, {tests!r})
from test_clusterer import Clusterer, _synthetic_stream, run
profiles = {{}}
ids = run(Clusterer(profiles, window_seconds=3 * 86400.0), _synthetic_stream())
print(json.dumps([ids, profiles], sort_keys=True))
"""


def test_decisions_do_not_depend_on_hash_seed():
    code = _SUBPROCESS.format(tests=str(Path(__file__).parent))
    outs = []
    for seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                             check=True)
        outs.append(res.stdout)
    assert outs[0] == outs[1]


def test_rebuild_index_gives_identical_decisions():
    stream = _synthetic_stream()
    half = len(stream) // 2
    live: dict = {}
    cl = Clusterer(live, window_seconds=0.5 * DAY)
    first = run(cl, stream[:half])
    # a recovered worker: a fresh clusterer over a copy of the (changelog-restored) profiles
    restored = copy.deepcopy(live)
    cl_restored = Clusterer(restored, window_seconds=0.5 * DAY)
    # and the running one rebuilding its own caches
    cl.rebuild_index()
    rest_a = run(cl, stream[half:])
    rest_b = run(cl_restored, stream[half:])
    assert rest_a == rest_b
    assert live == restored
    # against a clusterer that never rebuilt at all
    never: dict = {}
    cl_never = Clusterer(never, window_seconds=0.5 * DAY)
    assert run(cl_never, stream) == first + rest_a


# --- inverted index ----------------------------------------------------------------------------

def test_candidates_come_only_from_shared_terms():
    profiles: dict = {}
    cl = Clusterer(profiles, window_seconds=3 * DAY)
    cl.add("ev-f", FAUCI_1, T0)
    cl.add("ev-g", GEORGIA, T0)
    cl.add("ev-s", SYRIA, T0)
    st_ = cl._shard("en")
    cands = cl.candidates(cl.features(FAUCI_2, st_), st_)
    assert cands[0] == "ev-f"
    assert "ev-s" not in cands  # shares no rare-ish term with the Fauci story: never scored


def test_posting_lists_are_read_only_for_their_most_recent_events():
    cfg = ClusterConfig(posting_cap=4, posting_budget=4, candidates=50)
    profiles: dict = {}
    cl = Clusterer(profiles, window_seconds=30 * DAY, config=cfg)
    for i in range(20):
        s = story(f"z{i}", f"Zorblatt festival day {i}", f"The Zorblatt festival drew crowds on day {i} of 20.")
        cl.add(f"ev-{i:02d}", s, T0 + i)
    st_ = cl._shard("en")
    q = story("zq", "Zorblatt festival", "The Zorblatt festival continued.")
    cands = cl.candidates(cl.features(q, st_), st_)
    assert set(cands) == {"ev-19", "ev-18", "ev-17", "ev-16"}


# --- time, baseline, suite table ----------------------------------------------------------------

def test_time_counts_only_when_the_stream_carries_it():
    undated: dict = {}
    cl = Clusterer(undated, window_seconds=3 * DAY)
    cl.add("ev-f", FAUCI_1, T0)
    st_ = cl._advance("en", T0)
    assert cl.hours(st_, undated["ev-f"], T0) is None  # every story stamped alike: no time at all
    dated: dict = {}
    cl = Clusterer(dated, window_seconds=3 * DAY)
    cl.add("ev-f", FAUCI_1, T0)
    st_ = cl._advance("en", T0 + 7200)
    assert cl.hours(st_, dated["ev-f"], T0 + 7200) == pytest.approx(2.0)
    # the same pair scores lower the longer the event has been quiet
    sf = cl.features(FAUCI_2, st_)
    scores = [cl.score(sf, dated["ev-f"], T0 + h * 3600.0, "en", st_) for h in (1, 24, 60)]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]


@settings(deadline=None)  # four whole streams per example: no timing test, and the machine is shared
@given(shift=st.integers(min_value=-10**9, max_value=10**9))
def test_decisions_depend_on_time_differences_only(shift: int):
    stream = _synthetic_stream()
    shifted = [(s, t + shift) for s, t in stream]
    assert run(Clusterer({}, window_seconds=3 * DAY), stream) == run(Clusterer({}, window_seconds=3 * DAY), shifted)
    # a stream without time (every story stamped alike) decides the same whatever that stamp is
    undated = [(s, float(T0)) for s, _ in stream]
    moved = [(s, float(T0 + shift)) for s, _ in stream]
    assert run(Clusterer({}, window_seconds=3 * DAY), undated) == run(Clusterer({}, window_seconds=3 * DAY), moved)


@settings(deadline=None)  # the first example may load the semantic model: no timing test
@given(a=st.floats(min_value=0.0, max_value=72.0), b=st.floats(min_value=0.0, max_value=72.0))
def test_a_longer_quiet_event_never_scores_higher(a: float, b: float):
    profiles: dict = {}
    cl = Clusterer(profiles, window_seconds=3 * DAY)
    cl.add("ev-f", FAUCI_1, T0)
    st_ = cl._advance("en", T0 + 1.0)
    sf = cl.features(FAUCI_2, st_)
    early, late = sorted((a, b))
    assert (cl.score(sf, profiles["ev-f"], T0 + early * 3600.0, "en", st_)
            >= cl.score(sf, profiles["ev-f"], T0 + late * 3600.0, "en", st_))


def test_baseline_joins_the_same_event_and_splits_others():
    from streams.eval.baseline import cluster_baseline

    assert cluster_baseline([FAUCI_1, GEORGIA, FAUCI_2, None, SYRIA]) == [0, 1, 0, None, 2]


def test_eval_prints_one_table_for_several_files(tmp_path, capsys):
    from streams.eval.clustering import main

    rows = [{"uri": s.story.uri, "headline": s.headline, "body_text": s.story.body_text, "_gold": gold}
            for s, gold in ((FAUCI_1, "f"), (GEORGIA, "g"), (FAUCI_2, "f"), (SYRIA, "s"), (MANCHIN, "m"))]
    path = tmp_path / "mini.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert main([str(path), f"{path}:headlines"]) == 0
    out = capsys.readouterr().out
    assert "mini.jsonl:headlines" in out and "macro average" in out and "baseline F1" in out
    assert main([str(tmp_path / "absent.jsonl")]) == 2
    assert main(["--json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["scored"] == 5


# --- dev data ----------------------------------------------------------------------------------

# B-cubed F1 of the shipped configuration on the dev suite (``wirestream eval clustering --suite``),
# each floor just under what it reaches (0.923 / 0.867 / 0.741 / 0.671 with the semantic model,
# 0.919 / 0.866 / 0.737 / 0.665 without it); and it must beat the committed baseline
# on every file, by the 0.03 with the model (+0.031 and +0.032 on the two title + lead files),
# 0.02 without.
SUITE_FLOORS = {
    "cluster-dev-stream.jsonl": 0.917,
    "cluster-dev-multinews.jsonl": 0.86,
    "cluster-dev.jsonl": 0.735,
    "cluster-dev.jsonl:headlines": 0.66,
}


@pytest.mark.devdata
@pytest.mark.slow
@pytest.mark.timeout(900)  # a whole file and its baseline: over 300 s on a loaded 2-core machine
@pytest.mark.parametrize("name", list(SUITE_FLOORS))
def test_dev_suite_bcubed_regression(name: str):
    from streams.eval.clustering import HEADLINES, evaluate_prepared, load

    if not (DATA / name.removesuffix(HEADLINES)).exists():
        pytest.skip("shared dev data absent")
    result = evaluate_prepared(load(str(DATA / name)))
    assert result["scored"] == result["stories"] > 0
    f1 = result["bcubed"]["f1"]
    assert f1 >= SUITE_FLOORS[name], result
    from streams.core import embedding

    margin = 0.03 if embedding.load() is not None else 0.02
    assert f1 >= result["baseline"]["bcubed"]["f1"] + margin, result


# --- semantic signal (optional: the tests never need the model) ----------------------------------

def test_clusterer_works_without_the_semantic_model():
    profiles: dict = {}
    cl = Clusterer(profiles, window_seconds=3 * DAY, config=ClusterConfig(semantic=False))
    assert cl.embedder is None and cl.weights == cl.cfg.weights_plain and cl.threshold == cl.cfg.threshold_plain
    ids = run(cl, [(FAUCI_1, T0), (GEORGIA, T0 + 60), (FAUCI_2, T0 + 120), (MANCHIN, T0 + 180), (SYRIA, T0 + 240)])
    assert ids[2] == ids[0] and len({ids[0], ids[1], ids[3], ids[4]}) == 4
    assert all("s" not in p for p in profiles.values())


def test_semantic_vectors_from_the_shipped_model():
    from streams.core import embedding

    model = embedding.load()
    if model is None:
        pytest.skip("wordllama not installed: the clusterer runs without the semantic signal")
    quake = model.embed("Earthquake kills 12 in eastern Turkey as rescuers search the rubble")
    again = model.embed("Earthquake kills 12 in eastern Turkey as rescuers search the rubble")
    tremor = model.embed("Dozen dead after strong tremor hits Turkish province")
    rates = model.embed("Central bank raises interest rates by a quarter point")
    assert quake.dtype == np.int8 and quake.shape == (embedding.DIM,) and int(np.abs(quake).max()) == 127
    assert np.array_equal(quake, again)
    assert np.array_equal(embedding.decode(embedding.encode(quake)), quake)

    def cos(a, b):
        return float(cosine_int8(a, b))

    assert cos(quake, tremor) > cos(quake, rates) + 0.2
    assert model.embed("") is None
    # an event keeps its semantic centroid in its profile, as JSON text
    profiles: dict = {}
    cl = Clusterer(profiles, window_seconds=3 * DAY)
    ids = run(cl, [(FAUCI_1, T0), (FAUCI_2, T0 + 60)])
    p = profiles[ids[0]]
    assert isinstance(p["s"], str) and embedding.decode(p["s"]).shape == (embedding.DIM,)
    assert json.loads(json.dumps(p)) == p


def cosine_int8(a, b) -> float:
    a = a.astype(np.int64)
    b = b.astype(np.int64)
    return float(a @ b) / float(np.sqrt(float(a @ a) * float(b @ b)))


def test_an_unreadable_semantic_model_falls_back_with_one_warning(tmp_path, monkeypatch, caplog):
    pytest.importorskip("tokenizers")
    pytest.importorskip("safetensors")
    from streams.core import embedding

    (tmp_path / "tokenizers").mkdir()
    (tmp_path / "tokenizers" / "l2_supercat_tokenizer_config.json").write_text("{not json")
    monkeypatch.setattr(embedding.resources, "files", lambda package: tmp_path)
    with caplog.at_level("WARNING", logger="streams.core.embedding"):
        assert embedding._load("l2_supercat") is None
    lines = [r for r in caplog.records if r.name == "streams.core.embedding"]
    assert len(lines) == 1 and lines[0].levelname == "WARNING" and lines[0].exc_info is None
    message = lines[0].getMessage()
    assert "word-only weights" in message and "\n" not in message


# --- the decoded-centroid cache (a speed path: same bits as ``sem_cosines``) ----------------------

_int8_vectors = st.lists(st.integers(-127, 127), min_size=256, max_size=256).map(lambda xs: np.array(xs, dtype=np.int8))


@settings(max_examples=60, deadline=None)
@given(story_vec=st.one_of(st.none(), _int8_vectors, st.just(np.zeros(256, dtype=np.int8))),
       events=st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.one_of(st.none(), _int8_vectors)),
                       max_size=8),
       rounds=st.integers(1, 3))
def test_cached_semantic_cosines_are_sem_cosines(story_vec, events, rounds):
    """The clusterer's cached path gives the plain definition's floats bit for bit, also when a
    profile's centroid changes between calls (the cache is checked against the profile's text)."""
    import dataclasses
    import struct

    from streams.core import embedding
    from streams.core.clusterer import sem_cosines
    from streams.core.features import StoryFeatures

    cl = Clusterer({}, window_seconds=3 * DAY, config=ClusterConfig(semantic=False))
    sf = StoryFeatures(body={}, head={}, names={}, numbers=(), idf={}, sem=story_vec)
    for r in range(rounds):
        profiles: dict[str, dict] = {}
        for event_id, vec in events:
            p = profiles.setdefault(event_id, {})
            if vec is not None:
                p["s"] = embedding.encode(np.roll(vec, r))  # another centroid in each round
            else:
                p.pop("s", None)
        found = list(profiles.items())
        fast = cl._sem_cosines(sf, found)
        plain = sem_cosines(sf, [p for _, p in found])
        assert [struct.pack("<d", x) for x in fast] == [struct.pack("<d", x) for x in plain]
        assert fast == sem_cosines(dataclasses.replace(sf), [p for _, p in found])


def test_centroid_cache_follows_the_profiles():
    """Entries are refreshed by ``add``, dropped on expiry and on ``rebuild_index``."""
    from streams.core import embedding

    if embedding.load() is None:
        pytest.skip("wordllama not installed: no semantic centroids")
    profiles: dict = {}
    cl = Clusterer(profiles, window_seconds=3 * DAY)
    ids = run(cl, [(FAUCI_1, T0), (FAUCI_2, T0 + 60), (GEORGIA, T0 + 120)])
    for event_id in set(ids):
        assert cl._sem[event_id][0] is profiles[event_id]["s"]
        assert np.array_equal(cl._sem[event_id][1], embedding.decode(profiles[event_id]["s"]))
    run(cl, [(MANCHIN, T0 + 5 * DAY)])  # the others expire
    assert set(cl._sem) <= set(profiles) and ids[0] not in cl._sem
    cl.rebuild_index()
    assert cl._sem == {}


@settings(max_examples=80, deadline=None)
@given(ids=st.lists(st.integers(0, 31_999), min_size=1, max_size=256),
       words=st.lists(st.sampled_from(["Earthquake", "kills", "12", "in", "eastern", "Turkey", "rescuers", "—",
                                       "Dozen", "dead", "Zentralbank", "ставку", "利率", "x"]), max_size=40))
def test_embed_is_its_definition(ids, words):
    """``embed`` sums the token rows by take + add.reduce: the same float32 bits as the plain
    ``matrix[ids].sum(axis=0)``, so the same int8 vector."""
    from streams.core import embedding

    model = embedding.load()
    if model is None:
        pytest.skip("wordllama not installed")
    m = model._matrix
    assert np.add.reduce(m.take(ids, axis=0), axis=0).tobytes() == m[ids].sum(axis=0).tobytes()
    text = " ".join(words)
    token_ids = model.token_ids(text)
    plain = embedding.quantize(m[token_ids].sum(axis=0)) if token_ids else None
    fast = model.embed(text)
    assert (fast is None and plain is None) or fast.tobytes() == plain.tobytes()


def _merge_top_by_definition(terms, weights, vec, quant, k):
    acc = dict(zip(terms, weights))
    for t, x in vec.items():
        q = round(x * quant)
        if q > 0:
            acc[t] = acc.get(t, 0) + q
    top = sorted(acc.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return [t for t, _ in top], [w for _, w in top]


_terms = st.text(alphabet="abcé#1", min_size=1, max_size=3)


@settings(max_examples=300, deadline=None)
@given(profile=st.dictionaries(_terms, st.integers(1, 400), max_size=30),
       vec=st.dictionaries(_terms, st.floats(0.0, 1.0), max_size=30), k=st.integers(0, 40))
def test_merge_top_is_its_definition(profile, vec, k):
    """The profile merge sorts (-weight, term) pairs: the same lists (values and types) as the sort
    keyed on them, ties between equal weights included."""
    from streams.core.clusterer import _merge_top

    terms, weights = list(profile), list(profile.values())
    fast = _merge_top(terms, weights, vec, 200.0, k)
    plain = _merge_top_by_definition(terms, weights, vec, 200.0, k)
    assert fast == plain and [type(w) for w in fast[1]] == [type(w) for w in plain[1]]


# --- the join decision over the top candidate ------------------------------------------------------

def _pair(body: float, head: float, names: float, sem: float) -> list[float]:
    from streams.core.clusterer import FEATURE_NAMES

    f = [0.0] * len(FEATURE_NAMES)
    for name, value in (("body_cos", body), ("head_cos", head), ("names_cos", names), ("sem_cos", sem),
                        ("bias", 1.0)):
        f[FEATURE_NAMES.index(name)] = value
    return f


def test_join_features_describe_the_top_candidate_against_the_others():
    from streams.core.clusterer import JOIN_FEATURE_NAMES, join_features

    scored = [("a", {"n": 3}, _pair(0.5, 0.1, 0.2, -0.2), 0.3),
              ("b", {"n": 7}, _pair(0.4, 0.6, 0.0, -0.1), 0.8),
              ("c", {"n": 1}, _pair(0.2, 0.0, 0.1, -0.3), 0.5)]
    x = dict(zip(JOIN_FEATURE_NAMES, join_features(scored, 1, None, 0.4), strict=True))
    assert x["top_p"] == 0.8 and x["second_p"] == 0.5 and abs(x["margin"] - 0.3) < 1e-12
    assert x["best_body"] == 0.0 and abs(x["gap_body"] + 0.1) < 1e-12  # "a" has the better body cosine
    assert x["best_head"] == 1.0 and x["best_sem"] == 1.0 and abs(x["gap_sem"] - 0.1) < 1e-12  # negative cosines
    assert x["index_rank"] == 1 / 16 and x["event_age"] == 0.0 and x["event_size_raw"] > 0
    only = [("b", {"n": 7}, _pair(0.4, 0.6, 0.0, 0.2), 0.8)]
    alone = dict(zip(JOIN_FEATURE_NAMES, join_features(only, 0, 24.0, 0.4), strict=True))
    assert alone["second_p"] == 0.0 and alone["best_body"] == alone["best_sem"] == 1.0 and alone["event_age"] > 0


def test_join_decision_is_used_only_with_the_semantic_model():
    cfg = ClusterConfig(semantic=False)
    assert cfg.join_weights  # shipped, but fitted with the semantic features
    cl = Clusterer({}, window_seconds=3 * DAY, config=cfg)
    assert cl.join_weights == ()


def test_join_decision_weights_match_the_features():
    from streams.core.clusterer import DEFAULT_CONFIG, JOIN_FEATURE_NAMES

    assert len(DEFAULT_CONFIG.join_weights) in (0, len(JOIN_FEATURE_NAMES) + 1)
