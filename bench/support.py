"""The claim check: fidelity by kind of corruption, before (issue 15's old rule) and after, and time per claim.

    python -m bench.support              # the table on examples/claims.jsonl (+ the shared set when present)
    python -m bench.support --json       # the figures as one JSON object on stdout

Every claim is cited to the retrieved passage that holds its gold quote, pinned to that
passage's best sentence and checked, as the LLM path does (`SupportChecker.pin_claims` and
`check_answer`), with the real bundled embedding model. "before" is the check as it stood:
content overlap and cosine averaged, digits must match (`support.old_support`).
Time per claim is pinning + checking with spaCy loaded (its one-time load excluded), cold: the
passage's sentences are embedded and the quote parsed anew for every claim, as for a new answer.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
SHARED = REPO.parent / "shared" / "articles"


def load_claims(with_shared: bool = True) -> list[dict]:
    """The gold claims; shared-article claims get their quote from the article (text is not in the repo)."""
    rows = [json.loads(x) for x in (EXAMPLES / "claims.jsonl").read_text().splitlines() if x.strip()]
    shared = EXAMPLES / "claims_shared.jsonl"
    if with_shared and SHARED.is_dir() and shared.exists():
        for x in shared.read_text().splitlines():
            r = json.loads(x)
            path = SHARED / r["article"]
            if not path.exists():
                continue
            quote = path.read_text(encoding="utf-8")[r["start"]:r["end"]]
            if hashlib.sha1(quote.encode()).hexdigest()[:12] != r["quote_sha1"]:
                print(f"skipped {r['id']}: {r['article']} changed", file=sys.stderr)
                continue
            rows.append({**r, "doc": r["article"], "quote": quote, "split": "shared"})
    return rows


def _norm(s: str) -> str:
    return " ".join(s.split())


def cited_passage(engine, quote: str, k: int = 5):  # noqa: ANN001, ANN201
    """The retrieved passages for the quote and the 1-based number of the one holding it (or None)."""
    passages = engine.retrieve(quote, k)
    want = _norm(quote)[:120]
    for n, p in enumerate(passages, start=1):
        if want in _norm(p.chunk.text):
            return passages, n
    return passages, None


def run(with_shared: bool = True) -> dict:
    from assistant.answer.citations import best_quote, check_answer, citation_for
    from assistant.answer.support import SupportChecker, old_support
    from assistant.config import Settings, load_settings
    from assistant.embeddings import make_embedder
    from assistant.engine import Engine

    embedder = make_embedder(Settings())
    rows = load_claims(with_shared)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(cwd=Path(tmp), env={}, index_dir=Path(tmp) / "index")
        engine = Engine(settings, embedder=embedder)
        engine.index([EXAMPLES / "articles"] + ([SHARED] if with_shared and SHARED.is_dir() else []))
        checker = SupportChecker(embedder, threshold=settings.support_threshold, spacy_model=settings.spacy_model)
        t = time.perf_counter()
        checker.use_parser()
        load_s = time.perf_counter() - t
        old_vectors: dict[str, object] = {}

        def cos(a: str, b: str) -> float:
            for x in (a, b):
                if x not in old_vectors:
                    old_vectors[x] = embedder.encode([x])[0]
            return float(max(0.0, old_vectors[a] @ old_vectors[b]))

        def old(c: str, q: str) -> float:
            return old_support(c, q, cos)

        results = []
        times = []
        for r in rows:
            passages, n = cited_passage(engine, r["quote"])
            if n is None:
                print(f"skipped {r['id']}: its quote was not retrieved", file=sys.stderr)
                continue
            # before
            s, e, sc = best_quote(r["claim"], passages[n - 1], old)
            c = citation_for(1, passages[n - 1], s, e, sc)
            before = check_answer(f"{r['claim']} [1]", [c], passages, old, settings.support_threshold)
            # after; "cold": no vector or parse of this passage cached, as for a new answer
            checker._vectors.clear()
            checker._docs.clear()
            t = time.perf_counter()
            body, cites = checker.pin_claims(f"{r['claim']} [{n}]", passages, [])
            after = check_answer(body, cites, passages, checker.score, settings.support_threshold, judge=checker.judge)
            times.append((time.perf_counter() - t) * 1000)
            results.append({**r, "kept_before": bool(before.citations), "kept_after": bool(after.citations),
                            "reason": after.dropped[0]["reason"] if after.dropped else ""})
    return {"results": results, "times_ms": times, "spacy_load_s": load_s}


def table(results: list[dict]) -> dict:
    """Per split and kind: n, and the share right (faithful kept / corrupted dropped) before and after."""
    out: dict = defaultdict(dict)
    groups: dict = defaultdict(list)
    for r in results:
        groups[(r["split"], r["kind"])].append(r)
        groups[(r["split"], "ALL faithful" if r["faithful"] else "ALL corrupted")].append(r)
    for (split, kind), rs in sorted(groups.items()):
        right = (lambda r, key: r[key] if r["faithful"] else not r[key])
        out[split][kind] = {"n": len(rs), "before": sum(right(r, "kept_before") for r in rs) / len(rs),
                            "after": sum(right(r, "kept_after") for r in rs) / len(rs)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--no-shared", action="store_true", help="leave out the claims over ../shared/articles")
    ap.add_argument("--misses", metavar="SPLIT", help="list the claims of SPLIT (tune) judged wrongly after")
    args = ap.parse_args()
    res = run(not args.no_shared)
    tab = table(res["results"])
    times = sorted(res["times_ms"])
    timing = {"p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))],
              "claims": len(times), "spacy_load_s": res["spacy_load_s"], "load_average": os.getloadavg()[0],
              "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps({"fidelity": tab, "timing": timing}))
        return
    print("right = faithful kept / corrupted dropped")
    for split, kinds in tab.items():
        print(f"\n{split:<10} {'kind':<15} {'n':>4} {'before':>7} {'after':>7}")
        for kind, v in kinds.items():
            print(f"{'':<10} {kind:<15} {v['n']:>4} {v['before']:>7.2f} {v['after']:>7.2f}")
    print(f"\ncheck per claim (pin + judge, spaCy loaded): p50 {timing['p50_ms']:.1f} ms, "
          f"p95 {timing['p95_ms']:.1f} ms over {timing['claims']} claims; spaCy load {timing['spacy_load_s']:.1f} s "
          f"(load average {timing['load_average']:.1f} on {timing['cpus']} cores)")
    if args.misses:
        for r in res["results"]:
            if r["split"] == args.misses and r["kept_after"] != r["faithful"]:
                print(f"MISS {r['split']:<8} {r['id']:<8} {r['kind']:<9} {r['claim']!r} -> {r['reason']!r}")


if __name__ == "__main__":
    main()
