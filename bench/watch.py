"""The watcher: time from a file landing in a watched folder to it being answerable, and the idle
watcher's CPU.

    python bench/watch.py [--trials 20] [--burst 200] [--base 300] [--idle 20] [--debounce-ms 800]

A Watcher runs on a thread over a folder that already holds `--base` generated articles, with the
real bundled model. One file: written, then timed until `engine.retrieve` returns one of its
passages (the batch applied and the engine reloaded); `--trials` times. A burst: `--burst` files
written at once; each file's latency runs from its own write to the moment the batch holding it
was applied. Idle CPU: an `assistant index DIR --watch` subprocess, its user+system CPU time
(/proc) over `--idle` seconds with nothing changing, as a share of one core.

`--scale N` (with the fake hash embedder, so the collection builds fast) times a one-file batch on a
folder of N articles against one of N/10: a batch should cost the same at both sizes.
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.corpus import FILLER, PROJECTS, SYL  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def name(rnd: random.Random) -> str:
    return "".join(rnd.choice(SYL) for _ in range(3)).capitalize()


def article(i: int, rnd: random.Random) -> tuple[str, str]:
    """An article with a unique made-up town: the word that finds it."""
    town = f"{name(rnd)}{i}"
    project, topic = rnd.choice(PROJECTS)
    body = (f"The council of {town} approved a {project} costing {rnd.randint(2, 900)} million on Monday. "
            f"The {topic} budget of {town} will carry most of the cost. " + " ".join(rnd.sample(FILLER, 4)))
    return town, f"May {1 + i % 28}, 2024\n\n{town} approves {project}\n\nBy Ana Test\n\n{body}\n"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


class Watching:
    def __init__(self, engine, folder: Path) -> None:  # noqa: ANN001
        from assistant.watch import Watcher

        self.batches: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=Watcher(engine, [folder], on_batch=self._on_batch, stop=self.stop).run,
                                       daemon=True)
        self.thread.start()
        self.batches.get(timeout=3600)  # the first full pass

    def _on_batch(self, batch) -> None:  # noqa: ANN001
        self.batches.put((time.perf_counter(), batch))

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


def one_file_latency(engine, folder: Path, trials: int, rnd: random.Random) -> list[float]:  # noqa: ANN001
    w = Watching(engine, folder)
    out = []
    try:
        for t in range(trials):
            town, text = article(100_000 + t, rnd)
            t0 = time.perf_counter()
            (folder / f"single-{t}.txt").write_text(text)
            while not any(p.chunk.doc_id.endswith(f"single-{t}.txt") for p in engine.retrieve(town, k=3)):
                w.batches.get(timeout=600)
            out.append(time.perf_counter() - t0)
    finally:
        w.close()
    return out


def burst_latency(engine, folder: Path, n: int, rnd: random.Random) -> tuple[list[float], float, int]:  # noqa: ANN001
    w = Watching(engine, folder)
    burst = folder / "burst"
    burst.mkdir()
    written: dict[str, float] = {}
    towns = []
    try:
        t0 = time.perf_counter()
        for i in range(n):
            town, text = article(200_000 + i, rnd)
            path = burst / f"b{i:04d}.txt"
            path.write_text(text)
            written[str(path)] = time.perf_counter()
            towns.append((town, path.name))
        latencies: list[float] = []
        batches = 0
        added = 0
        while added < n:
            at, batch = w.batches.get(timeout=3600)
            batches += 1
            added += batch.report.added
            for p in batch.paths:  # a batch may name the burst folder itself, or its files
                latencies.extend(at - t for f, t in written.items() if f == p or f.startswith(p + os.sep))
        total = time.perf_counter() - t0
        for town, fname in rnd.sample(towns, 10):  # spot check: answerable
            assert any(p.chunk.doc_id.endswith(fname) for p in engine.retrieve(town, k=3)), fname
    finally:
        w.close()
    return latencies, total, batches


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(folder: Path, work: Path, seconds: float, debounce_ms: int) -> float:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")},
           "ASSISTANT_WATCH_DEBOUNCE_MS": str(debounce_ms), "ASSISTANT_INDEX_DIR": "index"}
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "index", str(folder), "--watch", "--json"],
                            cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        proc.stdout.readline()  # the first pass is done: from here on it only watches
        time.sleep(2)  # let start-up work settle before measuring
        c0, t0 = cpu_seconds(proc.pid), time.perf_counter()
        time.sleep(seconds)
        return (cpu_seconds(proc.pid) - c0) / (time.perf_counter() - t0)
    finally:
        proc.terminate()
        proc.wait()


def scale(n: int, rnd: random.Random, root: Path) -> None:
    """One-file batch cost at n/10 and at n articles (fake embedder: the index part is what is timed)."""
    from assistant.config import load_settings
    from assistant.engine import Engine
    from tests.conftest import HashEmbedder

    for size in (n // 10, n):
        work = root / f"scale-{size}"
        folder = work / "docs"
        folder.mkdir(parents=True)
        for i in range(size):
            (folder / f"a{i:06d}.txt").write_text(article(i, rnd)[1])
        settings = load_settings(cwd=work, env={}, index_dir=work / "index").replace(model="test-hash")
        engine = Engine(settings, embedder=HashEmbedder())
        t = time.perf_counter()
        w = Watching(engine, folder)
        log(f"  {size} articles indexed in {time.perf_counter() - t:.0f}s")
        applied, total = [], []
        try:
            for k in range(10):
                _town, text = article(900_000 + k, rnd)
                t0 = time.perf_counter()
                (folder / f"new-{k}.txt").write_text(text)
                at, batch = w.batches.get(timeout=600)
                applied.append(batch.report.seconds)
                total.append(at - t0)
        finally:
            w.close()
        print(f"one-file batch at {size:>6} articles: applied in {statistics.median(applied) * 1000:.0f} ms "
              f"(median of 10), landing to applied {statistics.median(total) * 1000:.0f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--burst", type=int, default=200)
    ap.add_argument("--base", type=int, default=300, help="articles in the folder before timing")
    ap.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU measurement")
    ap.add_argument("--debounce-ms", type=int, default=None, help="watch_debounce_ms (default: the config's)")
    ap.add_argument("--scale", type=int, default=0, help="also time one-file batches at this many articles (fake embedder)")
    args = ap.parse_args()

    from assistant.config import load_settings
    from assistant.engine import Engine

    rnd = random.Random(5)
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        work = Path(tmp)
        folder = work / "docs"
        folder.mkdir()
        for i in range(args.base):
            (folder / f"base-{i:05d}.txt").write_text(article(i, rnd)[1])
        settings = load_settings(cwd=work, env={}, index_dir=work / "index")
        if args.debounce_ms is not None:
            settings = settings.replace(watch_debounce_ms=args.debounce_ms)
        debounce = settings.watch_debounce_ms
        engine = Engine(settings)
        engine.embedder.encode(["warm up"])
        log(f"indexing {args.base} base articles, then {args.trials} single files (debounce {debounce} ms)")
        single = one_file_latency(engine, folder, args.trials, rnd)
        print(f"one file landing -> answerable: p50 {pct(single, 0.5) * 1000:.0f} ms, p95 {pct(single, 0.95) * 1000:.0f} ms "
              f"({args.trials} trials, debounce {debounce} ms, {args.base} articles in the folder)")
        log(f"a burst of {args.burst}")
        lat, total, batches = burst_latency(engine, folder, args.burst, rnd)
        print(f"burst of {args.burst} files: each answerable after p50 {pct(lat, 0.5):.1f} s, p95 {pct(lat, 0.95):.1f} s; "
              f"all in {total:.1f} s, {batches} batch(es)")
        log(f"idle CPU over {args.idle:.0f} s")
        share = idle_cpu(folder, work, args.idle, debounce)
        print(f"idle watcher (assistant index --watch): {share * 100:.2f}% of one core over {args.idle:.0f} s")
        if args.scale:
            log(f"one-file batch cost at {args.scale // 10} and {args.scale} articles (fake embedder)")
            scale(args.scale, rnd, work)


if __name__ == "__main__":
    main()
