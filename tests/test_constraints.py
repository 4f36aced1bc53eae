"""The constraint matcher: names, numbers, dates, negation and direction words of a claim against
the evidence (no spaCy needed)."""

import pytest

from assistant.answer.constraints import entity_key, extract, unmet

PLANT = ("The plant will cost 312 million euros and is designed to produce 45,000 cubic meters of fresh water a day, "
         "roughly a third of the city's summer demand. Construction is scheduled to begin in October and the first "
         "water should reach homes in 2027.")


def test_names_compare_without_case_punctuation_or_leading_article() -> None:
    assert entity_key("the U.S.'s") == "us" and entity_key("Mar  Azul") == "mar azul"


def test_an_entity_absent_from_the_passage_is_named() -> None:
    assert unmet("Oslo will build the plant.", PLANT) == ["'Oslo' is not in the passage"]


@pytest.mark.parametrize("claim,evidence", [
    ("The US supplied missiles.", "Washington supplied missiles."),
    ("Moscow demanded guarantees.", "Russia demanded guarantees."),
    ("The Kremlin demanded guarantees.", "Russia demanded guarantees."),
    ("President Varga spoke.", "Ilse Varga spoke."),
])
def test_an_alias_from_the_table_meets_an_entity(claim: str, evidence: str) -> None:
    assert unmet(claim, evidence) == []


def test_the_pronoun_us_is_not_the_united_states() -> None:
    assert unmet("The US agreed.", "They told us they agreed.") == ["'US' is not in the passage"]


def test_an_entity_may_be_met_by_the_rest_of_the_passage() -> None:
    assert unmet("Velmar will pay for it.", "The city will pay for it.", passage="Velmar approved the plant.") == []


def test_a_wrong_number_is_reported_against_the_passages_number() -> None:
    assert unmet("The plant will cost 321 million euros.", PLANT) == ["the passage says '312 million', not '321 million'"]


@pytest.mark.parametrize("claim", ["It meets about 33 percent of summer demand.", "It meets roughly one third of demand.",
                                   "It will cost 312,000,000 euros.", "It makes 45 thousand cubic meters a day."])
def test_the_same_quantity_in_other_words_is_met(claim: str) -> None:
    assert unmet(claim, PLANT) == []


def test_a_wrong_quantity_word_is_reported() -> None:
    assert unmet("It meets a quarter of summer demand.", PLANT) == ["the passage says 'a third', not 'a quarter'"]


def test_vague_amounts_are_ranges() -> None:
    assert unmet("Dozens of boats joined.", "Forty boats joined.") == []
    assert unmet("Several hundred boats joined.", "Forty boats joined.") == ["the passage says 'Forty', not 'Several hundred'"]


def test_a_wrong_month_or_year_is_reported() -> None:
    assert unmet("Construction begins in November.", PLANT) == ["the passage says 'October', not 'November'"]
    assert unmet("Water reaches homes in 2028.", PLANT) == ["the passage says '2027', not '2028'"]


def test_a_negation_the_passage_lacks_fails() -> None:
    assert unmet("The plant will not produce fresh water.", PLANT)[0] == "the passage does not say 'not'"


def test_a_negation_the_passage_has_must_be_kept() -> None:
    assert unmet("The board approved the plan.", "The board did not approve the plan.")[0] == \
        "the passage says 'did not approve'"


def test_a_negated_verb_matches_its_antonym() -> None:
    assert unmet("The board did not approve the plan.", "The board rejected the plan.") == []


def test_an_antonym_is_the_opposite() -> None:
    assert unmet("Exports fell by 4 percent.", "Exports rose by 4 percent.") == ["the passage says the opposite ('rose')"]


def test_a_synonym_on_the_same_side_is_not_the_opposite() -> None:
    assert unmet("Exports climbed 4%.", "Exports rose by 4 percent.") == []


def test_the_opposite_is_judged_against_the_term_about_the_same_thing() -> None:
    evidence = "Exports rose by 4 percent while imports fell by 2 percent."
    assert unmet("Exports rose by 4 percent.", evidence) == []
    assert unmet("Exports fell by 4 percent.", evidence) == ["the passage says the opposite ('rose')"]


