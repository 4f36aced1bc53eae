"""Retrieval and answer quality on a gold set: recall@k, MRR, answer hits, abstentions.

Gold lines: {"id", "question", "answers": [...], "sources": [...]}. A source matches a
document when it equals the doc id, the path, or their trailing path components.
Questions with no sources are unanswerable: the right reply is "not in the articles".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from assistant.engine import Engine


@dataclass
class GoldItem:
    id: str
    question: str
    answers: list[str]
    sources: list[str]


def load_gold(path: Path) -> list[GoldItem]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            items.append(GoldItem(str(obj.get("id", f"line-{number}")), obj["question"],
                                  list(obj.get("answers", [])), list(obj.get("sources", []))))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: bad gold line ({exc})") from exc
    return items


def source_matches(gold: str, doc_id: str, source: str) -> bool:
    gold = gold.strip("/")
    for cand in (doc_id, source.replace("\\", "/")):
        if cand == gold or cand.endswith("/" + gold):
            return True
    return False


@dataclass
class EvalReport:
    k: int
    questions: int = 0
    answerable: int = 0
    recall_at_k: float = 0.0  # gold source among retrieved passages
    citation_recall: float = 0.0  # gold source among the answer's citations
    mrr: float = 0.0
    answer_hit: float = 0.0  # a gold answer string appears in the answer
    abstain_correct: float = 0.0  # unanswerable questions answered "not in the articles"
    false_abstain: float = 0.0  # answerable questions answered "not in the articles"
    per_question: list[dict] = field(default_factory=list)

    def to_dict(self, detail: bool = False) -> dict:
        d = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items() if k != "per_question"}
        if detail:
            d["per_question"] = self.per_question
        return d


def evaluate(engine: Engine, items: list[GoldItem], k: int, answerer: str | None = None,
             retrieve: Callable[[str, int], list] | None = None, on_item: Callable[[], None] | None = None) -> EvalReport:
    """`retrieve` swaps in another retriever (e.g. dense-only) for comparisons."""
    rep = EvalReport(k=k, questions=len(items))
    hits = cites = rr = answer_hits = abstain_ok = false_abstain = 0.0
    unanswerable = 0
    for item in items:
        ans = engine.ask(item.question, k=k, answerer=answerer)
        passages = retrieve(item.question, k) if retrieve else ans.passages
        row = {"id": item.id, "answered": ans.answered}
        if item.sources:
            rep.answerable += 1
            ranks = [i for i, p in enumerate(passages, start=1)
                     if any(source_matches(g, p.chunk.doc_id, p.chunk.source) for g in item.sources)]
            hit = bool(ranks)
            cited = any(source_matches(g, c.doc_id, c.source) for c in ans.citations for g in item.sources)
            found = any(a.lower() in ans.answer.lower() for a in item.answers) if item.answers else cited
            hits += hit
            cites += cited
            rr += 1.0 / ranks[0] if ranks else 0.0
            answer_hits += found
            false_abstain += not ans.answered
            row.update(retrieved=hit, rank=ranks[0] if ranks else None, cited=cited, answer_hit=found)
        else:
            unanswerable += 1
            abstain_ok += not ans.answered
            row.update(abstained=not ans.answered)
        rep.per_question.append(row)
        if on_item:
            on_item()
    n = rep.answerable or 1
    rep.recall_at_k, rep.citation_recall, rep.mrr = hits / n, cites / n, rr / n
    rep.answer_hit, rep.false_abstain = answer_hits / n, false_abstain / n
    rep.abstain_correct = abstain_ok / unanswerable if unanswerable else 0.0
    return rep
