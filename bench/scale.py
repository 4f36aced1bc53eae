"""Indexing and retrieval at scale: a generated collection of 100,000 chunks (no download).

    python bench/scale.py [--chunks 100000]

Writes article files assembled from a pool of generated sentences, then indexes them with the
real indexer (load, clean, chunk, embedding cache, Chroma, BM25) with the real model loaded.
Only the per-chunk model call is replaced: a chunk's vector is the normalized mean of the real
model's vectors of the pool sentences it contains (embedding 100k chunks for real takes about
30 minutes on 2 cores, and neither memory nor latency depends on where vectors came from;
bench/index.py measures the model's speed). Questions are embedded by the real model.
Prints indexing time and peak memory, hybrid retrieval p50/p95 against plain dense Chroma
retrieval, and the index size on disk.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.corpus import FILLER, PROJECTS, SYL  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def du_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class PoolEmbedder:
    """The real model for anything new (questions); pool-sentence means for generated chunks."""

    def __init__(self, real, pool: list[str]) -> None:  # noqa: ANN001
        self._real = real
        self.model_id = real.model_id
        self.dimension = real.dimension
        self._index = {s: i for i, s in enumerate(pool)}
        self._vecs = real.encode(pool)

    def encode(self, texts, progress=None):  # noqa: ANN001, ANN201
        import numpy as np

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            picks = [self._index[s] for s in SENTENCE_END.split(text.replace("\n", " ")) if s in self._index]
            if picks:
                v = self._vecs[picks].mean(axis=0)
                out[i] = v / np.linalg.norm(v)
            else:
                out[i] = self._real.encode([text])[0]
        if progress:
            progress(len(texts))
        return out


def write_articles(folder: Path, n_docs: int, pool: list[str], towns: list[str], rnd: random.Random) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for d in range(n_docs):
        town = towns[d % len(towns)]
        paragraphs = [" ".join(rnd.choice(pool) for _ in range(5)) for _ in range(4)]
        paragraphs[0] = f"In {town}, the council met on Tuesday. " + paragraphs[0]
        (folder / f"{d:06d}-{town.lower()}.txt").write_text(
            f"Report {d} from {town}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


def run(n_chunks: int, seed: int = 5, queries: int = 100, keep: Path | None = None) -> list[dict]:
    """`keep`: build in that folder and leave it there; if it already holds a build, only query it."""
    from assistant.chunking import chunk_document
    from assistant.config import load_settings
    from assistant.embeddings import make_embedder
    from assistant.engine import Engine
    from assistant.records import Document

    rnd = random.Random(seed)
    tmp = keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    reuse = keep is not None and (keep / "index").is_dir()
    try:
        settings = load_settings(cwd=tmp, env={}, index_dir=tmp / "index")
        real = make_embedder(settings)
        towns = sorted({"".join(rnd.choice(SYL) for _ in range(3)).capitalize() for _ in range(3000)})
        pool = []
        for t in towns[:400]:
            p, topic = rnd.choice(PROJECTS)
            pool.append(f"The town council of {t} approved a new {p} for its {topic} plans, costing "
                        f"{rnd.randint(11, 980)} million euros.")
        pool += FILLER
        log(f"embedding a pool of {len(pool)} sentences with the real model…")
        emb = PoolEmbedder(real, pool)
        write_articles(tmp / "probe", 40, pool, towns, random.Random(seed))
        per_doc = statistics.mean(
            len(chunk_document(Document(doc_id=f.name, source=f.name, text=f.read_text()), settings.chunk_size,
                               settings.chunk_overlap)) for f in (tmp / "probe").iterdir())
        n_docs = math.ceil(n_chunks / per_doc)
        if not reuse:
            log(f"writing {n_docs} articles (~{per_doc:.1f} chunks each)…")
            write_articles(tmp / "docs", n_docs, pool, towns, rnd)
        else:
            log(f"querying the build already in {keep}")
            rnd = random.Random(seed + 1)
        engine = Engine(settings, embedder=emb)
        log("indexing them with the real indexer…")
        t0 = time.perf_counter()
        report = engine.index([tmp / "docs"])
        build_s = time.perf_counter() - t0
        rss_index = peak_rss_mb()
        engine.close()
        engine = Engine(settings, embedder=emb)
        engine.open()
        questions = [f"How much did {towns[rnd.randrange(400)]} spend on its {rnd.choice(PROJECTS)[0]}?"
                     for _ in range(queries)]
        for q in questions[:5]:
            engine.retrieve(q, 5)
        hybrid, dense, qvec_ms = [], [], []
        retriever = engine._get_retriever()  # noqa: SLF001 - the bench times the parts separately
        store = engine._store  # noqa: SLF001
        for q in questions:
            t = time.perf_counter()
            vec = real.encode([q])[0]
            qvec_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            retriever.retrieve(q, 5, query_vector=vec)
            hybrid.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            store.query(vec, 5)
            dense.append((time.perf_counter() - t) * 1000)
        p95 = lambda xs: sorted(xs)[int(0.95 * (len(xs) - 1))]  # noqa: E731
        size = du_mb(settings.index_dir) + sum(
            p.stat().st_size for p in settings.index_dir.parent.glob(f".{settings.index_dir.name}-*") if p.is_file()) / 1e6
        return [
            {"metric": f"retrieval p50 at {report.chunks} chunks, ms (hybrid vs dense)", "ours": statistics.median(hybrid),
             "baseline": statistics.median(dense), "target": "< 30 ms"},
            {"metric": f"retrieval p95 at {report.chunks} chunks, ms (hybrid vs dense)", "ours": p95(hybrid),
             "baseline": p95(dense), "target": "< 80 ms"},
            {"metric": "query embedding p50, ms", "ours": statistics.median(qvec_ms), "baseline": None, "target": ""},
            {"metric": (f"unchanged re-index of {report.unchanged} articles, s" if reuse else
                        f"index {report.added} articles -> {report.chunks} chunks (pool vectors), s"), "ours": build_s,
             "baseline": None, "target": ""},
            {"metric": f"index + embedding cache on disk at {report.chunks} chunks, MB", "ours": size, "baseline": None,
             "target": ""},
            {"metric": "peak RSS while indexing (model loaded), MB", "ours": rss_index, "baseline": None,
             "target": "< 2048 MB"},
            {"metric": "peak RSS after querying, MB", "ours": peak_rss_mb(), "baseline": None, "target": ""},
        ]
    finally:
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    from bench.index import print_rows

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--keep", type=Path, help="build in this folder and keep it; a second run only queries it")
    args = ap.parse_args()
    print_rows(run(args.chunks, keep=args.keep))


if __name__ == "__main__":
    main()
