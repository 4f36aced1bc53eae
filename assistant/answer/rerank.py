"""Read the front-running sentences together with the question: which one answers it?

A bi-encoder and BM25 found the region; the cross-encoder (`assistant/crossencoder.py`) reads
the question and each candidate as one input, which is what tells "when did it open?" from a
sentence that merely mentions the opening. Only the `top_n` sentences of the cheap prior are
read (`candidates.prerank`). Without the cross-encoder (its package missing) the embedding
cosine ranks instead, and the decision uses the parameters fitted for that ranker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from assistant.answer.asked import asked_for, kinds_in
from assistant.answer.candidates import Sentence, prerank
from assistant.records import Passage

log = logging.getLogger(__name__)

TOP_N = 8  # sentences read by the cross-encoder per question (bench/trust.py: no gain past 8 on SQuAD)
PER_PASSAGE = 1  # and each retrieved passage's best by the prior, when the top_n leave it unread
MAX_TOKENS = 160  # question + sentence; a longer sentence is cut at the end
JOINED_TOKENS = 192  # question + two sentences read together (`SentenceRanker.uplift`)
# logits a sentence the conversation's last answer quoted loses: a follow-up wants news ("what did it do
# instead?", "and then?"), unless it asks for a kind of fact that sentence holds ("when did it agree to
# that?" after a sentence with the date), when the old sentence may answer again
REPEAT_PENALTY = 1.0
NEWS_PENALTY = 4.0
# what one cross-encoder logit is worth in the embedding ranker's cosines (their spreads among a
# question's candidates: about 4 logits against 0.4), for the penalty and preferences above
EMBEDDING_UNIT = 0.1


@dataclass
class Ranked:
    """The pool ordered best first, and which ranker scored it."""

    sentences: list[Sentence]
    ranker: str  # "cross-encoder" | "embedding"

    @property
    def best(self) -> Sentence | None:
        return self.sentences[0] if self.sentences else None


class SentenceRanker:
    def __init__(self, cross_encoder: Any | None, encode: Callable[[list[str]], np.ndarray] | None = None,
                 top_n: int = TOP_N) -> None:
        self.cross_encoder = cross_encoder
        self.encode = encode
        self.top_n = top_n

    @property
    def name(self) -> str:
        return "cross-encoder" if self.cross_encoder is not None else "embedding"

    @property
    def unit(self) -> float:
        """One logit, in this ranker's scores."""
        return 1.0 if self.cross_encoder is not None else EMBEDDING_UNIT

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """The ranker's score of each text as an answer to `question`."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        if self.cross_encoder is not None:
            return self.cross_encoder.score([(question, t) for t in texts], max_length=MAX_TOKENS)
        assert self.encode is not None, "a ranker needs a cross-encoder or an embedder"
        vectors = self.encode([question, *texts])
        return vectors[1:] @ vectors[0]

    def uplift(self, question: str, lead: Sentence, others: Sequence[Sentence]) -> np.ndarray | None:
        """How much each of `others`, read together with `lead` (in the article's order), raises the
        cross-encoder's reading of `lead` alone: what a sentence adds to the answer, though it may repeat
        none of the question's words ("the decision was forced by three dry winters"). None without the
        cross-encoder (a cosine of two sentences joined says little)."""
        if self.cross_encoder is None or not others:
            return None
        joined = [f"{lead.text} {o.text}" if lead.start < o.start else f"{o.text} {lead.text}" for o in others]
        scores = self.cross_encoder.score([(question, t) for t in [lead.text, *joined]], max_length=JOINED_TOKENS)
        return scores[1:] - scores[0]

    def rank(self, question: str, pool: list[Sentence], passages: Sequence[Passage],
             prefer: Callable[[Sentence], float] | None = None, include: Sequence[Sentence] = ()) -> Ranked:
        """The pool's front runners read with the question, best first; the rest follow unscored.

        `prefer(sentence)` adds to a score, in logits (a follow-up's articles win close calls); a
        sentence the conversation already quoted loses `NEWS_PENALTY`, or `REPEAT_PENALTY` when it holds
        the kind of fact the question asks for. The `include`d sentences are read even when the cheap
        prior leaves them out of the front runners."""
        ordered = prerank(question, pool, passages)
        front, rest = ordered[:self.top_n], ordered[self.top_n:]
        # a passage retrieval ranked in the top k is read at least once: an answer in the articles'
        # words, not the question's ("retailers lost" for "shops lose"), scores low on the prior
        read = {s.passage for s in front}
        unread = []
        for s in rest:
            if s.passage not in read and len([u for u in unread if u.passage == s.passage]) < PER_PASSAGE:
                unread.append(s)
        include = list(include) + unread
        extra = {id(s) for s in include} - {id(s) for s in front}
        if extra:
            front += [s for s in rest if id(s) in extra]
            rest = [s for s in rest if id(s) not in extra]
        for s, value in zip(front, self.score(question, [s.reading for s in front])):
            s.score = float(value)

        kind = asked_for(question)

        def penalty(s: Sentence) -> float:
            if not s.repeated:
                return 0.0
            return REPEAT_PENALTY if kind is not None and kind in kinds_in(s.text) else NEWS_PENALTY

        def key(s: Sentence) -> float:
            assert s.score is not None
            return s.score + self.unit * ((prefer(s) if prefer else 0.0) - penalty(s))

        for s in front:
            s.standing = key(s)
        front.sort(key=key, reverse=True)
        return Ranked(front + rest, self.name)
