"""Against a real `chroma run` server on localhost: index, answer, re-index incrementally."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.engine import Engine
from assistant.store import StoreError, check_server_version
from tests.conftest import free_port, stop_process

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory):
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen([exe, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"chroma run exited with code {proc.returncode}")
                time.sleep(0.2)
        else:
            pytest.fail("chroma run did not start listening within 60 s")
        yield url
    finally:
        stop_process(proc)


def test_index_answer_and_reindex_through_a_chroma_server(chroma_url: str, settings, real_embedder, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("May 2, 2024\n\nPort expansion approved\n\nBy Lena Ortiz\n\n"
                                "The harbor board approved a 40 million euro expansion of the container port on Tuesday. "
                                "Construction of the new quay will start in September and take three years.\n")
    s = settings.replace(chroma_url=chroma_url, collection="server-test")
    engine = Engine(s, embedder=real_embedder)
    r = engine.index([docs])
    assert r.added == 1 and r.chunks >= 1
    ans = engine.ask("When will construction of the new quay start?")
    assert ans.answered and "September" in ans.answer and ans.citations

    (docs / "b.txt").write_text("June 9, 2024\n\nFerry service resumes\n\nBy Sam Lee\n\n"
                                "The island ferry resumed service after a two-week strike by deck crews ended.\n")
    # a second client, as on another machine: the manifest lives with the collection
    other = Engine(s.replace(index_dir=tmp_path / "elsewhere"), embedder=real_embedder)
    r2 = other.index([docs])
    assert (r2.added, r2.unchanged, r2.embedded) == (1, 1, 1)
    assert {x.title for x in other.sources()} == {"Port expansion approved", "Ferry service resumes"}


def test_unreachable_server_is_a_clear_error(settings) -> None:
    s = settings.replace(chroma_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StoreError, match="cannot open the index at http://127.0.0.1"):
        Engine(s).open()


def test_a_server_of_another_major_version_is_refused_naming_both_versions() -> None:
    with pytest.raises(StoreError, match=r"runs version 0\.4\.24, but this client is chromadb 1\.5\.9.*1\.x server"):
        check_server_version("0.4.24", "1.5.9", "http://db:8000")


def test_a_minor_version_difference_only_warns(caplog) -> None:  # noqa: ANN001
    check_server_version("1.4.0", "1.5.9", "http://db:8000")
    assert "runs version 1.4.0" in caplog.text


def test_a_web_server_that_is_not_chroma_is_a_clear_error(settings) -> None:  # noqa: ANN001
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class NotChroma(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_error(404)

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotChroma)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        s = settings.replace(chroma_url=f"http://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(StoreError, match="does not answer the Chroma API of this client"):
            Engine(s).open()
    finally:
        server.shutdown()


def test_a_server_client_sees_what_another_client_indexed_without_rebuilding(
        chroma_url: str, settings, real_embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two machines on one server: the reader's manifest and BM25 follow the change log."""
    from assistant.store import Store

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("May 2, 2024\n\nPort expansion approved\n\nBy Lena Ortiz\n\n"
                                "The harbor board approved a 40 million euro expansion of the container port.\n")
    s = settings.replace(chroma_url=chroma_url, collection="server-live")
    writer = Engine(s.replace(index_dir=tmp_path / "machine-a"), embedder=real_embedder)
    writer.index([docs])
    reader = Engine(s.replace(index_dir=tmp_path / "machine-b"), embedder=real_embedder)
    assert reader.open().documents == 1
    assert reader.refresh_if_changed() is None
    (docs / "b.txt").write_text("June 9, 2024\n\nFerry service resumes\n\nBy Sam Lee\n\n"
                                "The island ferry resumed service after a strike by zeppelin-hangar deck crews ended.\n")
    writer.index([docs])
    full_reads: list[str] = []
    monkeypatch.setattr(Store, "iter_chunks", lambda self, page=5000: full_reads.append("bm25") or iter(()))
    monkeypatch.setattr(Store, "read_manifest", lambda self: full_reads.append("manifest") or {})
    change = reader.refresh_if_changed()
    assert change is not None and change.added == 1 and not full_reads
    hits = reader._lexical.search("zeppelin hangar", 3)
    assert hits and hits[0][0] in reader._manifest["docs/b.txt"].chunk_ids
    answer = reader.ask("Why did the island ferry stop?")
    assert answer.answered and answer.citations[0].doc_id == "docs/b.txt"
