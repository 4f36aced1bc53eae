"""Incremental indexing against a real embedded Chroma, with the fast fake embedder."""

import os
import shutil
from pathlib import Path

import pytest

from assistant.engine import Engine
from assistant.indexer import IndexLocked, index_lock
from assistant.store import StoreError

ARTICLE = "{date}\n\n{title}\n\nBy Ann Example\n\n{body}\n"


def write(folder: Path, name: str, title: str, body: str, date: str = "March 3, 2024") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(ARTICLE.format(date=date, title=title, body=body))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    f = tmp_path / "docs"
    write(f, "a.txt", "Harbor dredging approved", "The port authority approved dredging of the harbor. " * 5)
    write(f, "b.txt", "Library opens archive", "The city library opened its digitized archive to the public. " * 5)
    return f


@pytest.fixture
def engine(fake_settings, hash_embedder) -> Engine:
    return Engine(fake_settings, embedder=hash_embedder)


def live_ids(engine: Engine) -> set[str]:
    return {cid for e in engine._store.read_manifest().values() for cid in e.chunk_ids}


def test_first_run_adds_every_file(engine: Engine, folder: Path) -> None:
    r = engine.index([folder])
    assert (r.added, r.updated, r.removed, r.unchanged) == (2, 0, 0, 0)
    assert r.chunks == engine._store.count() > 0


def test_unchanged_rerun_embeds_nothing(engine: Engine, folder: Path) -> None:
    engine.index([folder])
    r = engine.index([folder])
    assert (r.added, r.updated, r.unchanged, r.embedded) == (0, 0, 2, 0)


def test_edited_file_is_updated_and_old_chunks_are_gone(engine: Engine, folder: Path) -> None:
    engine.index([folder])
    write(folder, "a.txt", "Harbor dredging halted", "A court halted the dredging of the harbor. " * 5)
    r = engine.index([folder])
    assert (r.updated, r.unchanged) == (1, 1)
    texts = " ".join(c.text for c in engine._store.iter_chunks())
    assert "court halted" in texts and "approved dredging" not in texts
    assert set(engine._store.all_chunk_ids()) == live_ids(engine)


def test_removed_file_loses_its_chunks(engine: Engine, folder: Path) -> None:
    engine.index([folder])
    (folder / "b.txt").unlink()
    r = engine.index([folder])
    assert r.removed == 1
    assert all(c.doc_id.endswith("a.txt") for c in engine._store.iter_chunks())


def test_moved_file_reuses_embeddings(engine: Engine, folder: Path) -> None:
    engine.index([folder])
    (folder / "sub").mkdir()
    shutil.move(folder / "b.txt", folder / "sub" / "b.txt")
    r = engine.index([folder])
    assert (r.moved, r.removed, r.embedded) == (1, 0, 0)
    assert "docs/sub/b.txt" in {s.doc_id for s in engine.sources()}


def test_indexing_another_folder_keeps_the_first(engine: Engine, folder: Path, tmp_path: Path) -> None:
    engine.index([folder])
    other = tmp_path / "other"
    write(other, "c.txt", "Rail strike ends", "Rail workers ended their strike after nine days. " * 5)
    engine.index([other])
    assert len(engine.sources()) == 3


def test_document_metadata_is_recorded(engine: Engine, folder: Path) -> None:
    engine.index([folder])
    src = {s.doc_id: s for s in engine.sources()}["docs/a.txt"]
    assert (src.title, src.authors, src.published) == ("Harbor dredging approved", ["Ann Example"], "2024-03-03")


def test_bad_files_are_skipped_with_reasons_and_the_rest_indexed(engine: Engine, folder: Path) -> None:
    (folder / "empty.txt").write_text("")
    (folder / "bin.txt").write_bytes(b"\x00\x01\x02" * 100)
    (folder / "notes.docx").write_bytes(b"PK")
    os.symlink(folder / "missing.txt", folder / "dangling.txt")
    r = engine.index([folder])
    reasons = {Path(s["path"]).name: s["reason"] for s in r.skipped}
    assert r.added == 2
    assert reasons["empty.txt"] == "empty file"
    assert "binary" in reasons["bin.txt"]
    assert "unsupported" in reasons["notes.docx"]
    assert "broken symlink" in reasons["dangling.txt"]


def test_symlink_loop_is_reported_not_followed_forever(engine: Engine, folder: Path) -> None:
    os.symlink(folder, folder / "loop")
    r = engine.index([folder])
    assert r.added == 2 and any("loop" in s["reason"] for s in r.skipped)


