"""The claim decision: one logistic model over the check's findings and soft signals, its
parameters a data file fitted on real claims (bench/train_claims.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.answer.claim_model import (MODEL_FILE, RULES, SOFT, ClaimModel, ClaimModelError, Signals, load_model)
from assistant.answer.constraints import Finding


def _model(**over: float) -> ClaimModel:
    weights = {**{r: -4.0 for r in RULES}, **{s: 0.0 for s in SOFT}, "coverage": 4.0, **over}
    return ClaimModel(weights, bias=-1.0, threshold=0.5)


def test_the_packaged_parameters_weigh_every_feature_and_keep_a_probability_threshold() -> None:
    m = load_model()
    assert set(m.weights) >= set(RULES + SOFT) and 0 < m.threshold < 1 and m.vetoes <= set(RULES)


def test_the_packaged_parameters_say_where_they_come_from() -> None:
    data = json.loads(MODEL_FILE.read_text())
    assert data["provenance"]["script"] == "bench/train_claims.py" and "rules" in data


def test_a_parameter_file_missing_a_feature_is_refused_with_the_refit_command(tmp_path: Path) -> None:
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps({"weights": {"cosine": 1.0}, "bias": 0, "threshold": 0.5}))
    with pytest.raises(ClaimModelError, match="bench/train_claims.py"):
        load_model(bad)


def test_a_well_covered_claim_with_no_finding_is_kept() -> None:
    assert _model().decide(Signals((), {"coverage": 1.0})).ok


def test_a_finding_weighs_against_the_claim_and_gives_the_reason() -> None:
    d = _model().decide(Signals((Finding("number_changed", "the passage says '3', not '4'"),), {"coverage": 1.0}))
    assert not d.ok and d.reason == "the passage says '3', not '4'"


def test_the_reason_is_the_finding_that_weighs_most() -> None:
    m = _model(hedge_dropped=-0.5, date_changed=-6.0)
    d = m.decide(Signals((Finding("hedge_dropped", "hedged"), Finding("date_changed", "another date")),
                         {"coverage": 1.0}))
    assert d.reason == "another date"


def test_a_weak_finding_alone_does_not_drop_a_well_covered_claim() -> None:
    assert _model(hedge_dropped=-0.5).decide(Signals((Finding("hedge_dropped", "hedged"),), {"coverage": 1.0})).ok


def test_a_veto_rule_drops_whatever_the_probability() -> None:
    m = ClaimModel(_model().weights | {"number_changed": 0.0}, bias=5.0, threshold=0.5, vetoes=frozenset({"number_changed"}))
    d = m.decide(Signals((Finding("number_changed", "another number"),), {"coverage": 1.0}))
    assert not d.ok and d.reason == "another number"


def test_a_poorly_covered_claim_without_a_finding_says_the_passage_does_not_support_it() -> None:
    d = _model().decide(Signals((), {"coverage": 0.0}))
    assert not d.ok and d.reason == "the passage does not support it"


def test_the_claim_threshold_setting_moves_the_bar_of_the_fitted_model() -> None:
    from assistant.answer.support import SupportChecker
    from tests.conftest import HashEmbedder

    strict = SupportChecker(HashEmbedder(), spacy_model="", claim_threshold=0.99)
    assert strict.model.threshold == 0.99 and strict.model.weights == load_model().weights
    assert not strict.judge("The plant will cost a lot.", "The plant will cost 312 million euros.").ok
