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
    return {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}


def check_consistent(workdir: Path) -> dict[str, int]:
    """Every listed chunk exists; no document shows two versions; queries still answer."""
    settings = load_settings(cwd=workdir, env={})
    if not (settings.index_dir / "chroma").exists():
        return {"docs": 0}
    store = Store(settings)
    manifest = store.read_manifest()
    listed = [cid for e in manifest.values() for cid in e.chunk_ids]
    assert len(listed) == len(set(listed)), "a chunk id is listed twice"
    present = set(store.get_chunks(listed)) if listed else set()
    assert present == set(listed), "the manifest lists chunks the collection lacks"
    engine = Engine(settings)
    if manifest:
        hits = engine.retrieve("harbor project cost", k=5)
        assert hits and all(h.chunk.chunk_id in set(listed) for h in hits)
        per_doc: dict[str, set[str]] = {}
        for h in hits:
            per_doc.setdefault(h.chunk.doc_id, set()).add(h.chunk.content_hash)
        assert all(len(v) == 1 for v in per_doc.values()), "two versions of one document served"
    return {"docs": len(manifest)}


def kill_index_trials(tmp_path: Path, trials: int, n_docs: int, seed: int) -> dict[str, int]:
    rnd = random.Random(seed)
    work = tmp_path / "w"
    make_corpus(work / "docs", n_docs)
    survived = 0
    for t in range(trials):
        if t % 3 == 2:  # edit some files between trials so updates get interrupted too
            for p in rnd.sample(sorted((work / "docs").glob("*.txt")), 5):
                p.write_text(p.read_text() + f"\nAddendum {t}: the harbor budget was revised.\n")
        proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "index", "docs"], cwd=work, env=env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.3, 6.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        check_consistent(work)
        survived += 1
    final = subprocess.run([sys.executable, "-m", "assistant.cli", "index", "docs", "--json"], cwd=work, env=env(),
                           capture_output=True, text=True, timeout=900)
    assert final.returncode == 0, final.stderr
    state = check_consistent(work)
    assert state["docs"] == n_docs, "documents lost"
    store = Store(load_settings(cwd=work, env={}))
    listed = {cid for e in store.read_manifest().values() for cid in e.chunk_ids}
    assert set(store.all_chunk_ids()) == listed, "orphaned chunks left after the completing run"
    return {"trials": trials, "survived": survived, "docs": state["docs"]}


def test_index_killed_at_random_moments_stays_consistent(tmp_path: Path) -> None:
    result = kill_index_trials(tmp_path, trials=4, n_docs=60, seed=7)
    assert result["survived"] == 4


@pytest.mark.reliability
def test_index_kill_soak(tmp_path: Path) -> None:
    result = kill_index_trials(tmp_path, trials=20, n_docs=300, seed=11)
    print(json.dumps(result))


def test_batch_killed_mid_run_resumes_with_every_answer_exactly_once(tmp_path: Path) -> None:
    work = tmp_path / "b"
    make_corpus(work / "docs", 10)
    subprocess.run([sys.executable, "-m", "assistant.cli", "index", "docs"], cwd=work, env=env(), check=True,
                   capture_output=True, timeout=600)
    questions = [{"id": f"q{i}", "question": f"How much did the {TOPICS[i % 10]} project {i} cost?"} for i in range(30)]
    (work / "q.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    cmd = [sys.executable, "-m", "assistant.cli", "batch", "q.jsonl", "-o", "a.jsonl"]
    for delay in (3.0, 4.0):
        proc = subprocess.Popen(cmd, cwd=work, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    subprocess.run(cmd, cwd=work, env=env(), check=True, capture_output=True, timeout=600)
    ids = [json.loads(line)["id"] for line in (work / "a.jsonl").read_text().splitlines()]
    assert sorted(ids) == sorted(q["id"] for q in questions) and len(ids) == len(set(ids))


def test_a_second_concurrent_index_run_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    work = tmp_path / "c"
    make_corpus(work / "docs", 80)
    first = subprocess.Popen([sys.executable, "-m", "assistant.cli", "index", "docs"], cwd=work, env=env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lock = work / ".index.lock"
        deadline = time.monotonic() + 60
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        assert first.poll() is None, "the first run ended before the second could start"
        second = subprocess.run([sys.executable, "-m", "assistant.cli", "index", "docs"], cwd=work, env=env(),
                                capture_output=True, text=True, timeout=300)
        assert second.returncode == 1 and "another `assistant index` run" in second.stderr
    finally:
        first.wait(timeout=600)
    assert first.returncode == 0
    assert check_consistent(work)["docs"] == 80
