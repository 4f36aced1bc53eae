"""One-fact corruptions of real faithful claims, by kind (the FactCC recipe: Kryscinski et al. 2020).

Real corrupted claims rarely turn a hedge into a certainty or flip a comparative, so a model fitted
on them alone cannot learn what those rules are worth. These transformations make such claims
from real faithful ones (written by others, judged faithful by people): each changes one thing
the issue lists, and nothing else. They weigh in training beside the real claims
(`bench/train_claims.py`) and are reported apart, never mixed into the real figures.
"""

from __future__ import annotations

import random
import re
from typing import Callable

from assistant.answer.constraints import extract

_AUX = r"\b(is|are|was|were|has|have|had|will|can|could|would|should|did|does|do)\b"
_SWAPS: dict[str, list[tuple[str, str]]] = {
    "hedge": [("may", "will definitely"), ("might", "will"), ("could", "will"), ("likely", "certain"),
              ("possibly", "definitely"), ("probably", "certainly"), ("reportedly", "definitely"),
              ("suggests", "proves"), ("suggested", "proved"), ("expected to", "certain to")],
    "quantifier": [("usually", "always"), ("often", "always"), ("sometimes", "always"), ("some", "all"),
                   ("many", "all"), ("most", "all"), ("few", "many"), ("rarely", "often"), ("several", "all"),
                   ("all", "some"), ("always", "sometimes"), ("every", "some")],
    "comparative": [("more", "less"), ("less", "more"), ("fewer", "more"), ("higher", "lower"), ("lower", "higher"),
                    ("larger", "smaller"), ("smaller", "larger"), ("greater", "lesser"), ("most", "least"),
                    ("better", "worse"), ("worse", "better"), ("faster", "slower"), ("older", "younger")],
    "order": [("before", "after"), ("after", "before"), ("since", "before"), ("until", "after"),
              ("prior to", "after"), ("following", "before"), ("earlier", "later"), ("later", "earlier")],
    "unit": [("years", "months"), ("year", "month"), ("months", "years"), ("century", "year"), ("days", "weeks"),
             ("weeks", "days"), ("hours", "minutes"), ("kilometres", "miles"), ("kilometers", "miles"),
             ("miles", "kilometres"), ("million", "billion"), ("billion", "million"), ("per cent", "times"),
             ("percent", "times"), ("dollars", "euros"), ("pounds", "dollars"), ("decade", "century")],
    "cause": [("because of", "despite"), ("because", "although"), ("due to", "despite"), ("led to", "followed"),
              ("caused", "followed"), ("as a result of", "in spite of")],
}


def _swap(claim: str, kind: str, rng: random.Random) -> str | None:
    options = [(a, b) for a, b in _SWAPS[kind] if re.search(rf"\b{re.escape(a)}\b", claim, re.I)]
    if not options:
        return None
    a, b = rng.choice(options)
    return re.sub(rf"\b{re.escape(a)}\b", b, claim, count=1, flags=re.I)


def _number(claim: str, rng: random.Random) -> str | None:
    nums = [m for m in re.finditer(r"\b\d+(?:[.,]\d+)?\b", claim) if not (1900 <= float(m.group().replace(",", "")) <= 2100)]
    if not nums:
        return None
    m = rng.choice(nums)
    v = float(m.group().replace(",", ""))
    new = v * rng.choice([2, 3, 0.5, 10]) if v > 10 else v + rng.choice([1, 2, 3])
    text = f"{new:,.0f}" if new == int(new) else f"{new:.1f}"
    return claim[:m.start()] + text + claim[m.end():] if text != m.group() else None


def _date(claim: str, rng: random.Random) -> str | None:
    years = list(re.finditer(r"\b(19|20)\d\d\b", claim))
    months = list(re.finditer(r"\b(January|February|March|April|June|July|August|September|October|November|"
                              r"December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b", claim))
    if years:
        m = rng.choice(years)
        return claim[:m.start()] + str(int(m.group()) + rng.choice([-3, -2, -1, 1, 2, 3])) + claim[m.end():]
    if months:
        m = rng.choice(months)
        pool = ["January", "March", "June", "October"] if not m.group().endswith("day") else ["Monday", "Friday"]
        other = [x for x in pool if x != m.group()]
        return claim[:m.start()] + rng.choice(other) + claim[m.end():]
    return None


def _entity(claim: str, passage: str, rng: random.Random) -> str | None:
    """One name of the claim for another name the passage holds (the same article's cast)."""
    mine = [e for e in extract(claim).entities if not e.weak]
    others = [e for e in extract(passage).entities if not e.weak and e.key not in {x.key for x in mine}
              and e.text not in claim]
    if not mine or not others:
        return None
    a, b = rng.choice(mine), rng.choice(others)
    return claim.replace(a.text, b.text, 1)


def _roles(claim: str, rng: random.Random) -> str | None:
    """Two names of the claim trade places ("Russia demanded guarantees from the U.S." -> the reverse)."""
    names = [e.text for e in extract(claim).entities if not e.weak]
    names = [n for n in dict.fromkeys(names) if claim.count(n) == 1]
    if len(names) < 2:
        return None
    a, b = rng.sample(names, 2)
    return claim.replace(a, "\0").replace(b, a).replace("\0", b)


def _negation(claim: str, rng: random.Random) -> str | None:
    if re.search(r"\b(not|n't|never|no)\b", claim):
        return re.sub(r"\s*\b(not|never)\b|n't\b", "", claim, count=1)
    m = re.search(_AUX, claim)
    return claim[:m.end()] + " not" + claim[m.end():] if m else None


KINDS: dict[str, Callable[[str, str, random.Random], str | None]] = {
    "number": lambda c, p, r: _number(c, r),
    "date": lambda c, p, r: _date(c, r),
    "entity": _entity,
    "roles": lambda c, p, r: _roles(c, r),
    "negation": lambda c, p, r: _negation(c, r),
    **{k: (lambda kind: (lambda c, p, r: _swap(c, kind, r)))(k) for k in _SWAPS},
}


def corruptions(claim: str, passage: str, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, corrupted claim) for every kind that applies to `claim`."""
    out = []
    for kind, make in KINDS.items():
        changed = make(claim, passage, rng)
        if changed and changed.strip() != claim.strip():
            out.append((kind, changed))
    return out
