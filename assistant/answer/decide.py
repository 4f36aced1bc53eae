"""Answer or refuse: one calibrated estimate that the chosen evidence answers the question.

Retrieval always finds something, and a sentence on the right subject can still lack the
asked-for fact ("How deep is the lake?" against a sentence on its area). No single signal tells
them apart (the cross-encoder's score alone: AUC 0.69 on SQuAD 2.0's unanswerable questions), so
a logistic regression weighs several: how the cross-encoder read the chosen sentence and its
rivals, how much of the question the evidence covers (idf-weighted stems; the weakest question
word's nearest evidence word by embedding), the names, numbers and dates of the question that
the evidence lacks, whether the evidence holds the asked-for kind of thing, and the retrieval
scores. It is fitted on real questions nobody on the project wrote (SQuAD 2.0, whole articles
kept aside for the figures) by `bench/train_decision.py`, which writes `decision.json` beside
this module; `decision_threshold` (a setting) is the confidence under which the answer is "not
in the articles", chosen there so that answerable questions lose at most 2 points of answers
right against refusing nothing.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from assistant.answer.asked import KINDS, asked_for, kinds_in
from assistant.answer.candidates import Sentence, idf_weights
from assistant.answer.citations import STOPWORDS, content_terms
from assistant.answer.constraints import extract
from assistant.records import Passage

PARAMETERS = Path(__file__).resolve().parent / "decision.json"
FEATURES_VERSION = "3"  # bump when a feature's computation changes: decision.json must then be refitted
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_QUESTION_WORDS = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how"})
Encode = Callable[[list[str]], np.ndarray]


class DecisionError(RuntimeError):
    """decision.json is missing or unreadable; the message names the file and the reason."""


@dataclass
class Decision:
    """The decision and what it rests on; `reasons` say why, for a refusal shown to the user."""

    confidence: float
    answer: bool
    reasons: list[str] = field(default_factory=list)
    features: dict[str, float] = field(default_factory=dict)


class WordVectors:
    """Embeddings of single words, cached: the same words recur from question to question."""

    LIMIT = 20000

    def __init__(self, encode: Encode) -> None:
        self.encode = encode
        self.cache: dict[str, np.ndarray] = {}

    def __call__(self, words: list[str]) -> np.ndarray:
        missing = [w for w in dict.fromkeys(words) if w not in self.cache]
        if missing:
            if len(self.cache) + len(missing) > self.LIMIT:
                self.cache.clear()
            self.cache.update(zip(missing, self.encode(missing)))
        return np.stack([self.cache[w] for w in words])


def topic_words(question: str) -> list[str]:
    """The question's content words as written (no question words, stopwords or 1-2 letter words)."""
    out = [w for w in _WORD.findall(question)
           if len(w) > 2 and w.lower() not in STOPWORDS and w.lower() not in _QUESTION_WORDS]
    return list(dict.fromkeys(out))


def _soft_coverage(missing: list[str], window: str, vectors: WordVectors | None) -> float:
    """How near the evidence comes to its farthest-off question word (1: every word is there)."""
    if not missing:
        return 1.0
    if vectors is None:
        return 0.0
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(window) if len(w) > 2))
    if not words:
        return 0.0
    sims = vectors([m.lower() for m in missing]) @ vectors(words).T
    return float(sims.max(axis=1).min())


