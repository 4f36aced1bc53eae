"""The claim check on the LLM path, before and after: faithful claims kept, corrupted ones dropped.

    python -m bench.support [--data DIR] [--per-source N]          # the "after" table (this tree)
    python -m bench.support --save before.json                     # keep the verdicts per claim
    python -m bench.support --before before.json                   # the table with a "before" column

Every claim is cited to its passage, pinned to the passage's best sentence and checked as the LLM
path does (`SupportChecker.pin_claims`, then `citations.check_answer` with the checker's judge),
with the real bundled embedder and spaCy loaded. Three kinds of rows:

- real: the held-out ("test") cases of bench/claim_data.py, written by others and judged by
  people; up to `--per-source` per source (seeded, both labels kept in proportion);
- corrupted: one-fact corruptions (bench/corrupt.py) of the real held-out faithful claims, by kind:
  the kinds the issue lists, on claims nobody here wrote (the corruption is ours, said apart);
- ours: examples/claims.jsonl and, when ../shared is there, examples/claims_shared.jsonl (kinds
  of cases; never tuned on).

"before" is the check as it stood: run this same script with the old `assistant/` package first
on the path (e.g. `git archive ac0ebc6 assistant examples | tar -x -C /tmp/old`, copy bench/
there, run it from there with --save), then pass the file here with --before. The old and new
checkers share `pin_claims` and `judge`. Per-rule precision on the real held-out claims (how often
a rule that fires is on an unfaithful claim) is printed for a tree whose checker has `signals`.
Time per claim: pin + judge, cold (no vector or parse cached), spaCy loaded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
SHARED = REPO.parent / "shared" / "articles"
PER_SOURCE = 500  # real held-out claims per source: enough for +-4 points, a run in minutes on 2 cores
SEED = 18


def our_cases() -> list[dict]:
    """Our gold claims, each with the chunk of its article that holds its quote as the passage."""
    from assistant.chunking import chunk_document
    from assistant.records import Document

    rows = [json.loads(x) for x in (EXAMPLES / "claims.jsonl").read_text().splitlines() if x.strip()]
    for r in rows:
        r["text"] = (EXAMPLES / "articles" / r["doc"]).read_text(encoding="utf-8")
        r["split"] = "ours-" + r["split"]
    shared = EXAMPLES / "claims_shared.jsonl"
    if SHARED.is_dir() and shared.exists():
        for x in shared.read_text().splitlines():
            r = json.loads(x)
            path = SHARED / r["article"]
            if not path.exists():
                continue
            text = path.read_text(encoding="utf-8")
            quote = text[r["start"]:r["end"]]
            if hashlib.sha1(quote.encode()).hexdigest()[:12] != r["quote_sha1"]:
                continue
            rows.append({**r, "doc": r["article"], "quote": quote, "text": text, "split": "ours-shared"})
    out = []
    for r in rows:
        chunks = chunk_document(Document(r["doc"], r["doc"], r["text"]))
        want = " ".join(r["quote"].split())[:100]
        passage = next((c.text for c in chunks if want in " ".join(c.text.split())), None)
        if passage is None:
            continue
        out.append({"id": r["id"], "group": r["split"], "kind": r["kind"], "claim": r["claim"], "passage": passage,
                    "faithful": bool(r["faithful"])})
    return out


def real_cases(data: Path, per_source: int) -> list[dict]:
    from bench.claim_data import load

    rng = random.Random(SEED)
    by_source: dict[str, list] = defaultdict(list)
    for c in load(data):
        if c.split == "test":
            by_source[c.source].append(c)
    out = []
    for source, cases in sorted(by_source.items()):
        rng.shuffle(cases)
        for c in cases[:per_source]:
            out.append({"id": c.id, "group": f"real-{source}", "kind": c.kind, "claim": c.claim, "passage": c.passage,
                        "faithful": c.faithful})
    return out


def corrupted_cases(real: list[dict]) -> list[dict]:
    from bench.corrupt import corruptions

    rng = random.Random(SEED)
    out = []
    for r in real:
        if r["faithful"]:
            for kind, bad in corruptions(r["claim"], r["passage"], rng):
                out.append({"id": f"{r['id']}~{kind}", "group": "corrupted", "kind": kind, "claim": bad,
                            "passage": r["passage"], "faithful": False})
    return out


def run(cases: list[dict]) -> tuple[dict[str, dict], list[float]]:
    from assistant.answer.citations import check_answer
    from assistant.answer.support import SupportChecker
    from assistant.config import Settings
    from assistant.embeddings import make_embedder
    from bench.train_claims import passage_of

    s = Settings()
    checker = SupportChecker(make_embedder(s), threshold=s.support_threshold, spacy_model=s.spacy_model)
    checker.use_parser()
    verdicts: dict[str, dict] = {}
    times: list[float] = []
    for n, c in enumerate(cases):
        passages = [passage_of(c["passage"], c["id"])]
        checker._vectors.clear()
        checker._docs.clear()
        t = time.perf_counter()
        body, cites = checker.pin_claims(f"{c['claim'].rstrip('.')} [1].", passages, [])
        checked = check_answer(body, cites, passages, checker.score, s.support_threshold, judge=checker.judge)
        times.append((time.perf_counter() - t) * 1000)
        rules: list[str] = []
        p = None
        if hasattr(checker, "signals") and cites:
            sig = checker.signals(c["claim"], cites[0].quote, c["passage"])
            rules, p = [f.rule for f in sig.findings], checker.model.probability(sig)
        verdicts[c["id"]] = {"kept": bool(checked.citations), "rules": rules, "p": p,
                             "reason": checked.dropped[0]["reason"] if checked.dropped else ""}
        if n % 500 == 0:
            print(f"  {n}/{len(cases)}", file=sys.stderr)
    return verdicts, times


def right(c: dict, kept: bool) -> bool:
    return kept if c["faithful"] else not kept


def table(cases: list[dict], after: dict, before: dict | None) -> list[tuple]:
    """(group, what, n, before, after) rows: faithful kept / corrupted dropped per group, per kind
    for the corrupted and our sets."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for c in cases:
        label = "faithful kept" if c["faithful"] else "corrupted dropped"
        groups[(c["group"], label)].append(c)
        if c["group"] == "corrupted" or c["group"].startswith("ours"):
            groups[(c["group"], ("kept " if c["faithful"] else "dropped ") + c["kind"])].append(c)
    rows = []
    for (group, what), cs in sorted(groups.items()):
        a = sum(right(c, after[c["id"]]["kept"]) for c in cs if c["id"] in after) / len(cs)
        b = None
        if before is not None:
            have = [c for c in cs if c["id"] in before]
            b = sum(right(c, before[c["id"]]["kept"]) for c in have) / len(have) if have else None
        rows.append((group, what, len(cs), b, a))
    return rows


