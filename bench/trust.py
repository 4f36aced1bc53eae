"""Trust: answers that answer, refusals that are right, on questions nobody on the project wrote.

    python -m bench.trust                                  # the shared SQuAD subset's held-out fold + our sets
    python -m bench.trust --squad-extra PATH/dev-v2.0.json # + the held-out articles of more SQuAD data
    python -m bench.trust --json                           # the figures as one JSON object on stdout

1. SQuAD 2.0 (real crowd-written questions, a third to a half unanswerable and written to look
   answerable): every question of the held-out articles (those decision.json was not fitted
   on) is asked through `Engine.ask` over an index of all the set's articles, once, with the
   decision's confidence recorded. The curve is refused vs answered right as the threshold
   moves, and the chosen point is the default `decision_threshold`. Answered right: the
   answer holds a gold answer; cited: a citation lies in the gold paragraph.
2. Our own sets over the sample and shared articles (examples/): gold questions, the
   adversarial splits (one key term changed: a detail never given, a changed fact, an absent
   entity) and the follow-ups of examples/conversations.jsonl: refused, answered right, cited.
   They check kinds of cases; they were not tuned on, but they were written here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.squad import FOLDS, SHARED_SQUAD, contains_answer, doc_id_of, load_squad, squad_engine  # noqa: E402

EXAMPLES = REPO / "examples"
SHARED_ARTICLES = REPO.parent / "shared" / "articles"
SPLITS = ["tune", "heldout", "heldout2", "heldout3", "heldout4", "heldout5"]
CURVE = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def squad_outcomes(path: Path, held: set[str] | None) -> list[dict]:
    """One record per held-out question: unanswerable?, right?, cited?, confidence."""
    articles = load_squad(path)
    engine, spans = squad_engine(articles, {"decision_threshold": 0.0})  # never refuse: the curve needs every answer
    engine.warm()
    out = []
    for a in articles:
        if held is not None and a.title not in held:
            continue
        doc_id = doc_id_of(engine, a)
        for q in a.questions:
            ans = engine.ask(q.question)
            span = spans[a.title][q.paragraph]
            out.append({
                "article": a.title, "impossible": q.impossible, "confidence": ans.confidence or 0.0,
                "answered": ans.answered,
                "right": ans.answered and not q.impossible and contains_answer(ans.answer, q.answers),
                "cited": ans.answered and span is not None and any(
                    c.doc_id == doc_id and c.start < span[1] and c.end > span[0] for c in ans.citations),
                "ms": ans.timings.get("retrieve_ms", 0.0) + ans.timings.get("answer_ms", 0.0),
            })
    engine.close()
    return out


def at(rows: list[dict], threshold: float) -> dict[str, float]:
    ans = [r for r in rows if not r["impossible"]]
    imp = [r for r in rows if r["impossible"]]
    keep = lambda r: r["answered"] and r["confidence"] >= threshold  # noqa: E731
    return {
        "threshold": threshold,
        "answered_right": sum(r["right"] and keep(r) for r in ans) / max(1, len(ans)),
        "gold_paragraph_cited": sum(r["cited"] and keep(r) for r in ans) / max(1, len(ans)),
        "answerable_refused": sum(not keep(r) for r in ans) / max(1, len(ans)),
        "unanswerable_refused": sum(not keep(r) for r in imp) / max(1, len(imp)) if imp else float("nan"),
    }


def squad_section(label: str, rows: list[dict], threshold: float) -> dict:
    ms = [r["ms"] for r in rows]
    return {"set": label, "questions": len(rows), "unanswerable": sum(r["impossible"] for r in rows),
            "articles": len({r["article"] for r in rows}), "refusing_nothing": at(rows, 0.0),
            "chosen": at(rows, threshold), "curve": [at(rows, t) for t in CURVE],
            "p50_ms": round(statistics.median(ms), 1) if ms else None}


def own_sets(threshold: float) -> dict:
    """Our sets, with the default threshold and with refusing nothing."""
    from assistant.config import load_settings
    from assistant.engine import Engine
    from assistant.evaluation import evaluate, load_gold

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = load_settings(cwd=root, env={}, index_dir=root / "index", state_dir=root / "state")
        engine = Engine(settings)
        engine.index([EXAMPLES / "articles"] + ([SHARED_ARTICLES] if SHARED_ARTICLES.is_dir() else []))
        never = Engine(settings.replace(decision_threshold=0.0), embedder=engine.embedder)
        for name in ["gold"] + [f"adversarial-{s}" for s in SPLITS]:
            items = load_gold(EXAMPLES / f"{name}.jsonl")
            row = {}
            for label, e in (("refusing_nothing", never), ("chosen", engine)):
                d = evaluate(e, items, settings.k).to_dict()
                row[label] = {"unanswerable_refused": d["abstain_correct"], "answered_right": d["answer_hit"],
                              "cited": d["citation_recall"], "answerable_refused": d["false_abstain"]}
            out[name] = row
        conv = evaluate(engine, load_gold(EXAMPLES / "conversations.jsonl"), settings.k).to_dict()["conversations"]
        out["follow-ups"] = conv["followup"]
        engine.close()
        never.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--squad", type=Path, default=SHARED_SQUAD)
    ap.add_argument("--squad-extra", type=Path, help="more SQuAD-format data (its held-out articles are reported)")
    ap.add_argument("--skip-own", action="store_true", help="SQuAD only")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from assistant.answer.decide import load_models

    meta = json.loads((REPO / "assistant" / "answer" / "decision.json").read_text())
    threshold = load_models()["cross-encoder"].threshold
    held = set(meta.get("held_out_articles", []))
    results: dict = {"threshold": threshold, "squad": []}
    if args.squad.exists():
        shared_titles = {a.title for a in load_squad(args.squad)}
        shared_held = held & shared_titles or set(FOLDS["B"])
        log(f"SQuAD (shared subset): held-out articles {sorted(shared_held)}")
        results["squad"].append(squad_section("shared subset, held-out fold", squad_outcomes(args.squad, shared_held),
                                              threshold))
    if args.squad_extra:
        log(f"SQuAD ({args.squad_extra.name}): held-out articles")
        titles = {a.title for a in load_squad(args.squad_extra)}
        results["squad"].append(squad_section(f"{args.squad_extra.name}, held-out articles",
                                              squad_outcomes(args.squad_extra, held & titles or None), threshold))
    if not args.skip_own:
        log("our own sets")
        results["own"] = own_sets(threshold)
    if args.json:
        print(json.dumps(results))
        return
    print(f"decision threshold (default): {threshold}")
    for s in results["squad"]:
        print(f"\nSQuAD 2.0 — {s['set']}: {s['questions']} questions ({s['unanswerable']} unanswerable), "
              f"{s['articles']} articles, p50 {s['p50_ms']} ms")
        print("  threshold  answered right  gold cited  answerable refused  unanswerable refused")
        for row in s["curve"] + [dict(s["chosen"], threshold=f"{threshold} *")]:
            print(f"  {str(row['threshold']):<9}  {row['answered_right']:.3f}           {row['gold_paragraph_cited']:.3f}"
                  f"       {row['answerable_refused']:.3f}               {row['unanswerable_refused']:.3f}")
    if "own" in results:
        print("\nour sets (examples/)        refused unanswerable   answered right   cited   answerable refused")
        for name, row in results["own"].items():
            if name == "follow-ups":
                continue
            for label in ("refusing_nothing", "chosen"):
                r = row[label]
                print(f"  {name:<22} {label:<17} {r['unanswerable_refused']:.2f}        {r['answered_right']:.2f}"
                      f"         {r['cited']:.2f}     {r['answerable_refused']:.2f}")
        f = results["own"]["follow-ups"]
        print(f"  follow-ups ({f['turns']} turns): answer hit {f['answer_hit']:.3f}, cited {f['citation_recall']:.3f}")


if __name__ == "__main__":
    main()
