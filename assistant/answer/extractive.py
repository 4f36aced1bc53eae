"""The offline answerer: the retrieved sentences that best answer the question, quoted exactly.

Each sentence is scored by meaning (embedding cosine to the question) and by how many of
the question's content words it contains. Weak evidence gives the "not in the articles"
answer instead of a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from assistant.answer.citations import citation_for, content_terms
from assistant.chunking import sentence_spans
from assistant.embeddings import Embedder
from assistant.ingest.metadata import is_header_line
from assistant.records import Citation, Passage

NOT_FOUND = "The indexed articles do not answer this question."
# weights of the sentence score; they sum to 1 so thresholds read as fractions
W_COSINE, W_LEXICAL = 0.55, 0.45
REDUNDANT_OVERLAP = 0.6  # share of content words two chosen sentences may have in common
SECONDARY_RATIO = 0.8  # a further sentence must score this fraction of the best one
REPEAT_PENALTY = 0.8  # a follow-up ranks a sentence the last answer quoted at this fraction of its score
MIN_SENTENCE_CHARS = 25
# Only this many sentences (the best by words and passage similarity) are embedded:
# embedding is the cost of an answer on a CPU (~10 ms a sentence here).
EMBED_TOP = 6
UNKNOWN_PASSAGE_SIM = 0.3  # a passage found only by BM25 has no cosine yet
# A sentence a little under min_evidence still answers when its passage as a whole is this
# close to the question (short factual sentences embed poorly on their own).
STRONG_PASSAGE_SIM, RELAXED_EVIDENCE = 0.5, 0.3
# Expected-answer cues: (question pattern, sentence pattern, bonus). "How many" wants a number, etc.
ANSWER_TYPE_CUES = [
    (r"^(how (many|much|big|large|long|far|high|old)|what (percentage|share|proportion|amount|number))\b",
     r"\d", 0.06),
    (r"^(when|what (year|date|day|month))\b",
     r"\b(1[89]\d\d|20\d\d|january|february|march|april|may|june|july|august|september|october|november|december|"
     r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", 0.06),
    (r"^why\b", r"\b(because|due to|reason|forced|caused|blamed|led to|in order to|so that|as a result|since|aim)\b", 0.06),
]


@dataclass
class Candidate:
    passage_index: int
    start: int  # document offsets
    end: int
    text: str
    cosine: float = 0.0
    lexical: float = 0.0
    passage_sim: float = UNKNOWN_PASSAGE_SIM
    embedded: bool = False

    bonus: float = 0.0

    @property
    def score(self) -> float:
        return W_COSINE * self.cosine + W_LEXICAL * self.lexical + self.bonus


def candidates(passages: Sequence[Passage]) -> list[Candidate]:
    seen: set[str] = set()
    out = []
    for i, p in enumerate(passages):
        ch = p.chunk
        for s, e in sentence_spans(ch.text):
            text = ch.text[s:e]
            key = " ".join(text.split()).lower()
            if len(text) < MIN_SENTENCE_CHARS or key in seen or is_header_line(text, ch.title):
                continue
            seen.add(key)
            sim = p.similarity if p.similarity is not None else UNKNOWN_PASSAGE_SIM
            out.append(Candidate(i, ch.start + s, ch.start + e, text, passage_sim=sim))
    return out


def _idf_weights(question_terms: list[str], cands: list[Candidate]) -> dict[str, float]:
    """Rarer question words (among the candidate sentences) count for more."""
    n = len(cands) or 1
    df = {t: sum(1 for c in cands if t in c._terms) for t in question_terms}  # type: ignore[attr-defined]
    return {t: float(np.log(1 + n / (1 + df[t]))) + 0.5 for t in question_terms}


def score_candidates(question: str, cands: list[Candidate], embedder: Embedder, q_vec: np.ndarray | None = None) -> None:
    if not cands:
        return
    q_terms = list(dict.fromkeys(content_terms(question)))
    for c in cands:
        c._terms = set(content_terms(c.text))  # type: ignore[attr-defined]
    weights = _idf_weights(q_terms, cands)
    total = sum(weights.values())
    cues = [(re.compile(sp, re.I), b) for qp, sp, b in ANSWER_TYPE_CUES if re.search(qp, question.strip(), re.I)]
    for c in cands:
        c.lexical = sum(w for t, w in weights.items() if t in c._terms) / total if total else 0.0  # type: ignore[attr-defined]
        c.bonus = sum(b for pattern, b in cues if pattern.search(c.text)) if c.lexical else 0.0
    # pre-rank by words and the passage's own similarity; embed only the front runners
    for c in cands:
        c.cosine = c.passage_sim
    front = sorted(cands, key=lambda c: c.score, reverse=True)[:EMBED_TOP]
    q = embedder.encode([question])[0] if q_vec is None else q_vec
    vecs = embedder.encode([c.text for c in front])
    for c, s in zip(front, vecs @ q):
        c.cosine = float(max(0.0, s))
        c.embedded = True
    for c in cands:
        if not c.embedded:
            c.cosine = 0.0  # not a contender: keep it out of the answer


def _redundant(a: Candidate, b: Candidate) -> bool:
    ta, tb = a._terms, b._terms  # type: ignore[attr-defined]
    if not ta or not tb:
        return False
    return len(ta & tb) / min(len(ta), len(tb)) >= REDUNDANT_OVERLAP


def _enough(c: Candidate, min_evidence: float) -> bool:
    """Strong sentence, or a fair sentence in a passage that is close to the question."""
    if c.lexical == 0.0:
        return False
    return c.score >= min_evidence or (c.score >= RELAXED_EVIDENCE and c.passage_sim >= STRONG_PASSAGE_SIM)


def answer_extractive(question: str, passages: Sequence[Passage], embedder: Embedder, min_evidence: float,
                      max_sentences: int = 3, q_vec: np.ndarray | None = None,
                      quoted_before: set[tuple[str, int, int]] | None = None) -> tuple[str, list[Citation], bool]:
    """(answer text with [n] markers, citations, answered?).

    `quoted_before`: (doc_id, start, end) of sentences the conversation's last answer quoted. A
    follow-up ("what did it do instead?") wants something new: such a sentence is ranked lower
    and is not added as a further sentence, but it still answers when nothing else comes close.
    """
    cands = candidates(passages)
    score_candidates(question, cands, embedder, q_vec)
    seen = quoted_before or set()

    def repeated(c: Candidate) -> bool:
        return (passages[c.passage_index].chunk.doc_id, c.start, c.end) in seen

    ranked = sorted(cands, key=lambda c: c.score * (REPEAT_PENALTY if repeated(c) else 1.0), reverse=True)
    if not ranked or not _enough(ranked[0], min_evidence):
        return NOT_FOUND, [], False
    best = ranked[0]
    chosen = [best]
    for c in ranked[1:]:
        if len(chosen) >= max_sentences:
            break
        if repeated(c):
            continue
        if c.score < best.score * SECONDARY_RATIO or not _enough(c, min_evidence):
            break
        if any(_redundant(c, o) for o in chosen):
            continue
        chosen.append(c)
    # read in document order within each article, articles in order of their best sentence
    doc_rank = {}
    for c in chosen:
        doc_rank.setdefault(passages[c.passage_index].chunk.doc_id, len(doc_rank))
    chosen.sort(key=lambda c: (doc_rank[passages[c.passage_index].chunk.doc_id], c.start))
    citations: list[Citation] = []
    parts: list[str] = []
    for n, c in enumerate(chosen, start=1):
        citations.append(citation_for(n, passages[c.passage_index], c.start, c.end, round(c.score, 4)))
        text = c.text.strip()
        if text[-1:] in ".!?" and not text.endswith("..."):
            parts.append(f"{text[:-1]} [{n}]{text[-1]}")
        else:
            parts.append(f"{text} [{n}]")
    return " ".join(parts), citations, True