CURVE = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)  # thresholds shown besides the packaged one


def operating_points(cases: list[dict], after: dict, before: dict | None) -> list[tuple[float, float, float]]:
    """Faithful kept / corrupted dropped on the real held-out claims at other probability thresholds
    (the packaged one is in the table): where the old check's single point falls on the new curve."""
    real = [c for c in cases if c["group"].startswith("real-") and c["group"] != "real-mrpc"
            and after[c["id"]].get("p") is not None]
    if not real:
        return []
    out = []
    for thr in CURVE:
        kept = [after[c["id"]]["p"] >= thr for c in real if c["faithful"]]
        dropped = [after[c["id"]]["p"] < thr for c in real if not c["faithful"]]
        out.append((thr, sum(kept) / len(kept), sum(dropped) / len(dropped)))
    if before is not None:
        have = [c for c in real if c["id"] in before]
        kept = [before[c["id"]]["kept"] for c in have if c["faithful"]]
        dropped = [not before[c["id"]]["kept"] for c in have if not c["faithful"]]
        out.append((float("nan"), sum(kept) / len(kept), sum(dropped) / len(dropped)))
    return out


def rule_precision(cases: list[dict], after: dict) -> dict[str, tuple[int, float]]:
    """Per rule, on the real held-out claims: firings and the share of them on unfaithful claims."""
    fired: dict[str, list[bool]] = defaultdict(list)
    for c in cases:
        if c["group"].startswith("real-"):
            for rule in set(after[c["id"]]["rules"]):
                fired[rule].append(not c["faithful"])
    return {r: (len(v), sum(v) / len(v)) for r, v in sorted(fired.items())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/data-external"))
    ap.add_argument("--per-source", type=int, default=PER_SOURCE)
    ap.add_argument("--save", type=Path, help="write the verdicts per claim (JSON)")
    ap.add_argument("--before", type=Path, help="verdicts saved from the old tree, for the before column")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    real = real_cases(args.data, args.per_source) if args.data.is_dir() else []
    cases = real + corrupted_cases(real) + our_cases()
    after, times = run(cases)
    before = json.loads(args.before.read_text())["verdicts"] if args.before else None
    times.sort()
    timing = {"p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))], "claims": len(times),
              "load_average": os.getloadavg()[0], "cpus": os.cpu_count()}
    if args.save:
        args.save.write_text(json.dumps({"verdicts": after, "timing": timing}))
    rows = table(cases, after, before)
    if args.json:
        print(json.dumps({"table": rows, "rules": rule_precision(cases, after), "timing": timing}))
        return
    print(f"{'group':<20} {'':<26} {'n':>5} {'before':>7} {'after':>7}")
    for group, what, n, b, a in rows:
        print(f"{group:<20} {what:<26} {n:>5} {'' if b is None else f'{b:.2f}':>7} {a:>7.2f}")
    curve = operating_points(cases, after, before)
    if curve:
        print("\nthe model's other operating points on the real held-out claims (all sources but MRPC)")
        for thr, kept, dropped in curve:
            name = "the old check" if thr != thr else f"threshold {thr:.2f}"
            print(f"  {name:<15}: faithful kept {kept:.2f}, corrupted dropped {dropped:.2f}")
    rp = rule_precision(cases, after)
    if rp:
        print("\nrule precision on the real held-out claims (share of firings on unfaithful claims)")
        for rule, (n, p) in rp.items():
            print(f"  {rule:<22} fires {n:>5}  precision {p:.3f}")
    print(f"\ncheck per claim (pin + judge, spaCy loaded, cold): p50 {timing['p50_ms']:.1f} ms, p95 "
          f"{timing['p95_ms']:.1f} ms over {timing['claims']} claims (load average {timing['load_average']:.1f} "
          f"on {timing['cpus']} cores)")


if __name__ == "__main__":
    main()
