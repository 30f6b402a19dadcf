"""A trained LinearModel as bytes and back, so a model trained in one process is reused in another.

A model is only meaningful over the feature space it was fitted in (its word weights are
indexed by that space's vocabulary), so the bytes carry ``space_key(space)`` and ``load``
refuses a model from any other space. They carry no pickle: plain arrays and a JSON header,
compressed, behind a SHA-256 of the whole, so a damaged or truncated copy is refused
(``SavedModelError``) rather than half read. Positives and "not interested" rows are kept as
ids and sliced from the space again on load; the calibration is computed before saving, so
a loaded model never refits.
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
import zlib
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from paperwire.recommend import Corpus
from paperwire.recommend.calibration import Calibration
from paperwire.recommend.features import (
    FeatureSpace,
    Rows,
    _author_rows,
    team_of,
    word_vectorizer,
)
from paperwire.recommend.fusion import Fusion, Habits
from paperwire.recommend.scoring import LinearModel, Terms

__all__ = ["FORMAT", "SavedModelError", "dump", "dump_vocabulary", "load", "space_key",
           "space_from_vocabulary", "vocabulary_of"]

FORMAT = 1
MAGIC = b"PWRM"
PASTED = "(pasted)"  # linear._pasted's id for a pasted abstract's row

_KEYS: dict[int, tuple[weakref.ref[FeatureSpace], str]] = {}
_KEYS_LOCK = threading.Lock()


class SavedModelError(ValueError):
    """Bytes that are not a whole saved model of this format and space."""


def space_key(space: FeatureSpace) -> str:
    """Names the space a model's weights index: its vocabulary, IDF, authors, and whether
    it has MiniLM vectors. Two processes that fitted on the same papers agree on it."""
    with _KEYS_LOCK:
        kept = _KEYS.get(id(space))
        if kept is not None and kept[0]() is space:
            return kept[1]
    digest = hashlib.sha256()
    digest.update("\n".join(map(str, space.vocabulary)).encode())
    digest.update(np.asarray(getattr(space.vectorizer, "idf_", []), dtype=np.float32).tobytes())
    digest.update("\n".join(space.author_names).encode())
    digest.update(b"vectors" if space.vectors is not None else b"words")
    key = digest.hexdigest()[:32]
    with _KEYS_LOCK:
        for stale in [k for k, (ref, _) in _KEYS.items() if ref() is None]:
            del _KEYS[stale]
        _KEYS[id(space)] = (weakref.ref(space), key)
    return key


def _sparse(values: NDArray[Any]) -> tuple[NDArray[Any], NDArray[np.float16]]:
    """The nonzero weights as (gaps between their columns, float16 values): a 200-positive
    model touches ~15,000 words, and float32 values with int32 columns made it ~180 KB.
    The weights were rounded to float16 when fitted (scoring.Design.split): nothing is
    lost. Gaps fit uint16 (and compress) unless a space has 65,536 columns between two."""
    at = np.flatnonzero(values)
    gaps = np.diff(at, prepend=0)
    kind = np.uint16 if not len(gaps) or int(gaps.max()) < 2 ** 16 else np.int32
    return gaps.astype(kind), np.asarray(values[at], dtype=np.float16)


def _dense(arrays: dict[str, NDArray[Any]], name: str, n: int) -> NDArray[np.float32]:
    out = np.zeros(n, dtype=np.float32)
    if f"{name}_gaps" in arrays:
        at = np.cumsum(arrays[f"{name}_gaps"].astype(np.int64))
    else:  # kept before the gaps: absolute columns
        at = arrays[f"{name}_at"]
    out[at] = arrays[name]
    return out


def dump(model: LinearModel, extra: dict[str, Any] | None = None) -> bytes:
    """The model (calibrated first: that is three refits) and ``extra`` (JSON) as bytes."""
    calibration = model.calibration()
    space = model.space
    pos = model.positives
    pasted = PASTED in pos.ids
    arrays: dict[str, NDArray[Any]] = {}
    meta: dict[str, Any] = {
        "format": FORMAT, "space": space_key(space), "extra": extra or {},
        "positives": [i for i in pos.ids if i != PASTED], "pasted": pasted,
        "negatives": list(model.negatives.ids) if model.negatives is not None else None,
        "followed": sorted(model.followed), "trending": model.trending,
        "spread": model.spread, "prior_logit": model.prior_logit,
        "terms": model.terms is not None, "calibration": None,
        "fusion": list(model.fusion.weights) if model.fusion is not None else None,
        "habits": [model.habits.newer, model.habits.voted],
        "n_words": len(space.vocabulary), "n_authors": len(space.author_index)}
    if model.terms is not None:
        t = model.terms
        arrays["words_gaps"], arrays["words"] = _sparse(t.words)
        arrays["authors_gaps"], arrays["authors"] = _sparse(t.authors)
        if t.vectors is not None:
            # float32: 384 values, and MEANING * a float16 weight may not be one itself.
            arrays["vectors"] = np.asarray(t.vectors, dtype=np.float32)
        meta["bias"] = t.bias
    if calibration is not None:
        # float32, as linear._calibrate rounds them.
        arrays["cal_pos"] = np.asarray(calibration.positives, dtype=np.float32)
        arrays["cal_bg"] = np.asarray(calibration.background, dtype=np.float32)
        meta["calibration"] = [calibration.prior, calibration.papers_per_day]
    if pasted:
        k = pos.ids.index(PASTED)
        words = sp.csr_matrix(pos.words[k])
        arrays["pasted_at"], arrays["pasted"] = words.indices.astype(np.int32), words.data
        if pos.vectors is not None:
            arrays["pasted_vector"] = np.asarray(pos.vectors[k], dtype=np.float32)
    return _pack(meta, arrays)


def _pack(meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> bytes:
    """MAGIC, the SHA-256 of the body, and the body: zlib over a JSON header (the meta and
    each array's dtype, shape and place) and the arrays' raw bytes (read back without a
    copy per array: an .npz parsed its headers for a third of a load's 15 ms)."""
    layout, raw, at = [], [], 0
    for name, value in arrays.items():
        value = np.ascontiguousarray(value)
        layout.append([name, value.dtype.str, list(value.shape), at, value.nbytes])
        raw.append(value.tobytes())
        at += value.nbytes
    header = json.dumps({"meta": meta, "arrays": layout}).encode()
    body = zlib.compress(len(header).to_bytes(4, "little") + header + b"".join(raw), 6)
    return MAGIC + hashlib.sha256(body).digest() + body


def _read(data: bytes) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    if len(data) < 36 or data[:4] != MAGIC:
        raise SavedModelError("not a saved model")
    body = data[36:]
    if hashlib.sha256(body).digest() != data[4:36]:
        raise SavedModelError("the saved model is damaged (checksum)")
    try:
        plain = zlib.decompress(body)
        size = int.from_bytes(plain[:4], "little")
        header = json.loads(plain[4:4 + size].decode())
        start = 4 + size
        arrays = {name: np.frombuffer(plain, dtype=np.dtype(dtype), count=int(np.prod(shape)),
                                      offset=start + at).reshape(shape)
                  for name, dtype, shape, at, _n in header["arrays"]}
        meta = header["meta"]
    except (ValueError, TypeError, KeyError, zlib.error) as exc:
        raise SavedModelError(f"the saved model cannot be read ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise SavedModelError("a saved model of another format")
    return meta, arrays


def extra_of(data: bytes) -> dict[str, Any]:
    """The ``extra`` a model was saved with (checked like ``load``, without the space)."""
    meta, _ = _read(data)
    return dict(meta["extra"])


def load(data: bytes, space: FeatureSpace, corpus: Corpus) -> tuple[LinearModel, dict[str, Any]]:
    """The model and its ``extra``; SavedModelError when the bytes are damaged, of another
    format, or of another feature space than ``space``."""
    meta, arrays = _read(data)
    if meta["space"] != space_key(space):
        raise SavedModelError("the saved model belongs to another feature space")
    pos = space.rows(list(meta["positives"]), corpus)
    if meta["pasted"]:
        pos = _with_pasted(space, pos, arrays)
    negatives = (space.rows(list(meta["negatives"]), corpus)
                 if meta["negatives"] is not None else None)
    model = LinearModel(space=space, corpus=corpus, positives=pos,
                        followed=frozenset(meta["followed"]), trending=float(meta["trending"]),
                        negatives=negatives, prior_logit=float(meta["prior_logit"]))
    if meta["terms"]:
        vectors = arrays.get("vectors")
        model.fit(Terms(_dense(arrays, "words", meta["n_words"]),
                        vectors.astype(np.float32) if vectors is not None else None,
                        _dense(arrays, "authors", meta["n_authors"]),
                        float(meta["bias"])))
    model.spread = float(meta["spread"])
    if meta.get("fusion") is not None:  # absent in models kept before the fusion
        model.fusion = Fusion(tuple(float(w) for w in meta["fusion"]))
        model.habits = Habits(*(float(h) for h in meta["habits"]))
    if meta["calibration"] is not None:
        prior, per_day = meta["calibration"]
        model._calibration = Calibration(arrays["cal_pos"].astype(np.float64),
                                         arrays["cal_bg"].astype(np.float64), float(prior),
                                         float(per_day))
    return model, dict(meta["extra"])


def _with_pasted(space: FeatureSpace, pos: Rows, arrays: dict[str, NDArray[Any]]) -> Rows:
    from paperwire.recommend.scoring import stack

    at, values = arrays["pasted_at"], arrays["pasted"]
    words = sp.csr_matrix((values.astype(np.float32), at, np.asarray([0, len(at)])),
                          shape=(1, len(space.vocabulary)))
    vector = arrays.get("pasted_vector")
    row = Rows([PASTED], words, vector.reshape(1, -1) if vector is not None else None,
               sp.csr_matrix((1, len(space.author_index)), dtype=np.float32),
               np.asarray([np.nan]))
    return stack(pos, row)


# --- the vocabulary a space was fitted with --------------------------------------------------
def dump_vocabulary(space: FeatureSpace) -> bytes:
    """What a space's rows are made with (words in column order, their IDF, the indexed
    authors, how many papers it was fitted on), as checked bytes: a process that builds
    its space with it (``space_from_vocabulary``) gets the same ``space_key``, so it can use
    the models any other process trained."""
    meta = {"format": FORMAT, "key": space_key(space), "built_with": space.built_with,
            "vectors": space.vectors is not None}
    arrays = {"words": np.asarray(space.vocabulary, dtype=np.str_),
              "idf": np.asarray(space.vectorizer.idf_),
              "authors": np.asarray(space.author_names, dtype=np.str_)}
    return _pack(meta, arrays)


def vocabulary_of(data: bytes) -> dict[str, Any]:
    """The header of ``dump_vocabulary``'s bytes (key, built_with, vectors), checked."""
    meta, _ = _read(data)
    return meta


def space_from_vocabulary(data: bytes, ids: list[str], texts: list[str],
                          authors: dict[str, tuple[str, ...]], published: NDArray[np.float64],
                          vectors: NDArray[np.float16] | None) -> FeatureSpace:
    """The space over these papers with a saved vocabulary: transformed, not fitted."""
    meta, arrays = _read(data)
    vectorizer = word_vectorizer()
    vectorizer.vocabulary_ = {str(w): k for k, w in enumerate(arrays["words"])}
    vectorizer.idf_ = arrays["idf"]
    author_index = {str(a): k for k, a in enumerate(arrays["authors"])}
    words = sp.csr_matrix(vectorizer.transform(list(texts)))
    space = FeatureSpace(vectorizer, ids, words, vectors if meta["vectors"] else None,
                         author_index, _author_rows(ids, authors, author_index), published,
                         built_with=int(meta["built_with"]), team=team_of(ids, authors))
    if space_key(space) != meta["key"]:
        raise SavedModelError("the saved vocabulary does not rebuild its space")
    return space
