"""The offline answerer: the retrieved sentences that answer the question, quoted exactly.

candidates (every sentence of the passages) → rerank (the cross-encoder reads the front runners
with the question) → choose (the best, the neighbour holding the asked-for fact, close seconds)
→ decide (one calibrated confidence: answer, or "not in the articles" with the reasons) →
the citation check every answer passes (`citations.py`).

A follow-up is about the conversation's articles: their sentences are chosen from first, and
everything retrieved is tried only when they do not answer and the follow-up names a subject
of its own ("what about Iran?"); "when will it open?" is never answered from another article.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from assistant.answer.candidates import Sentence, sentences
from assistant.answer.choose import choose
from assistant.answer.citations import check_answer, citation_for
from assistant.answer.decide import Decision, WordVectors, decide
from assistant.answer.rerank import Ranked, SentenceRanker
from assistant.records import Answer, Citation, Passage

NOT_FOUND = "The indexed articles do not answer this question."
FOLLOWUP_PREFERENCE = 0.5  # logits a sentence of the conversation's articles gains in a close call
NO_FOCUS_ANSWER = "the conversation's articles do not answer this follow-up; ask it in full to search every article"


@dataclass
class Query:
    """What the answer step needs to know about the question beyond its passages."""

    question: str  # as asked
    text: str  # what sentences are read against (a follow-up's own words, or the standalone question)
    followup: bool = False
    docs: dict[str, float] = field(default_factory=dict)  # the conversation's articles
    own_subject: bool = True  # the follow-up names a subject of its own ("what about Iran?")
    quoted: set[tuple[str, int, int]] = field(default_factory=set)  # sentences the last answer quoted
    threshold: float | None = None  # the decision's bar (None: the fitted default)
    max_sentences: int = 3
    # (question, quote) -> the line to say when the quote contradicts the question's premise (`premise.py`)
    premise: Callable[[str, str], str | None] | None = None
    low_confidence: float = 0.0  # under this, the answer warns that the passage may not say it
    in_context: str | None = None  # a follow-up with the conversation's subject ("Who opposes it? (about: …)")


def compose(chosen: Sequence[Sentence], passages: Sequence[Passage], confidence: float) -> tuple[str, list[Citation]]:
    """The answer text, each sentence quoted with its [n]; articles in order of their best sentence,
    sentences in reading order within each article."""
    doc_rank: dict[str, int] = {}
    for s in chosen:
        doc_rank.setdefault(s.doc_id, len(doc_rank))
    ordered = sorted(chosen, key=lambda s: (doc_rank[s.doc_id], s.start))
    citations: list[Citation] = []
    parts: list[str] = []
    for n, s in enumerate(ordered, start=1):
        citations.append(citation_for(n, passages[s.passage], s.start, s.end, round(confidence, 4)))
        text = s.text.strip()
        if text[-1:] in ".!?" and not text.endswith("..."):
            parts.append(f"{text[:-1]} [{n}]{text[-1]}")
        else:
            parts.append(f"{text} [{n}]")
    return " ".join(parts), citations


def read(query: Query, pool: list[Sentence], passages: Sequence[Passage], ranker: SentenceRanker,
         prefer: Callable[[Sentence], float] | None = None) -> tuple[Ranked, list[Sentence]]:
    """Rerank and choose: the ranked pool and the answer's sentences (bench/train_decision.py fits the
    decision on exactly these)."""
    ranked = ranker.rank(query.text, pool, passages, prefer)
    return ranked, choose(query.text, ranked.sentences, query.max_sentences, ranked.ranker)


def _attempt(query: Query, pool: list[Sentence], passages: Sequence[Passage], ranker: SentenceRanker,
             vectors: WordVectors | None, prefer: Callable[[Sentence], float] | None) -> tuple[list[Sentence], Decision]:
    ranked, chosen = read(query, pool, passages, ranker, prefer)
    decision = decide(query.text, chosen[0] if chosen else None, ranked.sentences, passages, ranked.ranker,
                      query.threshold, vectors)
    return chosen, decision


def answer_offline(query: Query, passages: Sequence[Passage], ranker: SentenceRanker,
                   vectors: WordVectors | None = None, warnings: list[str] | None = None) -> Answer:
    """The checked extractive answer, or "not in the articles" with the decision's reasons."""
    warnings = list(warnings or [])
    pool = sentences(passages)
    for s in pool:
        s.repeated = (s.doc_id, s.start, s.end) in query.quoted
    focus = [s for s in pool if s.doc_id in query.docs] if query.followup else []
    if focus and len(focus) < len(pool):
        chosen, decision = _attempt(query, focus, passages, ranker, vectors, None)
        if not decision.answer and query.own_subject:
            prefer = lambda s: FOLLOWUP_PREFERENCE * query.docs.get(s.doc_id, 0.0)  # noqa: E731
            chosen, decision = _attempt(query, pool, passages, ranker, vectors, prefer)
        elif not decision.answer:
            warnings.append(NO_FOCUS_ANSWER)
    else:
        chosen, decision = _attempt(query, pool, passages, ranker, vectors, None)
    if not decision.answer and query.in_context and query.in_context != query.text:
        # "Who opposes it?" read bare finds no answer: read it with the conversation's subject
        again = replace(query, text=query.in_context)
        retry, retried = _attempt(again, focus if focus and len(focus) < len(pool) else pool, passages, ranker,
                                  vectors, None)
        if retried.answer:
            chosen, decision = retry, retried
            warnings = [w for w in warnings if w != NO_FOCUS_ANSWER]
    if not decision.answer:
        return Answer(question=query.question, answer=NOT_FOUND, answerer="extractive", answered=False,
                      warnings=warnings + [f"not answered: {r}" for r in decision.reasons],
                      confidence=decision.confidence)
    line = query.premise(query.text, chosen[0].text) if query.premise else None
    if line:  # "Why did the U.S. demand guarantees from Russia?": say the passage has it the other way round
        chosen = chosen[:1]
        body, citations = compose(chosen, passages, decision.confidence)
        body = f"{line.rstrip('.')} [1]."
        warnings.append("the passage contradicts the question's premise")
    else:
        body, citations = compose(chosen, passages, decision.confidence)
    checked = check_answer(body, citations, passages, lambda _claim, _quote: 1.0, 0.0)  # offsets and quotes
    warnings.extend(checked.warnings)
    if decision.confidence < query.low_confidence:
        warnings.append(f"low confidence ({decision.confidence:.2f}): the passage may not answer exactly this; check it")
    if not checked.citations:
        return Answer(question=query.question, answer=NOT_FOUND, answerer="extractive", answered=False,
                      warnings=warnings, dropped=checked.dropped, confidence=decision.confidence)
    return Answer(question=query.question, answer=checked.answer, citations=checked.citations, answerer="extractive",
                  answered=True, warnings=warnings, dropped=checked.dropped, confidence=decision.confidence)