def features(question: str, chosen: Sentence, ranked: Sequence[Sentence], passages: Sequence[Passage],
             vectors: WordVectors | None = None) -> dict[str, float]:
    """The evidence the decision weighs, by name (the same names as in decision.json)."""
    scored = [s for s in ranked if s.score is not None]
    scores = sorted((s.score for s in scored), reverse=True)  # type: ignore[misc]
    top = float(chosen.score if chosen.score is not None else (scores[0] if scores else 0.0))
    rival = next((float(s.score) for s in scored if s is not chosen), top - 5.0)  # type: ignore[arg-type]
    passage = passages[chosen.passage]
    window = chosen.window
    q_terms = list(dict.fromkeys(content_terms(question)))
    w_terms = set(content_terms(window))
    p_terms = set(content_terms(f"{passage.chunk.title}\n{passage.chunk.text}"))
    weights = idf_weights(q_terms, list(ranked))
    total = sum(weights.values()) or 1.0
    missing_terms = [t for t in q_terms if t not in w_terms]
    qc = extract(question)
    names = [e for e in qc.entities if not e.weak]
    haystack = f"{passage.chunk.title}\n{passage.chunk.text}".lower()
    names_missing = sum(1 for e in names if not set(content_terms(e.text)) <= p_terms and e.text.lower() not in haystack)
    low_window = window.lower()
    names_missing_window = sum(1 for e in names if not set(content_terms(e.text)) <= w_terms and e.text.lower() not in low_window)
    wc = extract(window)
    q_polar = {(x.axis, x.effective) for x in qc.polar}
    w_polar = {(x.axis, x.effective) for x in wc.polar}
    opposite = sum(1 for axis, sign in q_polar if (axis, -sign) in w_polar and (axis, sign) not in w_polar)
    numbers_missing = sum(1 for x in qc.quantities if x.text.lower() not in low_window) + \
        sum(1 for d in qc.dates if d.text.lower() not in low_window)
    kind = asked_for(question)
    held = kinds_in(window)
    words = topic_words(question)
    missing_words = [w for w in words if not set(content_terms(w)) <= w_terms]
    f = {
        "top": top,
        "margin": top - rival,
        "mean3": float(np.mean(scores[:3])) if scores else top,
        "cover_sentence": sum(weights[t] for t in q_terms if t in chosen.terms) / total,
        "cover_window": sum(weights[t] for t in q_terms if t in w_terms) / total,
        "cover_passage": sum(weights[t] for t in q_terms if t in p_terms) / total,
        "missing_idf_max": max((weights[t] for t in missing_terms), default=0.0),
        "soft_cover": _soft_coverage(missing_words, window, vectors),
        "names_missing": float(names_missing),
        "names_missing_window": float(names_missing_window),
        "numbers_missing": float(numbers_missing),
        "negation_unmatched": float(bool(qc.negations) and not wc.negations),
        "opposite": float(opposite),
        "passage_score": float(passage.score),
        "passage_similarity": float(passage.similarity if passage.similarity is not None else 0.0),
        "passage_rank": float(chosen.passage),
    }
    for k in KINDS:
        f[f"asks_{k}"] = float(kind == k)
        f[f"asks_{k}_held"] = float(kind == k and k in held)
    return f


def feature_names() -> list[str]:
    """The features in the order decision.json stores their weights."""
    base = ["top", "margin", "mean3", "cover_sentence", "cover_window", "cover_passage", "missing_idf_max",
            "soft_cover", "names_missing", "names_missing_window", "numbers_missing", "negation_unmatched",
            "opposite", "passage_score",
            "passage_similarity", "passage_rank"]
    return base + [f"asks_{k}{held}" for k in KINDS for held in ("", "_held")]


# The direction each signal's evidence points: +1 more of it means the evidence answers, -1 it does
# not, 0 either way (the asked-for kinds: a prior per kind). bench/train_decision.py holds each
# weight to its direction; only the size of each comes from the data.
DIRECTION: dict[str, int] = {
    "top": 1, "margin": 1, "mean3": 0, "cover_sentence": 1, "cover_window": 1, "cover_passage": 1,
    "missing_idf_max": -1, "soft_cover": 1, "names_missing": -1, "names_missing_window": -1,
    "numbers_missing": -1, "negation_unmatched": -1, "opposite": -1, "passage_score": 1,
    "passage_similarity": 1, "passage_rank": -1,
    **{f"asks_{k}_held": 1 for k in KINDS},
}


