"""The default embedder on real text: unit rows, meaning, order, agreement with PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

from paperwire.errors import ConfigError
from paperwire.index import embedder as emb
from paperwire.index import minilm
from tests.shared_data import arxiv_records

PAIRS = [
    # (text, paraphrase, unrelated)
    ("Graph neural networks predict the properties of molecules.",
     "Using GNNs to forecast chemical compound properties.",
     "The bakery on the corner sells sourdough bread on Sundays."),
    ("We prove a lower bound on the query complexity of sorting.",
     "A lower bound for how many comparisons sorting needs is shown.",
     "Dark matter halos shape the rotation curves of spiral galaxies."),
]


@pytest.fixture(scope="module")
def default() -> emb.Embedder:
    missing = emb.missing_packages(emb.DEFAULT_RUNTIME)
    if missing:
        pytest.skip(f"default embedder {emb.DEFAULT_RUNTIME!r} needs {', '.join(missing)}: "
                    "pip install 'paperwire[embed]'")
    return emb.load_embedder("auto", threads=2)


@pytest.fixture(scope="module")
def abstracts() -> list[str]:
    return [f"{r['title']}. {r['summary']}" for r in arxiv_records(12)]


def test_auto_loads_the_measured_default(default: emb.Embedder) -> None:
    assert default.name == emb.DEFAULT_RUNTIME
    assert isinstance(default, emb.Embedder)
    assert (default.model, default.dim) == ("all-MiniLM-L6-v2", 384)


def test_rows_are_unit_float32_in_input_order(default: emb.Embedder,
                                              abstracts: list[str]) -> None:
    texts = ["a short title", *abstracts, ""]
    vectors = default.embed(texts, batch_size=4)
    assert vectors.shape == (len(texts), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    one_by_one = np.stack([default.embed([t])[0] for t in texts])
    assert np.einsum("ij,ij->i", vectors, one_by_one).min() > 0.999
    assert default.embed([]).shape == (0, 384)


def test_a_paraphrase_is_closer_than_an_unrelated_sentence(default: emb.Embedder) -> None:
    for text, paraphrase, unrelated in PAIRS:
        v = default.embed([text, paraphrase, unrelated])
        assert v[0] @ v[1] > v[0] @ v[2] + 0.2, (text, v[0] @ v[1], v[0] @ v[2])


@pytest.mark.heavy
def test_agrees_with_pytorch(default: emb.Embedder, abstracts: list[str]) -> None:
    if emb.missing_packages("torch"):
        pytest.skip("PyTorch runtime not installed (pip install torch==2.13.0 && "
                    "pip install 'paperwire[torch]')")
    reference = emb.load_embedder("torch", threads=2)
    texts = [*abstracts, *(t for pair in PAIRS for t in pair)]
    cosines = np.einsum("ij,ij->i", default.embed(texts), reference.embed(texts))
    assert cosines.min() >= 0.98, cosines


def test_mean_pool_ignores_padding() -> None:
    hidden = np.array([[[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]], dtype=np.float32)
    pooled = emb.mean_pool(hidden, np.array([[1, 1, 0]]))
    np.testing.assert_allclose(pooled, [[2**-0.5, 2**-0.5]], rtol=1e-6)


def test_unknown_or_uninstalled_runtime_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="unknown embedder 'bert'"):
        emb.load_embedder("bert")
    monkeypatch.setitem(emb._NEEDS, "torch", ("no_such_module_for_paperwire",))
    with pytest.raises(ConfigError, match=r"pip install torch==2\.13\.0"):
        emb.load_embedder("torch")
    for runtime in emb.RUNTIMES:
        monkeypatch.setitem(emb._NEEDS, runtime, ("no_such_module_for_paperwire",))
    with pytest.raises(ConfigError, match=r"paperwire\[embed\]"):
        emb.load_embedder("auto")


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    centred = x - x.mean(axis=-1, keepdims=True)
    normed: np.ndarray = centred / np.sqrt((centred ** 2).mean(axis=-1, keepdims=True) + 1e-12)
    out: np.ndarray = normed * gamma + beta
    return out


def _bert_in_numpy(w: dict[str, np.ndarray], ids: list[int]) -> np.ndarray:
    """BERT's forward pass for one text, written out from the paper, in float64."""
    from scipy.special import erf

    e = "embeddings."
    x = (w[e + "word_embeddings.weight"][ids] + w[e + "position_embeddings.weight"][:len(ids)]
         + w[e + "token_type_embeddings.weight"][0])
    x = _layer_norm(x, w[e + "LayerNorm.weight"], w[e + "LayerNorm.bias"])
    for i in range(6):
        p = f"encoder.layer.{i}."
        q, k, v = (x @ w[p + f"attention.self.{n}.weight"] + w[p + f"attention.self.{n}.bias"]
                   for n in ("query", "key", "value"))
        heads = [slice(h * 32, (h + 1) * 32) for h in range(12)]
        context = []
        for h in heads:
            scores = q[:, h] @ k[:, h].T / np.sqrt(32)
            probs = np.exp(scores - scores.max(axis=1, keepdims=True))
            context.append(probs / probs.sum(axis=1, keepdims=True) @ v[:, h])
        out = np.concatenate(context, axis=1) @ w[p + "attention.output.dense.weight"]
        x = _layer_norm(out + w[p + "attention.output.dense.bias"] + x,
                        w[p + "attention.output.LayerNorm.weight"],
                        w[p + "attention.output.LayerNorm.bias"])
        inner = x @ w[p + "intermediate.dense.weight"] + w[p + "intermediate.dense.bias"]
        inner = inner * 0.5 * (1 + erf(inner / np.sqrt(2)))
        out = inner @ w[p + "output.dense.weight"] + w[p + "output.dense.bias"]
        x = _layer_norm(out + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    return x


def test_the_fp32_graph_computes_bert(abstracts: list[str]) -> None:
    # The hand-built graph (fused attention, layer norms written out) against BERT in plain
    # numpy on the same weights: a wrong axis, epsilon or residual shows at once.
    if emb.missing_packages("onnx-fp32"):
        pytest.skip("onnx-fp32 needs paperwire[embed]")
    fp32 = emb.OnnxEmbedder(quantized=False, threads=1)
    _, weights = minilm.load_weights(prefer_fp32=True)
    w64 = {k: v.astype(np.float64) for k, v in weights.items()}
    for text in (abstracts[0], "a short title"):
        ids = fp32.tokenizer.encode(text).ids
        feed = np.asarray([ids], dtype=np.int32)
        (hidden,) = fp32.session.run(None, {"input_ids": feed, "attention_mask":
                                            np.ones_like(feed), "token_type_ids":
                                            np.zeros_like(feed)})
        np.testing.assert_allclose(hidden[0], _bert_in_numpy(w64, ids), atol=2e-4)
