"""Retrieval and answer quality on a gold set: recall@k, MRR, answer hits, abstentions.

Gold lines: {"id", "question", "answers": [...], "sources": [...]}. A source matches a
document when it equals the doc id, the path, or their trailing path components.
Questions with no sources are unanswerable: the right reply is "not in the articles".

Multi-turn lines add "conversation": "<id>" (turns of one id are asked in file order, each
with the earlier turns as history), and optionally "full_question" (the same follow-up asked
in full, to compare against) and "kind" ("new-topic" and "metadata" are reported apart).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from assistant.engine import Engine
from assistant.records import Answer, Turn


@dataclass
class GoldItem:
    id: str
    question: str
    answers: list[str]
    sources: list[str]
    conversation: str | None = None
    full_question: str | None = None  # a follow-up asked in full, for comparison
    kind: str | None = None  # e.g. pronoun, ellipsis, new-topic, metadata


def load_gold(path: Path) -> list[GoldItem]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            conversation = obj.get("conversation")
            if conversation is not None and not isinstance(conversation, str):
                raise TypeError("\"conversation\" must be a string")
            items.append(GoldItem(str(obj.get("id", f"line-{number}")), obj["question"],
                                  list(obj.get("answers", [])), list(obj.get("sources", [])), conversation,
                                  obj.get("full_question"), obj.get("kind")))
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
    gold_documents: int = 0  # distinct documents the gold set cites
    missing_documents: list[str] = field(default_factory=list)  # of those, the ones the index does not hold
    # multi-turn sets: follow-ups against the same questions asked in full, new-topic turns with
    # and without the conversation, metadata questions (empty for single-turn sets)
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self, detail: bool = False) -> dict:
        d = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()
             if k not in ("per_question", "conversations", "missing_documents")}
        d["missing_documents"] = len(self.missing_documents)
        if self.conversations:
            d["conversations"] = {g: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()}
                                  for g, m in self.conversations.items()}
        if detail:
            d["per_question"] = self.per_question
        return d


def _hits(item: GoldItem, ans: Answer) -> tuple[bool, bool]:
    """(answer contains a gold answer, a gold source is cited)."""
    cited = any(source_matches(g, c.doc_id, c.source) for c in ans.citations for g in item.sources)
    found = any(a.lower() in ans.answer.lower() for a in item.answers) if item.answers else cited
    return found, cited


def _ask_all(engine: Engine, items: list[GoldItem], k: int, answerer: str | None) -> list[Answer]:
    """Each item's answer; turns of a conversation get the earlier turns as history."""
    histories: dict[str, list[Turn]] = {}
    out = []
    for item in items:
        history = histories.setdefault(item.conversation, []) if item.conversation else None
        ans = engine.ask(item.question, k=k, answerer=answerer, history=history)
        if history is not None:
            history.append(Turn.of(ans))
        out.append(ans)
    return out


def _conversation_report(engine: Engine, items: list[GoldItem], answers: list[Answer], k: int,
                         answerer: str | None) -> dict[str, dict[str, Any]]:
    groups: dict[str, dict[str, float]] = {}

    def add(group: str, **values: float) -> None:
        g = groups.setdefault(group, {"turns": 0})
        g["turns"] += 1
        for key, v in values.items():
            g[key] = g.get(key, 0.0) + v

    for item, ans in zip(items, answers):
        if not item.conversation or not item.sources:
            continue
        hit, cited = _hits(item, ans)
        if item.full_question:
            alone_hit, alone_cited = _hits(item, engine.ask(item.full_question, k=k, answerer=answerer))
            bare_hit, bare_cited = _hits(item, engine.ask(item.question, k=k, answerer=answerer))
            add("followup", answer_hit=hit, citation_recall=cited, full_answer_hit=alone_hit,
                full_citation_recall=alone_cited, bare_answer_hit=bare_hit, bare_citation_recall=bare_cited)
        elif item.kind == "new-topic":
            alone_hit, alone_cited = _hits(item, engine.ask(item.question, k=k, answerer=answerer))
            add("new_topic", answer_hit=hit, citation_recall=cited, alone_answer_hit=alone_hit,
                alone_citation_recall=alone_cited)
        elif item.kind == "metadata":
            add("metadata", answer_hit=hit, citation_recall=cited)
    return {name: {key: (v / g["turns"] if key != "turns" else int(v)) for key, v in g.items()}
            for name, g in groups.items()}


def missing_gold(items: list[GoldItem], indexed: list[tuple[str, str]]) -> tuple[int, list[str]]:
    """(distinct gold documents, those no indexed (doc_id, source) matches): a gold set run against
    an index without its documents measures nothing, and must say so."""
    gold = list(dict.fromkeys(g for item in items for g in item.sources))
    missing = [g for g in gold if not any(source_matches(g, d, s) for d, s in indexed)]
    return len(gold), missing


def evaluate(engine: Engine, items: list[GoldItem], k: int, answerer: str | None = None,
             retrieve: Callable[[str, int], list] | None = None, on_item: Callable[[], None] | None = None) -> EvalReport:
    """`retrieve` swaps in another retriever (e.g. dense-only) for comparisons."""
    rep = EvalReport(k=k, questions=len(items))
    rep.gold_documents, rep.missing_documents = missing_gold(items, [(s.doc_id, s.source) for s in engine.sources()])
    hits = cites = rr = answer_hits = abstain_ok = false_abstain = 0.0
    unanswerable = 0
    answers = _ask_all(engine, items, k, answerer)
    for item, ans in zip(items, answers):
        passages = retrieve(item.question, k) if retrieve else ans.passages
        row = {"id": item.id, "answered": ans.answered}
        if item.conversation:
            row.update(conversation=item.conversation, standalone_question=ans.standalone_question or item.question)
        if item.sources:
            rep.answerable += 1
            ranks = [i for i, p in enumerate(passages, start=1)
                     if any(source_matches(g, p.chunk.doc_id, p.chunk.source) for g in item.sources)]
            hit = bool(ranks)
            found, cited = _hits(item, ans)
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
    if any(item.conversation for item in items):
        rep.conversations = _conversation_report(engine, items, answers, k, answerer)
    return rep
