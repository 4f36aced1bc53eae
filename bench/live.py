"""Readers of a live index at scale: the change check per question, and how soon an open reader is
current after a one-article change, local and through a Chroma server.

    python bench/live.py [--chunks 100000] [--keep DIR]

Builds (or, with --keep, reuses) the generated collection of bench/scale.py, opens a reader,
then lets ANOTHER PROCESS (`assistant index`, real model) add one article and times the
reader's `refresh_if_changed()` until it answers from it. The same again with the collection
served by `chroma run` and the reader as a server client on another "machine" (its own folder).
The full-reload costs the issue quotes (manifest read, BM25 rebuild from the store) are timed
beside them, in the same run, as the baseline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.scale import log  # noqa: E402

ARTICLE = ("May 3, 2026\n\nZeppelin museum opens\n\nBy Ana Test\n\nThe zeppelin museum of Qorvath opened on Monday "
           "with {n} restored airships and a hangar built in 1931.\n")


def _cli(args: list[str], cwd: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_INDEX_DIR"] = "index"  # the work folder keeps its own index, not the user's
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=cwd, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def _median_ms(fn, n: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _one_change(reader, folder: Path, docs: Path, n: int, extra: list[str]) -> tuple[float, float]:  # noqa: ANN001
    """Another process adds one article; returns (writer run s, reader refresh s)."""
    (docs / f"zeppelin-{n}.txt").write_text(ARTICLE.format(n=40 + n), encoding="utf-8")
    write_s = _cli(["index", "docs", *extra], folder)
    t = time.perf_counter()
    change = reader.refresh_if_changed()
    refresh_s = time.perf_counter() - t
    assert change is not None and change.added == 1, change
    answer = reader.ask(f"How many airships does the zeppelin museum of Qorvath have?")
    assert answer.answered, answer.answer
    return write_s, refresh_s


def run(n_chunks: int, keep: Path | None, rounds: int = 3) -> list[dict]:
    from assistant.config import load_settings
    from assistant.embeddings import make_embedder
    from assistant.engine import Engine
    from assistant.indexer import build_lexical
    from bench import scale

    tmp = keep or Path(tempfile.mkdtemp(prefix="bench-live-"))
    try:
        if not (tmp / "index").is_dir():
            log("building the collection (bench/scale.py)…")
            scale.run(n_chunks, keep=tmp, queries=5)
        settings = load_settings(cwd=tmp, env={}, index_dir=tmp / "index")
        real = make_embedder(settings)
        reader = Engine(settings, embedder=real)
        t = time.perf_counter()
        status = reader.open()
        open_s = time.perf_counter() - t
        log(f"reader open: {status.describe()} in {open_s:.2f}s")
        reader.ask("How much did the council spend?")
        store = reader._store  # noqa: SLF001 - the bench times the parts separately
        check_local = _median_ms(reader.refresh_if_changed, 2000)
        full_manifest = _median_ms(store.read_manifest, 3)
        full_bm25 = _median_ms(lambda: build_lexical(store, None), 1)
        rows = [
            {"metric": f"change check per question, nothing changed, local, {status.passages} chunks, ms",
             "ours": check_local, "baseline": None, "target": "< 2 ms"},
            {"metric": "full reload baseline: read the whole manifest, ms", "ours": full_manifest, "baseline": None,
             "target": ""},
            {"metric": "full reload baseline: rebuild BM25 from the store, ms", "ours": full_bm25, "baseline": None,
             "target": ""},
        ]
        writes, refreshes = [], []
        for i in range(rounds):
            w, r = _one_change(reader, tmp, tmp / "docs", i, [])
            writes.append(w)
            refreshes.append(r)
        rows += [
            {"metric": "one-article change, local: open reader current after the writer's commit, s (median)",
             "ours": statistics.median(refreshes), "baseline": (full_manifest + full_bm25) / 1000, "target": "< 1 s"},
            {"metric": "one-article change, local: the writer's whole `assistant index` run, s (median)",
             "ours": statistics.median(writes), "baseline": None, "target": ""},
        ]
        rows += _server_rows(tmp, settings, real, rounds, full_manifest, full_bm25)
        return rows
    finally:
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


def _server_rows(tmp: Path, settings, real, rounds: int, full_manifest: float, full_bm25: float) -> list[dict]:  # noqa: ANN001
    """The same collection served by `chroma run`; the reader is a client on another machine."""
    from assistant.engine import Engine
    from tests.conftest import free_port, stop_process

    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = free_port()
    proc = subprocess.Popen([exe, "run", "--path", str(tmp / "index" / "chroma"), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/api/v2/heartbeat", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        other = tmp / "client-b"
        shutil.rmtree(other, ignore_errors=True)
        reader = Engine(settings.replace(chroma_url=url, index_dir=other / "index"), embedder=real)
        t = time.perf_counter()
        reader.open()
        first_open = time.perf_counter() - t
        reader.ask("How much did the council spend?")
        check = _median_ms(reader.refresh_if_changed, 500)
        refreshes = [_one_change(reader, tmp, tmp / "docs", 100 + i, ["--chroma-url", url])[1] for i in range(rounds)]
        return [
            {"metric": "change check per question, nothing changed, server client, ms", "ours": check, "baseline": None,
             "target": "< 2 ms"},
            {"metric": "server client's first open (builds its BM25 copy once), s", "ours": first_open, "baseline": None,
             "target": ""},
            {"metric": "one-article change, server: client current after the writer's commit, s (median)",
             "ours": statistics.median(refreshes), "baseline": (full_manifest + full_bm25) / 1000, "target": "< 1 s"},
        ]
    finally:
        stop_process(proc)


def main() -> None:
    from bench.index import print_rows

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--keep", type=Path, help="build in this folder and keep it (reused by a later run)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print_rows(run(args.chunks, args.keep, args.rounds))


if __name__ == "__main__":
    main()
