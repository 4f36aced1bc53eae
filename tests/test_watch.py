"""`assistant index --watch`: the watcher keeps the index in step with a folder, batch by batch.

Progress is observed through the watcher's own batches and events (queues with a generous
timeout that only guards against a hang), never by sleeping and hoping.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

import pytest

from assistant.config import load_settings
from assistant.engine import Engine
from assistant.indexer import ProgressEvent, index_lock
from assistant.store import Store, StoreError
from assistant.watch import Watcher, WatchBatch, WatchError, _Pending, settled

from tests.test_indexer import write
from tests.test_server import chroma_url  # noqa: F401 - the fixture: a real `chroma run` server

TIMEOUT = 120  # seconds before a test calls it a hang


class Running:
    """A Watcher on its own thread, its batches and progress events in queues."""

    def __init__(self, engine: Engine, paths: list, on_event: Callable[[ProgressEvent], None] | None = None) -> None:
        self.batches: queue.Queue[WatchBatch] = queue.Queue()
        self.events: queue.Queue[ProgressEvent] = queue.Queue()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._on_event = on_event

        def progress(e: ProgressEvent) -> None:
            self.events.put(e)
            if self._on_event:
                self._on_event(e)

        self.watcher = Watcher(engine, paths, on_batch=self.batches.put, on_progress=progress, stop=self.stop)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.watcher.run()
        except BaseException as exc:  # handed to the test thread
            self.error = exc
            self.batches.put(None)  # type: ignore[arg-type]

    def next_batch(self) -> WatchBatch:
        batch = self.batches.get(timeout=TIMEOUT)
        if batch is None:
            raise AssertionError(f"the watcher stopped: {self.error!r}")
        return batch

    def until(self, done: Callable[[list[WatchBatch]], bool]) -> list[WatchBatch]:
        got: list[WatchBatch] = []
        while not done(got):
            got.append(self.next_batch())
        return got

    def wait_event(self, phase: str) -> ProgressEvent:
        while True:
            e = self.events.get(timeout=TIMEOUT)
            if e.phase == phase:
                return e

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=TIMEOUT)
        assert not self.thread.is_alive(), "the watcher did not stop"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    f = tmp_path / "docs"
    write(f, "a.txt", "Harbor dredging approved", "The port authority approved dredging of the harbor. " * 5)
    write(f, "b.txt", "Library opens archive", "The city library opened its digitized archive to the public. " * 5)
    return f


@pytest.fixture
def engine(fake_settings, hash_embedder) -> Engine:
    return Engine(fake_settings.replace(watch_debounce_ms=100), embedder=hash_embedder)


@pytest.fixture
def watching(engine: Engine, folder: Path):
    run = Running(engine, [folder])
    first = run.next_batch()
    assert (first.number, first.trigger, first.report.added) == (0, "initial", 2)
    yield run
    run.close()


def doc_ids(engine: Engine) -> set[str]:
    return {s.doc_id for s in engine.sources()}


def test_the_first_pass_is_a_full_index_run(watching: Running, engine: Engine) -> None:
    assert doc_ids(engine) == {"docs/a.txt", "docs/b.txt"}


def test_a_new_file_is_indexed_and_answerable(watching: Running, engine: Engine, folder: Path) -> None:
    write(folder, "c.txt", "Rail strike ends", "Rail workers ended their strike after nine days. " * 5)
    batch = watching.next_batch()
    assert (batch.trigger, batch.report.added, batch.paths) == ("files", 1, [str(folder / "c.txt")])
    assert any(p.chunk.doc_id == "docs/c.txt" for p in engine.retrieve("rail workers strike", k=3))


def test_an_edited_file_is_updated_and_its_old_text_is_gone(watching: Running, engine: Engine, folder: Path) -> None:
    write(folder, "a.txt", "Harbor dredging halted", "A court halted the dredging of the harbor. " * 5)
    batch = watching.next_batch()
    assert (batch.report.updated, batch.report.added) == (1, 0)
    text = engine.document("docs/a.txt").text
    assert "court halted" in text and "approved dredging" not in text


def test_a_moved_file_is_a_move_that_reuses_its_embeddings(watching: Running, engine: Engine, folder: Path) -> None:
    (folder / "sub").mkdir()
    os.rename(folder / "b.txt", folder / "sub" / "b.txt")
    r = watching.until(lambda got: sum(b.report.moved for b in got) >= 1)[-1].report
    assert (r.moved, r.removed, r.added, r.embedded) == (1, 0, 0, 0)
    assert doc_ids(engine) == {"docs/a.txt", "docs/sub/b.txt"}


def test_a_folder_moved_in_is_indexed_whole(watching: Running, engine: Engine, folder: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "news"
    write(outside, "c.txt", "Rail strike ends", "Rail workers ended their strike after nine days. " * 5)
    write(outside, "d.txt", "Bridge reopens", "The old stone bridge reopened to traffic after repairs. " * 5)
    os.rename(outside, folder / "news")
    watching.until(lambda got: sum(b.report.added for b in got) >= 2)
    assert doc_ids(engine) == {"docs/a.txt", "docs/b.txt", "docs/news/c.txt", "docs/news/d.txt"}


def test_a_removed_file_loses_its_article(watching: Running, engine: Engine, folder: Path) -> None:
    (folder / "b.txt").unlink()
    batch = watching.next_batch()
    assert batch.report.removed == 1
    assert doc_ids(engine) == {"docs/a.txt"}
    assert all(p.chunk.doc_id == "docs/a.txt" for p in engine.retrieve("library archive", k=5))


def test_a_removed_folder_loses_all_its_articles(engine: Engine, folder: Path) -> None:
    write(folder / "old", "c.txt", "Rail strike ends", "Rail workers ended their strike after nine days. " * 5)
    write(folder / "old", "d.txt", "Bridge reopens", "The old stone bridge reopened to traffic after repairs. " * 5)
    run = Running(engine, [folder])
    try:
        assert run.next_batch().report.added == 4
        shutil.rmtree(folder / "old")
        run.until(lambda got: sum(b.report.removed for b in got) >= 2)
        assert doc_ids(engine) == {"docs/a.txt", "docs/b.txt"}
    finally:
        run.close()


def test_a_burst_of_500_files_is_indexed_in_a_few_batches(watching: Running, engine: Engine, folder: Path) -> None:
    burst = folder / "burst"
    burst.mkdir()
    for i in range(500):
        (burst / f"n{i:03d}.txt").write_text(f"Report {i}\n\nThe council approved item {i} of the plan for district {i}.\n")
    batches = watching.until(lambda got: sum(b.report.added for b in got) >= 500)
    assert sum(b.report.added for b in batches) == 500 and not any(b.report.updated for b in batches)
    assert len(batches) <= 20, "the burst should be gathered into batches, not applied file by file"
    assert len(doc_ids(engine)) == 502


def test_bad_files_are_skipped_with_reasons_and_the_watcher_goes_on(watching: Running, engine: Engine,
                                                                      folder: Path) -> None:
    (folder / "empty.txt").write_text("")
    (folder / "bin.txt").write_bytes(b"\x00\x01\x02" * 100)
    batches = watching.until(lambda got: len([s for b in got for s in b.report.skipped]) >= 2)
    reasons = {Path(s["path"]).name: s["reason"] for b in batches for s in b.report.skipped}
    assert reasons["empty.txt"] == "empty file" and "binary" in reasons["bin.txt"]
    write(folder, "c.txt", "Rail strike ends", "Rail workers ended their strike after nine days. " * 5)
    assert watching.next_batch().report.added == 1


def test_other_file_types_and_hidden_files_are_ignored(watching: Running, folder: Path) -> None:
    (folder / "notes.docx").write_bytes(b"PK")
    (folder / ".c.txt.swp").write_text("editor state")
    write(folder, "c.txt", "Rail strike ends", "Rail workers ended their strike after nine days. " * 5)
    batch = watching.next_batch()
    assert batch.paths == [str(folder / "c.txt")] and batch.report.skipped == []


def test_a_file_still_being_written_is_indexed_once_complete(engine: Engine, folder: Path) -> None:
    """The second half is written the moment the watcher notices the first: it must wait for it."""
    target = folder / "c.txt"
    appended = threading.Event()

    def on_event(e: ProgressEvent) -> None:
        if e.phase == "pending" and e.message == str(target) and not appended.is_set():
            with open(target, "a") as fh:
                fh.write("The second half says the union accepted a nine percent raise.\n")
            appended.set()

    run = Running(engine, [folder], on_event=on_event)
    try:
        run.next_batch()
        target.write_text("May 2, 2024\n\nRail strike ends\n\nRail workers ended their strike after nine days.\n")
        batch = run.next_batch()
        assert appended.is_set() and batch.report.added == 1
        assert "nine percent raise" in engine.document("docs/c.txt").text
    finally:
        run.close()


def test_settled_paths_are_those_whose_size_held_still() -> None:
    sizes = {"/d/done.txt": (10, 1), "/d/growing.txt": (20, 2), "/d/fresh.txt": (5, 3)}
    pending = {"/d/done.txt": _Pending((10, 1), since=0.0), "/d/growing.txt": _Pending((12, 1), since=0.0),
               "/d/fresh.txt": _Pending((5, 3), since=9.5)}
    assert settled(pending, now=10.0, quiet=1.0, look=sizes.get) == ["/d/done.txt"]
    assert pending["/d/growing.txt"].signature == (20, 2) and pending["/d/growing.txt"].since == 10.0
    assert settled(pending, now=11.0, quiet=1.0, look=sizes.get) == ["/d/done.txt", "/d/growing.txt", "/d/fresh.txt"]


def test_a_batch_plans_only_its_own_paths(watching: Running, engine: Engine, folder: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch costs its size: it neither walks the whole folder nor reads the whole manifest."""
    import assistant.indexer as indexer

    walked: list[list[Path]] = []
    real_discover = indexer.discover
    monkeypatch.setattr(indexer, "discover", lambda paths: walked.append(list(paths)) or real_discover(paths))
    reads: list[int] = []
    real_read = Store.read_manifest
    monkeypatch.setattr(Store, "read_manifest", lambda self: reads.append(1) or real_read(self))
    write(folder, "c.txt", "Rail strike ends", "Rail workers ended their strike after nine days. " * 5)
    assert watching.next_batch().report.added == 1
    assert walked == [[folder / "c.txt"]] and reads == []


