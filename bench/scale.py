"""Retrieval at scale: a generated collection of 100,000 chunks (no download).

    python bench/scale.py [--chunks 100000]

Chunk texts are assembled from a pool of generated sentences; their vectors are the
normalized mean of the real model's sentence vectors (embedding 100k chunks for real would
take about an hour on 2 cores, and latency does not depend on where vectors came from).
Prints hybrid retrieval p50/p95 against plain dense Chroma retrieval, index size on disk,
and peak memory.
"""

from __future__ import annotations

import argparse
import os
import random
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


def run(n_chunks: int, seed: int = 5, per_doc: int = 4, queries: int = 100) -> list[dict]:
    import numpy as np

    from assistant.config import load_settings
    from assistant.engine import Engine
    from assistant.indexer import bm25_dir, build_lexical, expected_build
    from assistant.records import Chunk
    from assistant.store import ManifestEntry, Store

    rnd = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        settings = load_settings(cwd=tmp, env={}, index_dir=tmp / "index")
        engine = Engine(settings)
        emb = engine.embedder
        towns = list({"".join(rnd.choice(SYL) for _ in range(3)).capitalize() for _ in range(n_chunks // per_doc * 2)})
        pool = []
        for t in towns[:400]:
            p, topic = rnd.choice(PROJECTS)
            pool.append(f"The town council of {t} approved a new {p} for its {topic} plans, costing {rnd.randint(11, 980)} million euros.")
        pool += FILLER
        log(f"embedding a pool of {len(pool)} sentences…")
        pool_vecs = emb.encode(pool)
        store = Store(settings, expect=expected_build(settings))
        t0 = time.perf_counter()
        n_docs = n_chunks // per_doc
        batch_chunks: list[Chunk] = []
        batch_vecs = []
        entries = []
        for d in range(n_docs):
            doc_id = f"gen/{d:06d}.txt"
            ids = []
            for o in range(per_doc):
                picks = [rnd.randrange(len(pool)) for _ in range(5)]
                text = " ".join(pool[i] for i in picks).replace("The town council of", f"In {towns[d % len(towns)]}, the council of", 1)
                v = pool_vecs[picks].mean(axis=0)
                cid = f"{d:06d}-{o}"
                ids.append(cid)
                batch_chunks.append(Chunk(chunk_id=cid, doc_id=doc_id, ordinal=o, start=o * 600, end=o * 600 + len(text),
                                          text=text, title=f"Report {d}", source=doc_id, content_hash=str(d)))
                batch_vecs.append(v / np.linalg.norm(v))
            entries.append(ManifestEntry(doc_id=doc_id, source=doc_id, content_hash=str(d), chunk_ids=ids, title=f"Report {d}"))
            if len(batch_chunks) >= 2000 or d == n_docs - 1:
                store.add_chunks(batch_chunks, np.array(batch_vecs, dtype=np.float32))
                batch_chunks, batch_vecs = [], []
                log(f"  {d + 1}/{n_docs} documents written")
        store.commit_entries(entries)
        gen = store.new_generation()
        build_lexical(store, gen).save(bm25_dir(settings))
        build_s = time.perf_counter() - t0
        rss_index = peak_rss_mb()
        engine = Engine(settings, embedder=emb)
        engine.open()
        questions = [f"How much did {towns[rnd.randrange(min(n_docs, len(towns)))]} spend on its {rnd.choice(PROJECTS)[0]}?" for _ in range(queries)]
        for q in questions[:5]:
            engine.retrieve(q, 5)
        hybrid, dense, qvec_ms = [], [], []
        retriever = engine._get_retriever()
        for q in questions:
            t = time.perf_counter()
            vec = emb.encode([q])[0]
            qvec_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            retriever.retrieve(q, 5, query_vector=vec)
            hybrid.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            store.query(vec, 5)
            dense.append((time.perf_counter() - t) * 1000)
        p95 = lambda xs: sorted(xs)[int(0.95 * (len(xs) - 1))]  # noqa: E731
        return [
            {"metric": f"retrieval p50 at {n_chunks} chunks, ms (hybrid vs dense)", "ours": statistics.median(hybrid),
             "baseline": statistics.median(dense), "target": "< 30 ms"},
            {"metric": f"retrieval p95 at {n_chunks} chunks, ms (hybrid vs dense)", "ours": p95(hybrid),
             "baseline": p95(dense), "target": "< 80 ms"},
            {"metric": "query embedding p50, ms", "ours": statistics.median(qvec_ms), "baseline": None, "target": ""},
            {"metric": f"write {n_chunks} chunks + BM25 (vectors given), s", "ours": build_s, "baseline": None, "target": ""},
            {"metric": f"index size on disk at {n_chunks} chunks, MB", "ours": du_mb(settings.index_dir), "baseline": None, "target": ""},
            {"metric": "peak RSS after writing, MB", "ours": rss_index, "baseline": None, "target": "< 2048 MB"},
            {"metric": "peak RSS after querying, MB", "ours": peak_rss_mb(), "baseline": None, "target": ""},
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    from bench.index import print_rows

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=100_000)
    args = ap.parse_args()
    print_rows(run(args.chunks))


if __name__ == "__main__":
    main()
