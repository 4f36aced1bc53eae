"""Fit the decision to answer or refuse (assistant/answer/decision.json) on real questions.

    python -m bench.train_decision                                  # the shared SQuAD 2.0 subset only
    python -m bench.train_decision --extra PATH/dev-v2.0.json       # + more SQuAD-format data (whole articles)
    python -m bench.train_decision --write                          # also write decision.json

Every question goes through the production answer step (retrieve → sentences → rerank →
choose → the decision's features, `assistant/answer/`), over an index of all the articles of
its set, once per ranker (the cross-encoder, and the embedding fallback). A question counts
as answered right when the chosen sentences contain a gold answer; an unanswerable one never
does. A logistic regression is fitted on the training articles (its strength by grouped
cross-validation over articles), and the threshold is the highest confidence at which
answerable questions, in cross-validated predictions over the training articles, lose at most
`--max-loss` of answers right against refusing nothing. Whole articles are kept aside (dev
fold B of the shared subset, and every other article of `--extra`) and the figures on them are
printed and stored with the parameters. Features are cached under ~/.cache/assistant-bench.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.squad import CACHE, SHARED_SQUAD, Article, contains_answer, doc_id_of, load_squad, squad_engine  # noqa: E402

OUT = REPO / "assistant" / "answer" / "decision.json"
RANKERS = ("cross-encoder", "embedding")
MAX_LOSS = 0.02  # answers right that answerable questions may lose against refusing nothing (issue 18)
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)


@dataclass
class Row:
    qid: str
    article: str
    impossible: bool
    right: bool  # the chosen sentences contain a gold answer
    cited: bool  # a chosen sentence lies in the gold paragraph
    features: dict[str, float]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _code_key() -> str:
    """The cache's key: the feature names and the sentence selection's settings (bump FEATURES_VERSION
    when a feature's computation changes)."""
    from assistant.answer import candidates, choose, rerank
    from assistant.answer.decide import FEATURES_VERSION, feature_names

    parts = [FEATURES_VERSION, *feature_names(), str(rerank.TOP_N), str(rerank.MAX_TOKENS), str(choose.SECOND_MARGIN),
             str(candidates.W_LEXICAL), str(candidates.MIN_SENTENCE_CHARS)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:10]


def gather(articles: list[Article], label: str, limit: int | None = None) -> dict[str, list[Row]]:
    """Each question's features and outcome, per ranker (cached)."""
    from assistant.answer.candidates import sentences
    from assistant.answer.decide import WordVectors, features
    from assistant.answer.extractive import Query, read
    from assistant.answer.rerank import SentenceRanker

    key = hashlib.sha256("".join(a.text() for a in articles).encode()).hexdigest()[:8]
    path = CACHE / f"features-{label}-{key}-{_code_key()}-{limit}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    engine, spans = squad_engine(articles)
    engine.warm()
    rankers = {"cross-encoder": engine.ranker(), "embedding": SentenceRanker(None, engine.embedder.encode)}
    assert rankers["cross-encoder"].cross_encoder is not None, "the cross-encoder did not load"
    vectors = WordVectors(engine.embedder.encode)
    doc_ids = {a.title: doc_id_of(engine, a) for a in articles}
    questions = [q for a in articles for q in a.questions][:limit]
    partial = path.with_suffix(".partial")
    out: dict[str, list[Row]] = pickle.loads(partial.read_bytes()) if partial.exists() else {r: [] for r in RANKERS}
    done = {row.qid for row in out["cross-encoder"]}
    for n, q in enumerate(questions):
        if q.qid in done:
            continue
        passages = engine.retrieve(q.question)
        span = spans[q.article][q.paragraph]
        for name, ranker in rankers.items():
            pool = sentences(passages)
            query = Query(q.question, q.question)
            ranked, chosen = read(query, pool, passages, ranker)
            if not chosen:
                continue
            text = " ".join(s.text for s in chosen)
            right = not q.impossible and contains_answer(text, q.answers)
            cited = span is not None and any(s.doc_id == doc_ids[q.article] and s.start < span[1] and s.end > span[0]
                                             for s in chosen)
            out[name].append(Row(q.qid, q.article, q.impossible, right, cited,
                                 features(q.question, chosen[0], ranked.sentences, passages, vectors)))
        if n % 250 == 0:
            log(f"{label}: {n}/{len(questions)}")
            path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(pickle.dumps(out))  # a stopped run resumes here
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(out))
    partial.unlink(missing_ok=True)
    return out