def test_it_waits_for_another_index_run_and_says_so(engine: Engine, folder: Path) -> None:
    run = Running(engine, [folder])
    try:
        run.next_batch()
        lock = index_lock(engine.settings)
        try:
            write(folder, "c.txt", "Rail strike ends", "Rail workers ended their strike after nine days. " * 5)
            assert "another index run" in run.wait_event("wait").message
        finally:
            lock.release()
        assert run.next_batch().report.added == 1
    finally:
        run.close()


def test_a_batch_that_fails_is_reported_and_tried_again(watching: Running, engine: Engine, folder: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    real_add = Store.add_chunks
    failures = []

    def full_disk_once(self, chunks, vectors):  # noqa: ANN001
        if not failures:
            failures.append(1)
            raise StoreError("cannot write the index: No space left on device (the previous index is still usable)")
        return real_add(self, chunks, vectors)

    monkeypatch.setattr(Store, "add_chunks", full_disk_once)
    write(folder, "c.txt", "Rail strike ends", "Rail workers ended their strike after nine days. " * 5)
    failed = watching.next_batch()
    assert "No space left" in failed.error and failed.paths == [str(folder / "c.txt")]
    assert watching.next_batch().report.added == 1
    assert "docs/c.txt" in doc_ids(engine)


def test_the_index_folder_inside_a_watched_folder_is_not_watched(fake_settings, hash_embedder, folder: Path) -> None:
    engine = Engine(fake_settings.replace(watch_debounce_ms=100, index_dir=folder / "index"), embedder=hash_embedder)
    run = Running(engine, [folder])
    try:
        run.next_batch()
        for name in ("c.txt", "d.txt"):  # the index's own writes for c must not make a batch of their own
            write(folder, name, f"Report {name}", "Rail workers ended their strike after nine days. " * 5)
            batch = run.next_batch()
            assert batch.paths == [str(folder / name)] and batch.report.added == 1 and not batch.report.skipped
    finally:
        run.close()


def test_a_missing_folder_cannot_be_watched(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(WatchError, match="no such file or folder"):
        Watcher(engine, [tmp_path / "nope"]).run()


def test_stop_ends_the_watcher(engine: Engine, folder: Path) -> None:
    run = Running(engine, [folder])
    run.next_batch()
    run.close()
    assert run.error is None


# --- the real thing -----------------------------------------------------------------------

@pytest.mark.slow
def test_an_article_dropped_in_a_watched_folder_is_answered_with_a_citation(tmp_path: Path, real_embedder) -> None:
    settings = load_settings(cwd=tmp_path, env={}, index_dir=tmp_path / "index").replace(watch_debounce_ms=200)
    engine = Engine(settings, embedder=real_embedder)
    docs = tmp_path / "docs"
    write(docs, "a.txt", "Harbor dredging approved", "The port authority approved dredging of the harbor. " * 3)
    run = Running(engine, [docs])
    try:
        run.next_batch()
        write(docs, "dam.txt", "River dam completed",
              "The Valbonne river dam was completed in April after eleven years of construction. "
              "It will supply drinking water to 300,000 residents of the valley.")
        assert run.next_batch().report.added == 1
        answer = engine.ask("How many residents will the Valbonne dam supply with water?")
        assert answer.answered and "300,000" in answer.answer
        assert answer.citations[0].doc_id == "docs/dam.txt"
    finally:
        run.close()


def _env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}, "ASSISTANT_INDEX_DIR": "index", **extra}


