"""Choose the sentences that answer: the best-read one, the fact it lacks, and close seconds.

The cross-encoder's best sentence leads. When it lacks the asked-for kind of thing ("How much
will the tunnel cost?" read against the sentence on when the tunnel opens) and a neighbour in
the same passage holds it, the neighbour joins the answer: the subject is in one sentence, the
fact in the next. Further sentences join only when the cross-encoder reads them nearly as well
and they say something the chosen ones do not.
"""

from __future__ import annotations

from typing import Sequence

from assistant.answer.asked import asked_for, kinds_in
from assistant.answer.candidates import Sentence

SECOND_MARGIN = 1.5  # logits under the best a further sentence may score (bench/trust.py)
SECOND_MARGIN_EMBEDDING = 0.08  # the same for the embedding ranker's cosines
REDUNDANT_OVERLAP = 0.6  # share of content words two chosen sentences may have in common


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


def choose(question: str, ranked: Sequence[Sentence], max_sentences: int = 3,
           ranker: str = "cross-encoder") -> list[Sentence]:
    """The answer's sentences, best first (empty when nothing was read)."""
    scored = [s for s in ranked if s.score is not None]
    if not scored:
        return []
    best = scored[0]
    chosen = [best]
    kind = asked_for(question)
    if kind is not None:
        extra = neighbour_with(kind, best, ranked)
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
