"""SIGKILL `assistant index` and `assistant batch` at random moments: nothing is lost or duplicated.

The default suite runs a few trials; `make test-reliability` runs the long soak (-m reliability).
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.engine import Engine
from assistant.store import Store

pytestmark = pytest.mark.slow
TOPICS = ["harbor", "library", "railway", "vineyard", "observatory", "hospital", "bridge", "orchard", "mine", "canal"]


def make_corpus(folder: Path, n: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        body = "\n\n".join(
            f"The {topic} project number {i} in district {rnd.randint(1, 99)} cost {rnd.randint(2, 900)} million. "
            f"Officials said work on the {topic} would finish in {rnd.randint(2025, 2035)}. " * 3 for _ in range(4))
        (folder / f"doc{i:04d}.txt").write_text(f"May {1 + i % 28}, 2024\n\n{topic.title()} report {i}\n\nBy Ana Test\n\n{body}\n")


def env() -> dict[str, str]:
    # the working folder keeps its own index (./index), as a project's assistant.toml would say
    return {**{k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}, "ASSISTANT_INDEX_DIR": "index"}


def check_consistent(reader: Engine) -> dict[str, int]:
    """From a long-lived reader (as an open chat is): every listed chunk exists, no document shows
    two versions, queries still answer. The reader must notice the writes on its own."""
    reader.refresh_if_changed()
    store = reader._store
    if store is None:
        return {"docs": 0}
    manifest = reader._manifest
    assert manifest == store.read_manifest(), "the reader's manifest is not the index's"
    listed = [cid for e in manifest.values() for cid in e.chunk_ids]
    assert len(listed) == len(set(listed)), "a chunk id is listed twice"
    present = set(store.get_chunks(listed)) if listed else set()
    assert present == set(listed), "the manifest lists chunks the collection lacks"
    if manifest:
        hits = reader.retrieve("harbor project cost", k=5)
        assert hits and all(h.chunk.chunk_id in set(listed) for h in hits)
        per_doc: dict[str, set[str]] = {}
        for h in hits:
            per_doc.setdefault(h.chunk.doc_id, set()).add(h.chunk.content_hash)
        assert all(len(v) == 1 for v in per_doc.values()), "two versions of one document served"
    return {"docs": len(manifest)}


def committed_batches(work: Path) -> int:
    """The index's change sequence number: one step per committed batch of documents."""
    try:
        return int(json.loads((work / "index" / "stamp.json").read_text())[1])
    except (OSError, ValueError, IndexError):
        return 0


def kill_after_batches(work: Path, batches: int, per_batch: int, rnd: random.Random) -> bool:
    """Run `assistant index docs` and SIGKILL it once it has committed `batches` batches: the kill
    lands mid-run on a fast machine as on a slow one. Returns whether it was still running."""
    start = committed_batches(work)
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "index", "docs"], cwd=work,
                            env={**env(), "ASSISTANT_INDEX_BATCH_DOCS": str(per_batch)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and committed_batches(work) < start + batches:
        time.sleep(0.005)
    # a little later still, so kills also land between a batch's writes, not only right after one
    time.sleep(rnd.uniform(0, 0.05))
    running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return running


def kill_index_trials(tmp_path: Path, trials: int, n_docs: int, seed: int) -> dict[str, int]:
    rnd = random.Random(seed)
    work = tmp_path / "w"
    make_corpus(work / "docs", n_docs)
    per_batch = max(4, n_docs // 12)
    reader = Engine(load_settings(cwd=work, env={"ASSISTANT_INDEX_DIR": "index"}))
    survived = interrupted = 0
    for t in range(trials):
        if t > 0:  # edit files between trials: every run has several batches of updates to be killed in
            for p in rnd.sample(sorted((work / "docs").glob("*.txt")), 4 * per_batch):
                p.write_text(p.read_text() + f"\nAddendum {t}: the harbor budget was revised.\n")
        interrupted += kill_after_batches(work, rnd.randint(1, 3), per_batch, rnd)
        check_consistent(reader)
        survived += 1
    final = subprocess.run([sys.executable, "-m", "assistant.cli", "index", "docs", "--json"], cwd=work, env=env(),
                           capture_output=True, text=True, timeout=900)
    assert final.returncode == 0, final.stderr
    state = check_consistent(reader)
    assert state["docs"] == n_docs, "documents lost"
    fresh = Engine(load_settings(cwd=work, env={"ASSISTANT_INDEX_DIR": "index"}))
    assert check_consistent(fresh)["docs"] == n_docs, "a new reader disagrees with the long-lived one"
    store = Store(load_settings(cwd=work, env={"ASSISTANT_INDEX_DIR": "index"}))
    listed = {cid for e in store.read_manifest().values() for cid in e.chunk_ids}
    assert set(store.all_chunk_ids()) == listed, "orphaned chunks left after the completing run"
    return {"trials": trials, "survived": survived, "interrupted_mid_run": interrupted, "docs": state["docs"]}


def test_index_killed_at_random_moments_stays_consistent(tmp_path: Path) -> None:
    result = kill_index_trials(tmp_path, trials=4, n_docs=60, seed=7)
    assert result["survived"] == 4 and result["interrupted_mid_run"] >= 3


@pytest.mark.reliability
def test_index_kill_soak(tmp_path: Path) -> None:
    result = kill_index_trials(tmp_path, trials=20, n_docs=300, seed=11)
    print(json.dumps(result))
    assert result["survived"] == 20 and result["interrupted_mid_run"] >= 17


def test_batch_killed_mid_run_resumes_with_every_answer_exactly_once(tmp_path: Path) -> None:
    work = tmp_path / "b"
    make_corpus(work / "docs", 10)
    subprocess.run([sys.executable, "-m", "assistant.cli", "index", "docs"], cwd=work, env=env(), check=True,
                   capture_output=True, timeout=600)
    questions = [{"id": f"q{i}", "question": f"How much did the {TOPICS[i % 10]} project {i} cost?"} for i in range(30)]
    (work / "q.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    cmd = [sys.executable, "-m", "assistant.cli", "batch", "q.jsonl", "-o", "a.jsonl"]
    answers = work / "a.jsonl"
    for lines in (5, 15):  # kill once this many answers are written: mid-run on any machine
        proc = subprocess.Popen(cmd, cwd=work, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None and (not answers.exists() or answers.read_bytes().count(b"\n") < lines):
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    subprocess.run(cmd, cwd=work, env=env(), check=True, capture_output=True, timeout=600)
    ids = [json.loads(line)["id"] for line in (work / "a.jsonl").read_text().splitlines()]
    assert sorted(ids) == sorted(q["id"] for q in questions) and len(ids) == len(set(ids))


def test_a_second_concurrent_index_run_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    """The first run is held at a known point: this process holds the index lock as a run does."""
    from assistant.indexer import index_lock

    work = tmp_path / "c"
    make_corpus(work / "docs", 8)
    lock = index_lock(load_settings(cwd=work, env={"ASSISTANT_INDEX_DIR": "index"}))
    try:
        second = subprocess.run([sys.executable, "-m", "assistant.cli", "index", "docs"], cwd=work, env=env(),
                                capture_output=True, text=True, timeout=300)
        assert second.returncode == 1 and "another `assistant index` run" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
    finally:
        lock.release()
    after = subprocess.run([sys.executable, "-m", "assistant.cli", "index", "docs"], cwd=work, env=env(),
                           capture_output=True, text=True, timeout=300)
    assert after.returncode == 0, after.stderr
    assert check_consistent(Engine(load_settings(cwd=work, env={"ASSISTANT_INDEX_DIR": "index"})))["docs"] == 8
