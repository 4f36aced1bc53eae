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


@pytest.fixture(scope="session", autouse=True)
def private_data(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The per-user index ($XDG_DATA_HOME/assistant/index) of every test, and of the CLI subprocesses
    tests start, is in a temp folder: a test run never reads or writes the user's own index. (Set
    for the whole session, before module fixtures that index; tests that need their own set it.)"""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))
        yield


@pytest.fixture(autouse=True)
def private_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Conversations (and anything else kept under $XDG_STATE_HOME) go to a temp folder, also for
    the CLI subprocesses tests start: a test run never writes into the user's state."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a new user whose home is `home`: HOME and the XDG folders point inside it,
    no ASSISTANT_* variable is set. The converted-model cache stays the machine's own (converting
    the bundled model again would only cost time)."""
    import os

    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "XDG_"))}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"), XDG_STATE_HOME=str(home / ".local" / "state"),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=cache, **extra)
    return env


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


def pdf_bytes(pages: list[list[str]], info: dict[str, str] | None = None) -> bytes:
    """A small valid PDF: each page a list of lines of Helvetica text, one under the other, and
    optionally document properties (`info`, e.g. {"Author": "..."}); without it, none at all."""
    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    objs = ["<< /Type /Catalog /Pages 2 0 R >>", None, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for lines in pages:
        ops = " ".join(f"({esc(line)}) Tj T*" for line in lines)
        stream = f"BT /F1 11 Tf 14 TL 60 740 Td {ops} ET".encode()
        objs.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream")
        content = len(objs)
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content} 0 R "
                    f"/Resources << /Font << /F1 3 0 R >> >> >>")
        kids.append(f"{len(objs)} 0 R")
    objs[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    trailer_info = ""
    if info:
        objs.append("<< " + " ".join(f"/{k} ({esc(v)})" for k, v in info.items()) + " >>")
        trailer_info = f" /Info {len(objs)} 0 R"
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R{trailer_info} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


PORT_PDF_LINES = [
    "Port of Velcastle Expansion Approved",
    "By Maria Okonkwo",
    "March 3, 2024",
    "The Velcastle port authority approved a 40 million euro expansion of the container",
    "terminal on Monday, adding two berths for larger ships and a rail link to the",
    "inland depot. Work is due to start in the autumn and to end in 2027.",
    "Local fishermen said the new breakwater would shelter their boats in winter storms.",
]


@pytest.fixture
def port_pdf(tmp_path: Path) -> Path:
    """A PDF article whose title, byline and dateline stand on their own lines, with no document properties."""
    folder = tmp_path / "pdfs"
    folder.mkdir()
    path = folder / "velcastle-port.pdf"
    path.write_bytes(pdf_bytes([PORT_PDF_LINES]))
    return path


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