@dataclass(frozen=True)
class Model:
    """A logistic regression over standardised features, as fitted by bench/train_decision.py."""

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float

    def confidence(self, f: dict[str, float]) -> float:
        x = (np.array([f.get(n, 0.0) for n in self.names]) - self.mean) / self.scale
        z = float(x @ self.coef + self.intercept)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def contributions(self, f: dict[str, float]) -> dict[str, float]:
        """Each feature's pull on the log-odds against the average question (negative: towards refusing)."""
        x = (np.array([f.get(n, 0.0) for n in self.names]) - self.mean) / self.scale
        return dict(zip(self.names, (x * self.coef).tolist()))


@lru_cache(maxsize=4)
def load_models(path: Path = PARAMETERS) -> dict[str, Model]:
    """One model per ranker ("cross-encoder", "embedding"), read once."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return {name: Model(tuple(m["features"]), np.array(m["mean"], float), np.array(m["scale"], float),
                            np.array(m["coef"], float), float(m["intercept"]), float(m["threshold"]))
                for name, m in data["models"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DecisionError(f"{path}: cannot read the decision's parameters: {exc}") from exc


_REASONS = {
    "names_missing": "the passage does not name everything the question names",
    "names_missing_window": "the evidence does not name everything the question names",
    "opposite": "the evidence says the opposite of the question",
    "numbers_missing": "the evidence does not give the question's number or date",
    "cover_window": "the evidence covers little of the question",
    "soft_cover": "a word of the question has no counterpart in the evidence",
    "missing_idf_max": "a rare word of the question is not in the evidence",
    "top": "no sentence reads as an answer to the question",
    "margin": "no sentence reads as an answer to the question",
    "negation_unmatched": "the question's negation is not in the evidence",
}


def rarest_missing_word(question: str, chosen: Sentence, ranked: Sequence[Sentence]) -> str | None:
    """The question's word, as typed, that weighs most (idf) of those the evidence lacks: a refusal
    names it, so the reader can ask again in the articles' words ("walkout" where they say "strike")."""
    w_terms = set(content_terms(chosen.window))
    q_terms = list(dict.fromkeys(content_terms(question)))
    weights = idf_weights(q_terms, list(ranked))
    missing = [t for t in q_terms if t not in w_terms]
    if not missing:
        return None
    term = max(missing, key=lambda t: weights.get(t, 0.0))
    return next((w for w in re.findall(r"[\w'’-]+", question) if content_terms(w) == [term]), None)


def _kind_reason(kind: str | None) -> str:
    return {"number": "the evidence holds no number", "date": "the evidence holds no date",
            "person": "the evidence names no one", "place": "the evidence names no place",
            "reason": "the evidence gives no cause or purpose"}.get(kind or "", "")


def decide(question: str, chosen: Sentence | None, ranked: Sequence[Sentence], passages: Sequence[Passage],
           ranker: str, threshold: float | None = None, vectors: WordVectors | None = None) -> Decision:
    """Answer when the model's confidence reaches `threshold` (None: the fitted default)."""
    if chosen is None:
        return Decision(0.0, False, ["no sentence was found"])
    model = load_models()[ranker]
    f = features(question, chosen, ranked, passages, vectors)
    confidence = model.confidence(f)
    bar = model.threshold if threshold is None else threshold
    if confidence >= bar:
        return Decision(confidence, True, [], f)
    pulls = sorted(model.contributions(f).items(), key=lambda kv: kv[1])
    reasons: list[str] = []
    for name, pull in pulls:
        if pull >= 0 or len(reasons) >= 2:
            break
        if name.startswith("asks_") and name.endswith("_held"):  # said only of the kind the question asks for
            kind = name[len("asks_"):-len("_held")]
            why = _kind_reason(kind) if asked_for(question) == kind else ""
        elif name == "missing_idf_max":
            word = rarest_missing_word(question, chosen, ranked)
            why = f"a rare word of the question ('{word}') is not in the evidence" if word else _REASONS[name]
        else:
            why = _REASONS.get(name, "")
        if why and why not in reasons:
            reasons.append(why)
    return Decision(confidence, False, reasons or ["the evidence does not clearly answer the question"], f)
