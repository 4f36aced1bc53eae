"""Answerability: does the chosen evidence meet what the question asks about?

Retrieval always finds something, and the best sentence about "the Velmar nuclear plant"
is the one about the Velmar desalination plant. Each quoted sentence is judged with its
neighbours in the passage (its window): the question's names, numbers, dates and negation
(`constraints.py`, shared with the claim check) and its topic words must be met there. Names,
numbers and dates may also be met in the rest of the cited passage and topic words in the
article's title (an article about Velmar does not repeat "Velmar" in every sentence), but not
elsewhere in the article: "What did Russia export to China?" is not answered by a sentence about
Russia's exports from an article that names China in another passage. A topic word counts as met
by a near-synonym in the window (word embeddings, `TERM_SIMILARITY`). Sentences whose
window fails are dropped; when none is left the answer is "not in the articles" and the
passages stay as the nearest, not an answer.

Tuned on examples/adversarial-tune.jsonl (answerable gold questions with one key term
changed, as SQuAD 2.0's writers did) and the full questions of examples/conversations.jsonl;
examples/adversarial-heldout*.jsonl are the held-out splits (bench/conversation.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from assistant.answer.citations import STOPWORDS, check_answer, markers_of, split_claims
from assistant.answer.constraints import extract, terms, unmet
from assistant.answer.extractive import NOT_FOUND
from assistant.chunking import sentence_spans
from assistant.records import Answer, Citation, Passage

NEIGHBOURS = 1  # sentences either side of a quote that count as its context
# A question word found neither in the evidence nor its passage still counts as met when a word of
# the evidence means nearly the same (cosine of the two words' embeddings at least this).
TERM_SIMILARITY = 0.42  # tuned on examples/adversarial-tune.jsonl and the full questions of examples/conversations.jsonl
# Verb forms ("helped", "dismantling") are paraphrased more freely than nouns: a lower bar.
VERB_SIMILARITY = 0.30
WORD_CACHE = 20000  # word vectors kept
Encode = Callable[[list[str]], np.ndarray]


def evidence_window(citation: Citation, passage: Passage, neighbours: int = NEIGHBOURS) -> str:
    """The quoted sentence with `neighbours` sentences either side, from the passage's own text."""
    ch = passage.chunk
    spans = sentence_spans(ch.text)
    rel_start, rel_end = citation.start - ch.start, citation.end - ch.start
    idx = [i for i, (s, e) in enumerate(spans) if e > rel_start and s < rel_end]
    if not idx:
        return citation.quote
    lo, hi = max(0, idx[0] - neighbours), min(len(spans) - 1, idx[-1] + neighbours)
    return ch.text[spans[lo][0]:spans[hi][1]]


class WordVectors:
    """Embeddings of single words, cached: the same words recur from question to question."""

    def __init__(self, encode: Encode) -> None:
        self.encode = encode
        self.cache: dict[str, np.ndarray] = {}

    def __call__(self, words: list[str]) -> np.ndarray:
        missing = [w for w in dict.fromkeys(words) if w not in self.cache]
        if missing:
            if len(self.cache) + len(missing) > WORD_CACHE:
                self.cache.clear()
            self.cache.update(zip(missing, self.encode(missing)))
        return np.stack([self.cache[w] for w in words])


_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def _topic_words(text: str, skip: set[str]) -> list[str]:
    """Content words of a question that name what it is about (no question words, no names)."""
    from assistant.conversation import load_rules

    rules = load_rules()
    out = []
    for w in _WORD.findall(text):
        low = w.lower()
        if (low in STOPWORDS or low in rules.generic or low in rules.light_verbs or len(low) < 3 or w in skip
                or not terms(w)):
            continue
        out.append(w)
    return list(dict.fromkeys(out))


def missing_terms(question: str, window: str, passage: str, vectors: WordVectors | None) -> list[str]:
    """Topic words of the question that neither the evidence, its passage nor a near-synonym in the
    evidence states ("snow" against a sentence about rain is a near miss; "nuclear" against a
    desalination plant is a miss)."""
    c = extract(question)
    skip = {w for e in c.entities for w in e.text.split()}
    present = set(terms(window)) | set(terms(passage))
    missing = [w for w in _topic_words(question, skip) if not set(terms(w)) <= present]
    if not missing or vectors is None:
        return missing
    words = _topic_words(window, set())
    if not words:
        return missing
    sims = vectors(missing) @ vectors(words).T
    return [w for w, row in zip(missing, sims) if float(row.max()) < _bar(w)]


