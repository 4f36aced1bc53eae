"""Shared fixtures: settings in a temp folder, a fast fake embedder, the real bundled model,
the repo's sample articles and (when present) the shared real articles."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "articles"
SHARED_ARTICLES = REPO.parent / "shared" / "articles"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


class HashEmbedder:
    """Deterministic bag-of-words vectors: fast, offline, and similar texts stay similar.
    For unit tests of logic around embeddings only; the real model has its own tests."""

    model_id = "test-hash"
    dimension = 256

    def encode(self, texts, progress=None) -> np.ndarray:  # noqa: ANN001
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int(hashlib.md5(word.encode()).hexdigest()[:8], 16)
                out[i, h % self.dimension] += 1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
            out[i, 0] += 0 if norm else 1.0  # empty text: a fixed unit vector
        if progress:
            progress(len(texts))
        return out


@pytest.fixture(autouse=True)
def private_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Conversations (and anything else kept under $XDG_STATE_HOME) go to a temp folder, also for
    the CLI subprocesses tests start: a test run never writes into the user's state."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture(scope="session")
def real_embedder():
    from assistant.embeddings import make_embedder

    return make_embedder(Settings())


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with the index in a temp folder and no config file or env leaking in."""
    return load_settings(cwd=tmp_path, env={}, index_dir=tmp_path / "index")


@pytest.fixture
def fake_settings(settings: Settings) -> Settings:
    return settings.replace(model="test-hash")


@pytest.fixture
def examples_dir() -> Path:
    assert EXAMPLES.is_dir(), "examples/articles is part of the repo"
    return EXAMPLES


@pytest.fixture
def shared_articles() -> Path:
    if not SHARED_ARTICLES.is_dir():
        pytest.skip("../shared/articles is absent (it is not redistributed with the repo)")
    return SHARED_ARTICLES


@pytest.fixture
def messy_dir() -> Path:
    return FIXTURES / "messy"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of the sample articles, for tests that grow, shrink and edit it."""
    dest = tmp_path / "corpus"
    shutil.copytree(EXAMPLES, dest)
    return dest


@pytest.fixture(scope="session")
def real_engine(tmp_path_factory: pytest.TempPathFactory, real_embedder):
    """One real index (bundled model, embedded Chroma) over the samples and the shared articles."""
    from assistant.engine import Engine

    root = tmp_path_factory.mktemp("real")
    s = load_settings(cwd=root, env={}, index_dir=root / "index")
    engine = Engine(s, embedder=real_embedder)
    paths = [EXAMPLES] + ([SHARED_ARTICLES] if SHARED_ARTICLES.is_dir() else [])
    engine.index(paths)
    return engine


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc) -> None:  # noqa: ANN001 - a subprocess.Popen a test started
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except Exception:  # still alive after 10 s
        proc.kill()
