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
from assistant.answer.premise import date_conflict
from assistant.answer.rerank import Ranked, SentenceRanker
from assistant.records import Answer, Citation, Passage

NOT_FOUND = "The indexed articles do not answer this question."
LOW_CONFIDENCE = "low confidence"  # how the warning on an answer under `low_confidence` starts (the chat keys on it)
FOLLOWUP_PREFERENCE = 0.5  # logits a sentence of the conversation's articles gains in a close call
# A follow-up that asks what came next or instead: the sentences after the last answer's quotes are always
# read and gain these logits, the first most, then halving. "Why did Iran agree to it instead?" has a topic of
# its own for the cross-encoder to weigh ("prefer"); "what did it do instead?" and "and then?" have none (the
# cross-encoder would read only the conversation's terms), so the answer is the narrative's next step ("only").
CONTINUATION_PREFERENCE = 2.0
CONTINUATION_SENTENCES = 3
CONTIGUOUS_GAP = 8  # characters between two sentences that follow each other (spaces, a paragraph break)
GOES_ON = "what the article says next, after the last answer's quote: the question names nothing more to check it against"
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
    # "prefer" | "only": the follow-up asks what came after or instead; "" for any other question
    continuation: str = ""


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


def following(pool: Sequence[Sentence], quoted: set[tuple[str, int, int]], preference: float = CONTINUATION_PREFERENCE,
              n: int = CONTINUATION_SENTENCES) -> dict[int, float]:
    """id(sentence) -> the preference of the `n` sentences that follow the quoted ones, in each
    article's reading order (the first after the last quote gains the most)."""
    out: dict[int, float] = {}
    ends: dict[str, int] = {}
    for doc_id, _start, end in quoted:
        ends[doc_id] = max(ends.get(doc_id, 0), end)
    for doc_id, end in ends.items():
        spans = sorted({(s.start, s.end) for s in pool if s.doc_id == doc_id and s.start >= end})
        starts: list[int] = []
        for start, stop in spans:  # the text right after, sentence by sentence: a gap the pool lacks ends it
            if len(starts) >= n or start - end > CONTIGUOUS_GAP:
                break
            starts.append(start)
            end = stop
        for s in pool:  # a sentence of two overlapping chunks gains in both
            if s.doc_id == doc_id and s.start in starts:
                out[id(s)] = preference / 2 ** starts.index(s.start)
    return out


def read(query: Query, pool: list[Sentence], passages: Sequence[Passage], ranker: SentenceRanker,
         prefer: Callable[[Sentence], float] | None = None) -> tuple[Ranked, list[Sentence]]:
    """Rerank and choose: the ranked pool and the answer's sentences (bench/train_decision.py fits the
    decision on exactly these). A follow-up asking what came next reads the sentences after the last
    answer's quotes whatever the cheap prior thinks of them, and prefers them."""
    nexts = following(pool, query.quoted) if query.continuation and query.quoted else {}
    if nexts and query.continuation == "only":
        pool = [s for s in pool if id(s) in nexts]
    if nexts:
        base = prefer
        prefer = lambda s: (base(s) if base else 0.0) + nexts.get(id(s), 0.0)  # noqa: E731
    ranked = ranker.rank(query.text, pool, passages, prefer, include=[s for s in pool if id(s) in nexts])
    chosen = choose(query.text, ranked.sentences, query.max_sentences, ranked.ranker,
                    lambda lead, others: ranker.uplift(query.text, lead, others))
    if chosen and id(chosen[0]) in nexts:  # the story goes on: close seconds from elsewhere would interrupt it
        chosen = chosen[:1] + [s for s in chosen[1:] if id(s) in nexts]
    return ranked, chosen


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
    goes_on = query.continuation == "only" and bool(chosen) and id(chosen[0]) in following(pool, query.quoted)
    if not decision.answer and goes_on:
        # "and then?" names nothing the decision could weigh: the answer is what the article says next
        decision = replace(decision, answer=True)
        warnings.append(GOES_ON)
    if not decision.answer:
        return Answer(question=query.question, answer=NOT_FOUND, answerer="extractive", answered=False,
                      warnings=warnings + [f"not answered: {'; '.join(decision.reasons)}"],
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
    other_date = date_conflict(query.text, " ".join(s.text for s in chosen))
    if other_date:
        warnings.append(other_date)
    if decision.confidence < query.low_confidence and not goes_on:
        warnings.append(f"{LOW_CONFIDENCE} ({decision.confidence:.2f}): the passage may not answer exactly this; check it")
    if not checked.citations:
        return Answer(question=query.question, answer=NOT_FOUND, answerer="extractive", answered=False,
                      warnings=warnings, dropped=checked.dropped, confidence=decision.confidence)
    return Answer(question=query.question, answer=checked.answer, citations=checked.citations, answerer="extractive",
                  answered=True, warnings=warnings, dropped=checked.dropped, confidence=decision.confidence)
