"""A cheap semantic signal for clustering: static token embeddings, mean-pooled per story.

The vectors are WordLlama's ``l2_supercat_256`` (32,000 Llama-2 tokens x 256 dimensions, trained
for mean pooling), shipped *inside* the ``wordllama`` wheel with its tokenizer: nothing is fetched
at run time. Only the two files are read (the ``tokenizers`` and ``safetensors`` libraries); the
package's own loader would look for them in the wrong folder and then try the network.

A story's vector is the mean of its tokens' vectors, L2-normalized and quantized to int8 (scaled
so its largest component is 127): an event keeps its centroid as 256 bytes, and cosines are exact
integer dot products, so decisions do not depend on the floating-point path of the machine.

When ``wordllama`` is not installed, ``load()`` returns None and the clusterer scores without it
(with the weights fitted without it).
"""

from __future__ import annotations

import base64
import logging
import threading
from importlib import resources

import numpy as np

__all__ = ["DIM", "Embedder", "decode", "encode", "load", "quantize"]

DIM = 256
MAX_TOKENS = 256  # a headline + lead fits; longer text adds cost, not meaning
_log = logging.getLogger(__name__)
_lock = threading.Lock()
_loaded: dict[str, Embedder | None] = {}


_WORD_CACHE = 200_000  # words whose token ids are kept before the cache starts over


class Embedder:
    """Mean-pooled static token embeddings (int8 unit vectors)."""

    def __init__(self, tokenizer, matrix: np.ndarray) -> None:
        self._tokenizer = tokenizer
        self._matrix = matrix  # (vocab, DIM) float32
        self._words: dict[str, list[int]] = {}  # word -> its token ids (a pure function of the word)

    def token_ids(self, text: str) -> list[int]:
        """Token ids of the text's words, each word tokenized alone (SentencePiece pieces never span a
        space, so this is the whole text's tokenization; and a word's ids are cached: BPE over a whole
        text as one piece costs ~1 ms)."""
        words = self._words
        if len(words) > _WORD_CACHE:
            words.clear()
        ids: list[int] = []
        for w in text.split():
            t = words.get(w)
            if t is None:
                t = words[w] = self._tokenizer.encode(w, add_special_tokens=False).ids
            ids.extend(t)
            if len(ids) >= MAX_TOKENS:
                return ids[:MAX_TOKENS]
        return ids

    def embed(self, text: str) -> np.ndarray | None:
        """The text's int8 vector, None when it has no token."""
        ids = self.token_ids(text)
        if not ids:
            return None
        # take + add.reduce: the same rows and the same reduction as ``matrix[ids].sum(axis=0)``
        # (so the same float32 bits), without fancy indexing's and ``sum``'s Python-level overhead
        return quantize(np.add.reduce(self._matrix.take(ids, axis=0), axis=0))


def quantize(v: np.ndarray) -> np.ndarray | None:
    """int8 direction of ``v`` (largest component = +-127), None for the zero vector."""
    m = float(np.max(np.abs(v)))
    if not m > 0.0:
        return None
    return np.rint(v * (127.0 / m)).astype(np.int8)


def encode(v: np.ndarray) -> str:
    """int8 vector -> compact JSON-able text (base64 of its bytes)."""
    return base64.b64encode(v.astype(np.int8).tobytes()).decode("ascii")


def decode(s: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype=np.int8)


def load(model: str = "l2_supercat") -> Embedder | None:
    """The shipped model (loaded once per process), or None when ``wordllama`` is not installed."""
    if model in _loaded:
        return _loaded[model]
    with _lock:
        if model not in _loaded:
            _loaded[model] = _load(model)
        return _loaded[model]


def _load(model: str) -> Embedder | None:
    try:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        root = resources.files("wordllama")
    except ImportError as exc:
        _log.warning("semantic model not installed (%s): event clustering uses its word-only weights", exc)
        return None
    try:
        tokenizer = Tokenizer.from_file(str(root / "tokenizers" / f"{model}_tokenizer_config.json"))
        matrix = load_file(str(root / "weights" / f"{model}_{DIM}.safetensors"))["embedding.weight"]
    except Exception as exc:  # noqa: BLE001 - unreadable files (tokenizers raises plain Exception)
        # clustering goes on without the semantic signal; one line, no traceback
        _log.warning("cannot read the semantic model %r in %s (%s: %s): event clustering uses its word-only weights",
                     model, root, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        return None
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return Embedder(tokenizer, np.ascontiguousarray(matrix, dtype=np.float32))  # float16 sums are slow in numpy
