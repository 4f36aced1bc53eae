"""Candidate answer sentences: every sentence of the retrieved passages, with its neighbours.

The cross-encoder costs milliseconds a pair, so only the front runners are read with the
question (`rerank.py`). They are picked by a cheap prior: the share of the question's content
words a sentence holds (rarer words count more) and its passage's retrieval score. On real SQuAD
questions the best cross-encoder sentence among the top 8 by this prior answers as often as the
best among all ~27 sentences of the top five passages (0.794 either way; `bench/trust.py`), and
embedding every sentence would cost more than the cross-encoder itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from assistant.answer.citations import content_terms
from assistant.chunking import sentence_spans
from assistant.ingest.metadata import is_header_line
from assistant.records import Passage

MIN_SENTENCE_CHARS = 20  # shorter pieces are list bullets and captions, not answers
# A sentence opening with one of these leans on the one before ("It will cost 4.2 billion euros."):
# the cross-encoder reads the two together, or it cannot tell what "it" is.
LEANING_OPENERS = frozenset({"it", "its", "they", "their", "them", "he", "his", "she", "her", "this", "these",
                             "those", "that", "such", "there"})
W_LEXICAL, W_PASSAGE = 0.5, 0.5  # the prior: question words held, and the passage's retrieval score


@dataclass
class Sentence:
    """One sentence of a retrieved passage; offsets are the document's."""

    passage: int  # index into the passages
    index: int  # position among its passage's sentences
    start: int
    end: int
    text: str
    before: str = ""  # the previous sentence of the passage ("" at its start)
    after: str = ""
    doc_id: str = ""
    terms: frozenset[str] = field(default_factory=frozenset)
    lexical: float = 0.0  # idf-weighted share of the question's content words it holds
    prior: float = 0.0
    score: float | None = None  # the cross-encoder's logit (or the fallback's score) once read
    standing: float | None = None  # the score with the conversation's preferences and penalties: what ranks it
    repeated: bool = False  # the conversation already showed it (its last answer; for "and then?", its topic)

    @property
    def reading(self) -> str:
        """What the cross-encoder reads: the sentence, with the one before when it leans on it."""
        first = self.text.split(maxsplit=1)[0].strip("\"'“‘(").lower() if self.text.split() else ""
        return f"{self.before} {self.text}" if self.before and first in LEANING_OPENERS else self.text

    @property
    def window(self) -> str:
        """The sentence with its neighbours: where a pronoun's antecedent or the asked-for fact may sit."""
        return " ".join(x for x in (self.before, self.text, self.after) if x)


def sentences(passages: Sequence[Passage]) -> list[Sentence]:
    """Every quotable sentence once: header lines (title, byline, date) and repeats left out."""
    seen: set[str] = set()
    out: list[Sentence] = []
    for i, p in enumerate(passages):
        ch = p.chunk
        spans = sentence_spans(ch.text)
        texts = [ch.text[s:e] for s, e in spans]
        for j, ((s, e), text) in enumerate(zip(spans, texts)):
            key = " ".join(text.split()).lower()
            if len(text) < MIN_SENTENCE_CHARS or key in seen or is_header_line(text, ch.title):
                continue
            seen.add(key)
            before = texts[j - 1] if j > 0 and not is_header_line(texts[j - 1], ch.title) else ""
            after = texts[j + 1] if j + 1 < len(texts) else ""
            out.append(Sentence(i, j, ch.start + s, ch.start + e, text, before, after, ch.doc_id,
                                frozenset(content_terms(text))))
    return out


def idf_weights(question_terms: Sequence[str], pool: Sequence[Sentence]) -> dict[str, float]:
    """Rarer question words (among the candidates) count for more."""
    n = len(pool) or 1
    return {t: float(np.log(1 + n / (1 + sum(1 for s in pool if t in s.terms)))) + 0.5 for t in question_terms}


def prerank(question: str, pool: list[Sentence], passages: Sequence[Passage]) -> list[Sentence]:
    """The pool ordered by the cheap prior (fills `lexical` and `prior`)."""
    q_terms = list(dict.fromkeys(content_terms(question)))
    weights = idf_weights(q_terms, pool)
    total = sum(weights.values())
    top = max((p.score for p in passages), default=0.0) or 1.0
    for s in pool:
        s.lexical = sum(w for t, w in weights.items() if t in s.terms) / total if total else 0.0
        s.prior = W_LEXICAL * s.lexical + W_PASSAGE * passages[s.passage].score / top
    return sorted(pool, key=lambda s: s.prior, reverse=True)