def matrix(rows: list[Row], names: list[str]) -> np.ndarray:
    return np.array([[r.features[n] for n in names] for r in rows], dtype=float)


def fit(rows: list[Row], names: list[str], c: float):  # noqa: ANN201 - (mean, scale, coef, intercept)
    """L2-regularised logistic regression with each weight held to the direction its evidence points
    (`decide.DIRECTION`): SQuAD's unanswerable questions reuse more of their paragraph's words than
    answerable ones, and an unconstrained fit learns "more of the question covered, less likely an
    answer", which would answer a question about an absent subject more readily than one about a
    present one. The data sets how much each signal counts, never its sign."""
    from scipy.optimize import minimize

    from assistant.answer.decide import DIRECTION

    x = matrix(rows, names)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    y = np.array([r.right for r in rows], dtype=float)
    n = len(y)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        logits = z @ w[:-1] + w[-1]
        p = 1.0 / (1.0 + np.exp(-logits))
        eps = 1e-12
        value = -np.sum(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)) / n + 0.5 * np.sum(w[:-1] ** 2) / (c * n)
        grad = np.append(z.T @ (p - y) / n + w[:-1] / (c * n), np.sum(p - y) / n)
        return value, grad

    bounds = [(0.0, None) if DIRECTION.get(name, 0) > 0 else (None, 0.0) if DIRECTION.get(name, 0) < 0 else (None, None)
              for name in names] + [(None, None)]
    w = minimize(loss, np.zeros(len(names) + 1), jac=True, method="L-BFGS-B", bounds=bounds).x
    return mean, scale, w[:-1], float(w[-1])


def predict(params, rows: list[Row], names: list[str]) -> np.ndarray:  # noqa: ANN001
    mean, scale, coef, intercept = params
    z = ((matrix(rows, names) - mean) / scale) @ coef + intercept
    return 1.0 / (1.0 + np.exp(-z))


def cross_predict(rows: list[Row], names: list[str], c: float) -> np.ndarray:
    """Out-of-article predictions: each article's questions scored by a model fitted without it."""
    articles = sorted({r.article for r in rows})
    out = np.zeros(len(rows))
    for a in articles:
        train = [r for r in rows if r.article != a]
        idx = [i for i, r in enumerate(rows) if r.article == a]
        out[idx] = predict(fit(train, names, c), [rows[i] for i in idx], names)
    return out


def outcome(rows: list[Row], p: np.ndarray, threshold: float) -> dict[str, float]:
    keep = p >= threshold
    ans = np.array([not r.impossible for r in rows])
    right = np.array([r.right for r in rows])
    cited = np.array([r.cited for r in rows])
    imp = ~ans
    return {
        "answerable": int(ans.sum()), "unanswerable": int(imp.sum()),
        "answered_right": float((right & keep)[ans].mean()) if ans.any() else float("nan"),
        "answered_right_refusing_nothing": float(right[ans].mean()) if ans.any() else float("nan"),
        "gold_paragraph_cited": float((cited & keep)[ans].mean()) if ans.any() else float("nan"),
        "answerable_refused": float((~keep)[ans].mean()) if ans.any() else float("nan"),
        "unanswerable_refused": float((~keep)[imp].mean()) if imp.any() else float("nan"),
    }


def choose_threshold(rows: list[Row], p: np.ndarray, max_loss: float) -> float:
    """The highest bar at which answerable questions lose at most `max_loss` answers right."""
    ans = np.array([not r.impossible for r in rows])
    right = np.array([r.right for r in rows])
    base = right[ans].mean()
    best = 0.0
    for t in np.unique(np.round(p, 4)):
        if base - (right & (p >= t))[ans].mean() <= max_loss:
            best = max(best, float(t))
    return best