class Lines:
    """JSON lines from a subprocess's stdout, read on a thread so a test can wait with a timeout."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.q: queue.Queue[dict | None] = queue.Queue()
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            self.q.put(json.loads(line))
        self.q.put(None)

    def next(self) -> dict:
        got = self.q.get(timeout=TIMEOUT * 3)
        assert got is not None, "the watcher exited"
        return got


def _seq(work: Path) -> int:
    try:
        return int(json.loads((work / "index" / "stamp.json").read_text())[1])
    except (OSError, ValueError, IndexError):
        return 0


@pytest.mark.slow
def test_a_watcher_killed_mid_batch_restarts_and_catches_up(tmp_path: Path) -> None:
    from tests.test_crash import check_consistent, make_corpus

    work = tmp_path / "w"
    make_corpus(work / "docs", 6)
    cmd = [sys.executable, "-m", "assistant.cli", "index", "docs", "--watch", "--json"]
    env = _env(ASSISTANT_WATCH_DEBOUNCE_MS="200", ASSISTANT_INDEX_BATCH_DOCS="4")
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = Lines(proc)
        first = lines.next()
        assert (first["batch"], first["trigger"], first["added"]) == (0, "initial", 6)
        before = _seq(work)
        make_corpus(work / "docs" / "more", 40, seed=2)  # 10 write batches of 4 documents
        while _seq(work) < before + 2 and proc.poll() is None:  # the kill lands mid-batch: 2 of 10 committed
            threading.Event().wait(0.005)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert Store(load_settings(cwd=work, env={"ASSISTANT_INDEX_DIR": "index"})).state().get("in_progress"), "the kill should land mid-batch"
    # while it is down: one file removed, one edited, one added
    (work / "docs" / "doc0000.txt").unlink()
    edited = work / "docs" / "doc0001.txt"
    edited.write_text(edited.read_text() + "\nAddendum: the harbor budget was revised.\n")
    (work / "docs" / "late.txt").write_text("June 1, 2024\n\nCanal report\n\nThe canal reopened to barges in June.\n")

    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = Lines(proc)
        first = lines.next()
        assert (first["trigger"], first["removed"], first["updated"]) == ("initial", 1, 1) and first["added"] >= 1
        reader = Engine(load_settings(cwd=work, env={"ASSISTANT_INDEX_DIR": "index"}))
        on_disk = {f"docs/{p.relative_to(work / 'docs').as_posix()}" for p in (work / "docs").rglob("*.txt")}
        assert check_consistent(reader)["docs"] == len(on_disk) == 6 - 1 + 40 + 1
        assert set(reader._manifest) == on_disk
        store = Store(load_settings(cwd=work, env={"ASSISTANT_INDEX_DIR": "index"}))
        assert set(store.all_chunk_ids()) == {c for e in store.read_manifest().values() for c in e.chunk_ids}
        (work / "docs" / "after.txt").write_text("June 2, 2024\n\nFerry report\n\nThe ferry resumed service.\n")
        assert lines.next()["added"] == 1  # and it keeps watching after the catch-up
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=TIMEOUT) == 0  # Ctrl-C stops cleanly
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_a_watcher_keeps_a_chroma_server_in_step(chroma_url: str, fake_settings, hash_embedder, folder: Path,
                                                 tmp_path: Path) -> None:
    s = fake_settings.replace(chroma_url=chroma_url, collection="watch-test", watch_debounce_ms=100)
    run = Running(Engine(s, embedder=hash_embedder), [folder])
    try:
        assert run.next_batch().report.added == 2
        write(folder, "c.txt", "Rail strike ends", "Rail workers ended their strike after nine days. " * 5)
        assert run.next_batch().report.added == 1
        (folder / "a.txt").unlink()
        assert run.next_batch().report.removed == 1
        elsewhere = Engine(s.replace(index_dir=tmp_path / "elsewhere"), embedder=hash_embedder)  # another machine
        assert doc_ids(elsewhere) == {"docs/b.txt", "docs/c.txt"}
    finally:
        run.close()