def test_crash_after_adding_chunks_leaves_old_version_visible_and_next_run_repairs(
        engine: Engine, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine.index([folder])
    before = live_ids(engine)
    write(folder, "a.txt", "Harbor dredging halted", "A court halted the dredging of the harbor. " * 5)

    def crash(self, entries):  # noqa: ANN001 - the process dies before the commit point
        raise KeyboardInterrupt

    monkeypatch.setattr("assistant.store.Store.commit_entries", crash)
    with pytest.raises(KeyboardInterrupt):
        engine.index([folder])
    monkeypatch.undo()
    reopened = Engine(engine.settings, embedder=engine.embedder)
    reopened.open()
    assert live_ids(reopened) == before  # readers still see the old, complete version
    hits = reopened.retrieve("harbor dredging", k=5)
    assert hits and all("court halted" not in p.chunk.text for p in hits)
    r = reopened.index([folder])
    assert r.updated == 1
    assert set(reopened._store.all_chunk_ids()) == live_ids(reopened)  # orphans collected


def test_second_index_run_is_refused_while_one_holds_the_lock(engine: Engine, folder: Path) -> None:
    lock = index_lock(engine.settings)
    try:
        with pytest.raises(IndexLocked, match="another"):
            engine.index([folder])
    finally:
        lock.release()


def test_opening_with_another_model_is_refused_with_rebuild_hint(engine: Engine, folder: Path, hash_embedder) -> None:
    engine.index([folder])
    other = Engine(engine.settings.replace(model="another-model"), embedder=hash_embedder)
    with pytest.raises(StoreError, match="--rebuild"):
        other.open()


def test_rebuild_starts_over_and_keeps_serving(engine: Engine, folder: Path) -> None:
    engine.index([folder])
    r = engine.index([folder], rebuild=True)
    assert (r.added, r.unchanged) == (2, 0)
    assert engine.retrieve("library archive", k=3)


def test_nothing_indexable_reports_nothing_indexed(engine: Engine, tmp_path: Path) -> None:
    empty = tmp_path / "none"
    empty.mkdir()
    (empty / "x.txt").write_text("   \n")
    r = engine.index([empty])
    assert not r.indexed_anything and r.skipped


def test_a_full_disk_is_a_clear_error_and_the_previous_index_still_answers(
        engine: Engine, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine.index([folder])
    write(folder, "c.txt", "Bridge reopens", "The old stone bridge reopened to traffic after repairs. " * 5)

    def disk_full(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("chromadb.api.models.Collection.Collection.upsert", disk_full)
    with pytest.raises(StoreError, match="No space left on device.*still usable"):
        engine.index([folder])
    monkeypatch.undo()
    reopened = Engine(engine.settings, embedder=engine.embedder)
    assert reopened.open().documents == 2
    assert reopened.retrieve("library archive", k=3)


def test_a_stopped_run_keeps_what_it_committed_and_the_next_run_does_the_rest(fake_settings, hash_embedder, tmp_path) -> None:  # noqa: ANN001
    import threading

    from assistant.engine import Engine

    docs = tmp_path / "many"
    docs.mkdir()
    for i in range(12):
        (docs / f"d{i:02d}.txt").write_text(f"Report {i}\n\nThe canal project number {i} cost {i + 3} million euros.\n")
    stop = threading.Event()
    engine = Engine(fake_settings.replace(index_batch_docs=4), embedder=hash_embedder)

    def progress(event) -> None:  # noqa: ANN001
        if event.phase == "write":
            stop.set()  # after the first committed batch

    first = engine.index([docs], progress=progress, stop=stop)
    assert first.added == 4 and engine.status().documents == 4
    second = engine.index([docs])
    assert second.added == 8 and second.unchanged == 4 and engine.status().documents == 12


def test_sources_are_absolute_paths_that_open_from_any_folder(engine: Engine, folder: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(folder.parent)
    engine.index([Path("docs")])  # given relative to the working folder
    assert {s.source for s in engine.sources()} == {str(folder / "a.txt"), str(folder / "b.txt")}
    passage = engine.retrieve("harbor dredging", k=1)[0]
    assert passage.chunk.source == str(folder / "a.txt")


def test_a_collection_moved_to_another_folder_is_refound_by_content_not_duplicated(
        engine: Engine, folder: Path, tmp_path: Path) -> None:
    engine.index([folder])
    moved = tmp_path / "elsewhere" / "articles"
    moved.parent.mkdir()
    shutil.move(folder, moved)
    r = engine.index([moved])
    assert (r.moved, r.added, r.removed, r.embedded) == (2, 0, 0, 0)
    assert sorted(s.source for s in engine.sources()) == [str(moved / "a.txt"), str(moved / "b.txt")]
    assert set(engine._store.all_chunk_ids()) == live_ids(engine)


def test_a_copy_of_a_collection_is_indexed_beside_the_original(engine: Engine, folder: Path, tmp_path: Path) -> None:
    engine.index([folder])
    shutil.copytree(folder, tmp_path / "copy")
    r = engine.index([tmp_path / "copy"])
    assert (r.moved, r.added) == (0, 2) and len(engine.sources()) == 4


def test_a_source_stored_relative_by_an_earlier_version_is_made_absolute_on_the_next_run(
        engine: Engine, folder: Path) -> None:
    import dataclasses

    engine.index([folder])
    store = engine._store
    store.commit_entries([dataclasses.replace(e, source=f"../docs/{Path(e.abs_path).name}")
                          for e in store.read_manifest().values()])
    r = engine.index([folder])
    assert r.embedded == 0 and r.updated == 2
    assert {s.source for s in engine.sources()} == {str(folder / "a.txt"), str(folder / "b.txt")}