def curve(rows: list[Row], p: np.ndarray) -> list[dict[str, float]]:
    return [{"threshold": t, **outcome(rows, p, t)} for t in np.round(np.linspace(0, 0.9, 19), 2).tolist()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--squad", type=Path, default=SHARED_SQUAD, help="the shared SQuAD 2.0 subset")
    ap.add_argument("--extra", type=Path, help="more SQuAD-format data; its fold B is kept aside")
    ap.add_argument("--max-loss", type=float, default=MAX_LOSS)
    ap.add_argument("--limit", type=int, help="questions per set (a quick look)")
    ap.add_argument("--write", action="store_true", help=f"write {OUT.relative_to(REPO)}")
    args = ap.parse_args()
    if not args.squad.exists():
        sys.exit(f"{args.squad}: not found (the shared SQuAD subset lives in ../shared/data)")
    from assistant.answer.decide import feature_names

    shared = load_squad(args.squad)
    sets = {}
    if args.extra:
        extra = load_squad(args.extra)
        sets["extra"] = gather(extra, "extra", args.limit)
    sets["shared"] = gather(shared, "shared", args.limit)
    from bench.squad import FOLDS

    held = set(FOLDS["B"])  # the shared subset's fold B is kept aside, and so is every other extra article
    source = f"{args.squad.name} fold A ({len(FOLDS['A'])} articles)"
    if args.extra:
        titles = sorted(a.title for a in extra)
        held |= set(titles[1::2])
        source += f" + {args.extra.name} ({len(titles) - len(titles[1::2])} of {len(titles)} articles)"
    names = feature_names()
    result = {"models": {}, "trained": datetime.date.today().isoformat(), "trained_on": source,
              "held_out_articles": sorted(held), "max_loss": args.max_loss}
    for ranker in RANKERS:
        rows = [r for s in sets.values() for r in s[ranker]]
        train = [r for r in rows if r.article not in held]
        test = [r for r in rows if r.article in held]
        best_c, best_auc = C_GRID[0], -1.0
        from sklearn.metrics import roc_auc_score

        for c in C_GRID:
            p = cross_predict(train, names, c)
            auc = roc_auc_score([r.right for r in train], p)
            if auc > best_auc:
                best_c, best_auc = c, auc
        p_train = cross_predict(train, names, best_c)
        threshold = choose_threshold(train, p_train, args.max_loss)
        params = fit(train, names, best_c)
        p_test = predict(params, test, names)
        held_out = outcome(test, p_test, threshold)
        held_auc = roc_auc_score([r.right for r in test], p_test) if len({r.right for r in test}) > 1 else float("nan")
        log(f"\n[{ranker}] C={best_c} cross-validated AUC {best_auc:.3f}; threshold {threshold:.3f}")
        log(f"  training (cross-validated): {json.dumps({k: round(v, 3) for k, v in outcome(train, p_train, threshold).items()})}")
        log(f"  held-out articles: AUC {held_auc:.3f} {json.dumps({k: round(v, 3) for k, v in held_out.items()})}")
        mean, scale, coef, intercept = params
        result["models"][ranker] = {
            "features": names, "mean": mean.round(6).tolist(), "scale": scale.round(6).tolist(),
            "coef": coef.round(6).tolist(), "intercept": round(intercept, 6), "threshold": round(threshold, 4),
            "C": best_c, "held_out": {k: round(v, 4) for k, v in held_out.items()}, "held_out_auc": round(held_auc, 4),
            "curve_held_out": curve(test, p_test),
        }
        for n, w in sorted(zip(names, coef), key=lambda x: -abs(x[1]))[:8]:
            log(f"    {n:24s} {w:+.3f}")
    if args.write:
        OUT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        log(f"wrote {OUT}")


if __name__ == "__main__":
    main()
