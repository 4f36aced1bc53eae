"""One calibrated decision on a claim: does its quote support it?

Each rule of the claim check (`constraints.findings`, the role check, the unsupported-clause
check) is evidence, not a verdict: a rule that fires is one binary feature, beside soft signals
(embedding cosine, stem and typo tolerant coverage of the claim by the quote and by its passage,
how much of the claim is new). A logistic regression over them gives the probability that the
quote supports the claim. Its parameters are `claim_model.json`, fitted by `bench/train_claims.py`
on real claims written by others (see that file's `provenance`); a rule vetoes on its own only
if that file lists it in `vetoes`, which the training script does only for rules right at least
`VETO_PRECISION` of the time on real claims.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from assistant.answer.constraints import Finding

MODEL_FILE = Path(__file__).resolve().with_name("claim_model.json")
VETO_PRECISION = 0.98  # the bar: a rule may veto alone only where it is right this often on real data

# every rule the check can report, in the order the model reads them
RULES: tuple[str, ...] = (
    "entity_absent", "entity_swapped", "entity_weak", "entity_elsewhere", "number_changed", "number_absent", "number_elsewhere",
    "date_changed", "date_absent", "date_elsewhere", "negation_added", "negation_dropped", "negation_prefix", "opposite", "hedge_dropped",
    "certainty_added", "quantifier_changed", "comparative_flipped", "order_changed", "unit_changed",
    "roles_reversed", "other_subject", "unsupported_clause",
)
# soft signals, each in [0, 1]
SOFT: tuple[str, ...] = ("cosine", "coverage", "passage_coverage", "novel", "clause_coverage")


@dataclass(frozen=True)
class Signals:
    """What the check found about one claim and its quote."""

    findings: tuple[Finding, ...]
    soft: dict[str, float] = field(default_factory=dict)

    def features(self) -> dict[str, float]:
        fired = {f.rule for f in self.findings}
        return {**{r: float(r in fired) for r in RULES}, **{s: float(self.soft.get(s, 0.0)) for s in SOFT}}


@dataclass(frozen=True)
class Decision:
    ok: bool
    probability: float
    reason: str = ""


class ClaimModelError(RuntimeError):
    """The claim model's parameter file is missing or does not fit this code; the message says why."""


@dataclass(frozen=True)
class ClaimModel:
    """Logistic regression over `Signals.features()`; `threshold` is the probability a claim needs."""

    weights: dict[str, float]
    bias: float
    threshold: float
    vetoes: frozenset[str] = frozenset()

    def probability(self, signals: Signals) -> float:
        x = signals.features()
        z = self.bias + sum(self.weights.get(k, 0.0) * v for k, v in x.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def decide(self, signals: Signals) -> Decision:
        """Keep or drop, with the reason of the finding that weighs most against the claim (a finding
        the model gives no weight still says what the quote lacks)."""
        p = self.probability(signals)
        veto = next((f for f in signals.findings if f.rule in self.vetoes), None)
        if veto is not None:
            return Decision(False, p, veto.reason)
        if p >= self.threshold:
            return Decision(True, p)
        worst = min(signals.findings, key=lambda f: self.weights.get(f.rule, 0.0), default=None)
        if worst is not None:  # what the check found says more than "does not support it", weighed or not
            return Decision(False, p, worst.reason)
        return Decision(False, p, "the passage does not support it")


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_FILE) -> ClaimModel:
    """The fitted parameters; every feature this code computes must have a weight."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ClaimModelError(f"{path}: cannot read the claim model ({exc})") from exc
    weights = {k: float(v) for k, v in data["weights"].items()}
    missing = set(RULES + SOFT) - set(weights)
    if missing:
        raise ClaimModelError(f"{path}: no weight for {sorted(missing)}; refit with bench/train_claims.py")
    return ClaimModel(weights, float(data["bias"]), float(data["threshold"]), frozenset(data.get("vetoes", [])))
