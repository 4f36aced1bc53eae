"""Readers of an index that another process writes: they notice the change, reload only what it
touched, and never act on a stale Chroma client."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.config import load_settings
from assistant.engine import Engine
from assistant.indexer import build_lexical
from assistant.lexical import LexicalIndex
from assistant.store import Store, StoreError

REPO = Path(__file__).resolve().parent.parent
WORDS = ("harbor library railway vineyard observatory hospital bridge orchard mine canal tunnel ferry dam "
         "school market museum stadium airport reservoir lighthouse").split()


def write_article(folder: Path, i: int, extra: str = "") -> Path:
    rnd = random.Random(i)
    topic = WORDS[i % len(WORDS)]
    body = " ".join(f"The {topic} project number {i} in district {rnd.randint(1, 99)} cost {rnd.randint(2, 900)} million."
                    for _ in range(6))
    path = folder / f"doc{i:04d}.txt"
    path.write_text(f"May {1 + i % 28}, 2024\n\n{topic.title()} report {i}\n\nBy Ana Test\n\n{body}\n{extra}\n")
    return path


def cli(args: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:  # noqa: ANN003
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_INDEX_DIR"] = "index"  # this test's working folder keeps its own index
    env.update(kw.pop("env", {}))
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600, **kw)


# --- BM25 base + delta ----------------------------------------------------------------------

def _texts(n: int, start: int = 0) -> list[tuple[str, str]]:
    rnd = random.Random(start)
    return [(f"c{i}", " ".join(rnd.choice(WORDS) for _ in range(30)) + f" unique{i}") for i in range(start, start + n)]


def test_delta_chunks_score_as_a_full_build_would() -> None:
    base, extra = _texts(200), _texts(20, start=200)
    full = LexicalIndex.build(base + extra, "g")
    split = LexicalIndex.build(base, "g")
    split.apply([], extra, "g", 1)
    for query in ("harbor ferry", "unique205 museum", "observatory dam lighthouse"):
        want = dict(full.search(query, 10))
        got = dict(split.search(query, 10))
        for cid in set(want) & set(got):
            assert got[cid] == pytest.approx(want[cid], rel=0.15)
        assert len(set(want) & set(got)) >= 7


def test_removed_chunks_are_never_found_again() -> None:
    lexical = LexicalIndex.build(_texts(50), "g")
    lexical.apply(["c7"], [("n1", "a brand new zeppelin chunk")], "g", 1)
    assert "c7" not in {cid for cid, _ in lexical.search("unique7", 50)}
    assert lexical.search("zeppelin", 5)[0][0] == "n1"
    lexical.apply(["n1"], [], "g", 2)
    assert lexical.search("zeppelin", 5) == []


def test_the_saved_copy_keeps_its_delta_and_version(tmp_path: Path) -> None:
    lexical = LexicalIndex.build(_texts(30), "g1")
    lexical.epoch = "e"
    lexical.apply(["c1"], [("n1", "zeppelin")], "g2", 5)
    lexical.save(tmp_path / "bm25")
    assert LexicalIndex.saved_version(tmp_path / "bm25") == ("e", 5, "g2")
    loaded = LexicalIndex.load(tmp_path / "bm25")
    assert loaded is not None and loaded.search("zeppelin", 3)[0][0] == "n1" and "c1" in loaded.dead


def test_a_large_delta_asks_for_a_new_base() -> None:
    lexical = LexicalIndex.build(_texts(100), "g")
    lexical.apply([], _texts(2100, start=100), "g", 1)
    assert lexical.needs_rebuild()


# --- one process writes, another reads (fake embedder, same process, two engines) -------------

@pytest.fixture
def two_engines(fake_settings, hash_embedder, tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(12):
        write_article(docs, i)
    writer = Engine(fake_settings, embedder=hash_embedder)
    writer.index([docs])
    reader = Engine(fake_settings, embedder=hash_embedder)
    reader.open()
    return writer, reader, docs


def test_a_reader_notices_new_updated_and_removed_articles(two_engines) -> None:  # noqa: ANN001
    writer, reader, docs = two_engines
    write_article(docs, 40)
    write_article(docs, 41)
    write_article(docs, 3, extra="The zeppelin hangar was added later.")
    (docs / "doc0005.txt").unlink()
    writer.index([docs])
    change = reader.refresh_if_changed()
    assert change is not None and (change.added, change.updated, change.removed) == (2, 1, 1)
    assert change.describe() == "2 new articles, 1 updated, 1 removed"
    assert reader.status().documents == 13
    hits = reader.retrieve("zeppelin hangar", k=3)
    assert hits and hits[0].chunk.doc_id.endswith("doc0003.txt")


def test_a_reader_with_nothing_new_reads_nothing_from_chroma(two_engines, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    _, reader, _ = two_engines
    calls = []
    monkeypatch.setattr(Store, "state", lambda self: calls.append(1) or {})
    assert reader.refresh_if_changed() is None
    assert calls == []


def test_a_one_article_change_reloads_only_that_article(two_engines, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    writer, reader, docs = two_engines
    write_article(docs, 77)
    writer.index([docs])
    full_reads = []
    monkeypatch.setattr(Store, "read_manifest", lambda self: full_reads.append(1) or {})
    monkeypatch.setattr(Store, "iter_chunks", lambda self, page=5000: full_reads.append(2) or iter(()))
    change = reader.refresh_if_changed()
    assert change is not None and change.added == 1
    assert full_reads == [], "a one-article change must not reload the whole manifest or BM25"
    assert reader.retrieve("project number 77", k=1)[0].chunk.doc_id.endswith("doc0077.txt")


def test_a_reader_updates_its_keyword_index_when_the_saved_copy_is_behind(two_engines) -> None:  # noqa: ANN001
    """As a server client does (no shared disk): the change log brings BM25 up to date."""
    writer, reader, docs = two_engines
    write_article(docs, 88, extra="Quetzalcoatl sculptures lined the entrance.")
    folder = reader.settings.index_dir / "bm25"
    stale = LexicalIndex.load(folder)
    writer.index([docs])
    stale.save(folder)  # as if this reader could not see the writer's copy
    reader.refresh_if_changed()
    found = reader._lexical.search("quetzalcoatl", 3)
    assert found and found[0][0] in reader._manifest[str(Path("docs") / "doc0088.txt")].chunk_ids


def test_a_rebuilt_index_is_reloaded_whole(two_engines) -> None:  # noqa: ANN001
    writer, reader, docs = two_engines
    (docs / "doc0001.txt").unlink()
    writer.index([docs], rebuild=True)
    change = reader.refresh_if_changed()
    assert change is not None and change.removed == 1
    assert reader.status().documents == 11


def test_a_failed_read_is_retried_on_a_fresh_client(two_engines, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    _, reader, _ = two_engines
    store = reader._store
    real = type(store.chunks).query
    failures = iter([RuntimeError("Error executing plan: Internal error: Error finding id")])

    def flaky(self, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        for exc in failures:
            raise exc
        return real(self, *a, **kw)

    monkeypatch.setattr(type(store.chunks), "query", flaky)
    assert reader.retrieve("harbor project", k=2)


def test_a_read_that_fails_twice_is_one_line_that_says_what_to_do(two_engines, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    _, reader, _ = two_engines
    store = reader._store

    def broken(self, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise RuntimeError("Error executing plan: Internal error: Error finding id\nmore detail")

    monkeypatch.setattr(type(store.chunks), "query", broken)
    with pytest.raises(StoreError) as info:
        store.query(np.ones(256, dtype=np.float32) / 16, 3)
    message = str(info.value)
    assert "\n" not in message and "Error finding id" in message and "ask again" in message


# --- real processes, real model, real Chroma -------------------------------------------------

@pytest.mark.slow
def test_an_open_engine_answers_from_articles_another_process_indexed(tmp_path: Path, real_embedder) -> None:  # noqa: ANN001
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(6):
        write_article(docs, i)
    assert cli(["index", "docs"], tmp_path).returncode == 0
    engine = Engine(load_settings(cwd=tmp_path, env={"ASSISTANT_INDEX_DIR": "index"}), embedder=real_embedder)
    assert engine.ask("How much did the harbor project number 0 cost?").answered
    write_article(docs, 60, extra="The zeppelin museum opened in March with 40 airships.")
    assert cli(["index", "docs"], tmp_path).returncode == 0
    answer = engine.ask("How many airships does the zeppelin museum have?")
    assert answer.answered and "40 airships" in answer.answer
    assert answer.citations[0].doc_id.endswith("doc0060.txt")


@pytest.mark.slow
def test_batch_answers_completely_while_another_process_indexes(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(10):
        write_article(docs, i)
    assert cli(["index", "docs"], tmp_path).returncode == 0
    for i in range(10, 130):
        write_article(docs, i)
    questions = [{"id": f"q{i}", "question": f"How much did the {WORDS[i % len(WORDS)]} project number {i} cost?"}
                 for i in range(40)]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    indexer = subprocess.Popen([sys.executable, "-m", "assistant.cli", "index", "docs"], cwd=tmp_path,
                               env={**env, "ASSISTANT_INDEX_BATCH_DOCS": "8", "ASSISTANT_INDEX_DIR": "index"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        stamp = tmp_path / "index" / "stamp.json"
        start = json.loads(stamp.read_text())[1]
        while indexer.poll() is None and json.loads(stamp.read_text())[1] == start:
            time.sleep(0.01)  # until the index run has committed its first batch: it is mid-run now
        result = cli(["batch", "q.jsonl", "-o", "a.jsonl"], tmp_path)
    finally:
        indexer.wait(timeout=600)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in records) == sorted(q["id"] for q in questions)
    assert not [r for r in records if "error" in r]
    assert all(r["answer"] and "citations" in r for r in records)


def test_a_reader_further_behind_than_the_change_log_reloads_whole(two_engines, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    import assistant.store as store_module

    writer, reader, docs = two_engines
    monkeypatch.setattr(store_module, "CHANGE_LOG_ENTRIES", 2)
    for i in range(50, 54):  # four runs, one logged batch each: more than the log keeps
        write_article(docs, i)
        writer.index([docs])
    assert reader._store.changes_since(reader._version[0], reader._version[1]) is None
    change = reader.refresh_if_changed()
    assert change is not None and change.added == 4 and reader.status().documents == 16


def test_the_state_record_stays_small_however_many_documents_change(two_engines) -> None:  # noqa: ANN001
    writer, _, docs = two_engines
    for i in range(100, 160):
        write_article(docs, i)
    writer.index([docs])
    got = writer._store.manifest.get(ids=["__state__"], include=["documents"])
    assert len(got["documents"][0]) < 500