def _bar(word: str) -> float:
    low = word.lower()
    return VERB_SIMILARITY if len(low) > 4 and low.endswith(("ed", "ing")) else TERM_SIMILARITY


@dataclass
class Verdict:
    """Which citations answer the question; why the others (or all) do not."""

    kept: list[Citation]
    reasons: list[str]  # for the whole answer when nothing is kept, else for the citations dropped

    @property
    def answerable(self) -> bool:
        return bool(self.kept)


def _unmet_one(q: str, window: str, passage: str, vectors: WordVectors | None, about: str = "") -> list[str]:
    """Reasons the window fails `q`: names, numbers, dates may be met in the cited `passage`, topic
    words only in the window or in `about` (the article's title)."""
    c = extract(q)
    # judged below, or too loose in a question to refuse on: rare words (topic words below), seasons, "first"
    # ("the first water" is no count), and direction words (a question's "begin" is not refuted
    # by "ending two years of hearings"; the claim check keeps this rule for answers)
    loose = {f"'{w}' is not in the passage" for w in c.rare}
    loose |= {f"'{x.text}' is not in the passage" for x in c.quantities if x.kind == "ordinal" and x.low == 1}
    loose |= {f"'{d.text}' is not in the passage" for d in c.dates if d.kind == "season"}  # "spring": March to June
    reasons = [r for r in unmet(q, window, passage=passage, mode="question")
               if r not in loose and not r.startswith("the passage says the opposite")
               and not any(r.endswith(f"not '{x.text}'") for x in c.quantities if x.kind == "ordinal" and x.low == 1)]
    reasons += [f"'{w}' is not in the passage" for w in missing_terms(q, window, passage, vectors)]
    return list(dict.fromkeys(reasons))


def judge(question: str, citations: Sequence[Citation], passages: Sequence[Passage],
          vectors: WordVectors | None = None) -> Verdict:
    """Each citation is judged on its own window (the quote and its neighbours); names may also be
    met in its passage, topic words in its article's title."""
    by_chunk = {p.chunk.chunk_id: p for p in passages}
    q = question
    kept: list[Citation] = []
    reasons: list[str] = []
    for c in citations:
        p = by_chunk.get(c.chunk_id)
        window = evidence_window(c, p) if p else c.quote
        title = p.chunk.title if p else ""
        why = _unmet_one(q, window, f"{title}\n{p.chunk.text}" if p else c.quote, vectors, about=title)
        if why:
            reasons.extend(r for r in why if r not in reasons)
        else:
            kept.append(c)
    return Verdict(kept, reasons)


def unmet_constraints(question: str, citations: Sequence[Citation], passages: Sequence[Passage],
                      vectors: WordVectors | None = None) -> list[str]:
    """Reasons no cited evidence answers `question` (empty: some citation may)."""
    if not citations:
        return []
    verdict = judge(question, citations, passages, vectors)
    return [] if verdict.answerable else verdict.reasons


def check_answerable(answer: Answer, question: str, passages: Sequence[Passage],
                     vectors: WordVectors | None = None) -> Answer:
    """Keep the sentences whose evidence meets the question's constraints; when none does, the
    answer is "not in the articles" (answered false, no citations; the caller keeps the passages
    as the nearest, not an answer)."""
    if not answer.answered or not answer.citations:
        return answer
    verdict = judge(question, answer.citations, passages, vectors)
    if not verdict.reasons:
        return answer
    if not verdict.answerable:
        return Answer(question=answer.question, answer=NOT_FOUND, answerer=answer.answerer, answered=False,
                      warnings=answer.warnings + [f"not answered: {r}" for r in verdict.reasons],
                      standalone_question=answer.standalone_question, dropped=answer.dropped)
    keep = {c.n for c in verdict.kept}
    claims = [cl for cl in split_claims(answer.answer) if markers_of(cl) and set(markers_of(cl)) <= keep]
    checked = check_answer(" ".join(claims), verdict.kept, passages, lambda _claim, _quote: 1.0, 0.0)
    answer.answer, answer.citations = checked.answer, checked.citations
    answer.warnings.extend(f"dropped a sentence: {r}" for r in verdict.reasons)
    return answer