def test_question_words_are_not_constraints() -> None:
    assert extract("Why did the board vote?").entities == []


def test_an_abbreviated_month_is_a_month_only_beside_a_number() -> None:
    from assistant.answer.constraints import extract

    assert not extract("What does Mar Azul argue?").dates
    assert not extract("Jan Novak voted against it.").dates
    assert [d.value for d in extract("It opened on Mar 3, 2024.").dates if d.kind == "month"] == [3]


# --- findings: each rule named, for the claim decision -----------------------------------------

from assistant.answer.constraints import findings  # noqa: E402

HEDGED = "Sea levels may rise by up to a metre per century, usually less than storms, since 2010, researchers said."


def _rules(claim: str, evidence: str = HEDGED, passage: str = "") -> set[str]:
    return {f.rule for f in findings(claim, evidence, passage=passage)}


def test_a_code_with_symbols_is_one_name() -> None:
    assert [e.text for e in extract("The P5+1 and the G7 met over COVID-19.").entities] == ["P5+1", "G7", "COVID-19"]


def test_names_in_a_list_are_separate_names() -> None:
    assert [e.text for e in extract("Iran, North Korea and Venezuela signed.").entities] == \
        ["Iran", "North Korea", "Venezuela"]


@pytest.mark.parametrize("claim,evidence", [
    ("North Korean hackers struck.", "Hackers from North Korea struck."),
    ("Russian officials spoke.", "Officials in Russia spoke."),
    ("Chinese exports rose.", "Exports from China rose."),
])
def test_a_demonym_meets_its_country(claim: str, evidence: str) -> None:
    assert findings(claim, evidence) == []


def test_a_demonym_is_not_another_country() -> None:
    assert _rules("Officials of the Austrian government spoke.", "Officials in Australia spoke.") == {"entity_swapped"}


def test_nearly_all_paraphrases_almost_all() -> None:
    assert "quantifier_changed" not in _rules("Nearly all scientists agree.", "Almost all scientists agree.")


def test_a_hedge_made_certain_is_found() -> None:
    assert {"hedge_dropped", "certainty_added"} <= _rules("Sea levels will definitely rise by up to a metre per century.")


def test_a_quantifier_moved_along_its_scale_is_found() -> None:
    assert "quantifier_changed" in _rules("Sea levels always rise less than storms.")


def test_a_flipped_comparative_is_found() -> None:
    assert "comparative_flipped" in _rules("Sea levels may rise more than storms.")


def test_a_changed_order_of_events_is_found() -> None:
    assert "order_changed" in _rules("Sea levels may rise before 2010.")


def test_a_changed_unit_is_found() -> None:
    assert "unit_changed" in _rules("Sea levels may rise by up to a metre per year.")


def test_a_name_the_quote_lacks_while_naming_another_is_a_possible_swap() -> None:
    quote = "Graham Pike said the deal was fair."
    assert _rules("Marta Kowal said the deal was fair.", quote, passage="Marta Kowal spoke first. " + quote) == \
        {"entity_elsewhere"}


def test_a_number_from_another_sentence_of_the_passage_is_not_a_changed_number() -> None:
    quote = "The plant will cost 312 million euros."
    assert _rules("The plant will open in 2027 and cost 40 jobs.", quote,
                  passage=quote + " It opens in 2027 and cuts 40 jobs.") == {"number_elsewhere", "date_elsewhere"}


def test_a_unit_adverb_is_its_unit() -> None:
    assert findings("It produces 45,000 cubic meters of water daily.", "It produces 45,000 cubic meters of water a day.") == []


def test_a_name_the_quote_replaces_with_another_is_a_swap_not_an_addition() -> None:
    assert _rules("Oslo demanded guarantees.", "Russia demanded guarantees.") == {"entity_swapped"}
    assert _rules("Oslo demanded guarantees.", "The city demanded guarantees.") == {"entity_absent"}
