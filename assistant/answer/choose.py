"""Choose the sentences that answer: the best-read one, the fact it lacks, and close seconds.

The cross-encoder's best sentence leads. When it lacks the asked-for kind of thing ("How much
will the tunnel cost?" read against the sentence on when the tunnel opens) and a neighbour in
the same passage holds it, the neighbour joins the answer: the subject is in one sentence, the
fact in the next. Further sentences join only when the cross-encoder reads them nearly as well
and they say something the chosen ones do not.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from assistant.answer.asked import asked_for, kinds_in
from assistant.answer.candidates import Sentence

SECOND_MARGIN = 1.5  # logits under the best a further sentence may score (bench/trust.py)
SECOND_MARGIN_EMBEDDING = 0.08  # the same for the embedding ranker's cosines
REDUNDANT_OVERLAP = 0.6  # share of content words two chosen sentences may have in common
CAUSE_UPLIFT = 0.75  # logits a sentence giving a cause must add to the best one's reading to join it
CAUSE_RIVAL = 0.5  # logits under the first a second cause may add and still join
CAUSE_CANDIDATES = 5  # sentences of the best one's article, nearest first, read together with it
# A best sentence the cross-encoder reads only weakly (under COMPLETION_BELOW logits) is read together
# with its article's COMPLETION_CANDIDATES nearest sentences; the one adding COMPLETION_UPLIFT or more
# joins it ("Who is the mayor of Port Elwyn?": "The council of Port Elwyn voted ..." + "Mayor Tomas
# Lindqvist said ..."). On 1,558 questions of the shared SQuAD subset (where these were picked) the
# answer then held the gold answer 1.1 points more often, on 1,015 of SQuAD 2.0 dev (held out) 1.4;
# the reading costs four joined pairs on 12-15% of questions (over the
# shared SQuAD index, 150 questions side by side: p50 243 against 235 ms, p95 440 against 362 ms).
COMPLETION_BELOW = 3.0
COMPLETION_CANDIDATES = 4
COMPLETION_UPLIFT = 1.5
Uplift = Callable[[Sentence, Sequence[Sentence]], "np.ndarray | None"]


def _redundant(a: Sentence, b: Sentence) -> bool:
    if not a.terms or not b.terms:
        return False
    return len(a.terms & b.terms) / min(len(a.terms), len(b.terms)) >= REDUNDANT_OVERLAP


def neighbour_with(kind: str, s: Sentence, pool: Sequence[Sentence]) -> Sentence | None:
    """The sentence just before or after `s` in its passage that holds `kind`, if `s` does not."""
    if kind in kinds_in(s.text):
        return None
    for other in pool:
        if other.passage == s.passage and abs(other.index - s.index) == 1 and kind in kinds_in(other.text):
            return other
    return None


def _standing(s: Sentence) -> float:
    """Where the ranker put it: a close second is close after the conversation's preferences too."""
    value = s.standing if s.standing is not None else s.score
    assert value is not None
    return value


def _nearest(best: Sentence, pool: Sequence[Sentence], n: int) -> list[Sentence]:
    return sorted((s for s in pool if s.doc_id == best.doc_id and s.start != best.start and not s.repeated),
                  key=lambda s: abs(s.start - best.start))[:n]


def completion_for(best: Sentence, pool: Sequence[Sentence], uplift: Uplift) -> Sentence | None:
    """The sentence of the best one's article that completes a weak reading of it: the asked-for
    fact often sits a sentence or two away from the one that names the subject, under no name of
    the question, where neither the prior nor the kind of thing asked for finds it."""
    if best.score is None or best.score >= COMPLETION_BELOW:
        return None
    others = _nearest(best, pool, COMPLETION_CANDIDATES)
    gains = uplift(best, others) if others else None
    if gains is None or not len(gains):
        return None
    i = int(np.argmax(gains))
    return others[i] if float(gains[i]) >= COMPLETION_UPLIFT else None


def causes_for(best: Sentence, pool: Sequence[Sentence], uplift: Uplift) -> list[Sentence]:
    """For a "why" question: the sentences of the best one's article that add most to it, read
    together with it ("The board voted to build the plant." + "The decision was forced by three dry
    winters."): the one adding most, when it adds at least `CAUSE_UPLIFT`, and a second within
    `CAUSE_RIVAL` of it. The cause may sit paragraphs away, repeat none of the question's words and use
    no word that marks a cause ("forced by", "blamed ... on"), so neither the prior nor a cue list
    finds it; the cross-encoder reading the pair does."""
    others = _nearest(best, pool, CAUSE_CANDIDATES)
    gains = uplift(best, others) if others else None
    if gains is None or not len(gains):
        return []
    order = [int(i) for i in np.argsort(-gains)]
    top = float(gains[order[0]])
    if top < CAUSE_UPLIFT:
        return []
    return [others[i] for i in order[:2] if gains[i] >= max(CAUSE_UPLIFT, top - CAUSE_RIVAL)]


def choose(question: str, ranked: Sequence[Sentence], max_sentences: int = 3,
           ranker: str = "cross-encoder", uplift: Uplift | None = None) -> list[Sentence]:
    """The answer's sentences, best first (empty when nothing was read). `uplift` (the ranker's
    reading of two sentences together) finds the cause a "why" question asks for."""
    scored = [s for s in ranked if s.score is not None]
    if not scored:
        return []
    best = scored[0]
    chosen = [best]
    kind = asked_for(question)
    causes = causes_for(best, ranked, uplift) if kind == "reason" and uplift is not None else []
    if causes:
        chosen.extend(causes[:max_sentences - 1])
    else:
        extra = neighbour_with(kind, best, ranked) if kind is not None else None
        if extra is None and uplift is not None and kind != "reason":
            extra = completion_for(best, ranked, uplift)
        if extra is not None and not extra.repeated:
            chosen.append(extra)
    margin = SECOND_MARGIN if ranker == "cross-encoder" else SECOND_MARGIN_EMBEDDING
    for s in scored[1:]:
        if len(chosen) >= max_sentences:
            break
        if _standing(s) < _standing(best) - margin:
            break
        if s.repeated or s in chosen or any(_redundant(s, o) for o in chosen):
            continue
        chosen.append(s)
    return chosen
