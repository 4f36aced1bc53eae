"""A question naming something no indexed article mentions is answered with a warning that says so."""

from __future__ import annotations

from pathlib import Path

from assistant.answer.premise import question_names, unknown_names
from assistant.engine import Engine
from assistant.lexical import LexicalIndex
from tests.conftest import HashEmbedder

ABSENT = "in no indexed article"


def test_the_names_are_the_capitalised_words_after_the_first_without_their_possessive() -> None:
    assert question_names("What did Jonas Weber say about NATO's plans in the U.S.?") == ["Jonas", "Weber", "NATO"]
    assert question_names("Who is I?") == [] and question_names("") == []
    assert question_names("What did Weber announce in August, on a Tuesday?") == ["Weber"]


def test_only_the_names_the_collection_lacks_are_warned_about() -> None:
    index = LexicalIndex.build([("a", "Trade minister Jonas Weber spoke in Velmar.")], None)
    assert unknown_names("What did Jonas Weber say in Velmar?", index.holds) is None
    assert unknown_names("What did Weber say in Skarvik?", index.holds) == (
        "'Skarvik' appears in no indexed article: the answer may be about something else")
    assert unknown_names("Did Skarvik and Orrin meet Weber?", index.holds).startswith("'Skarvik' and 'Orrin' appear")


def test_a_name_typed_without_its_accents_is_found() -> None:
    index = LexicalIndex.build([("a", "The song Déjà Vu topped the chart, said Lars Østergaard.")], None)
    assert index.holds("Deja") and index.holds("Vu") and index.holds("Ostergaard") and not index.holds("Jumieges")


def test_a_chunk_added_after_the_base_counts_and_a_word_of_stop_words_is_held() -> None:
    index = LexicalIndex.build([("a", "The desalination plant opened.")], None)
    assert not index.holds("Skarvik")
    index.apply([], [("b", "Skarvik voted against the plan.")], None, 1)
    assert index.holds("Skarvik") and index.holds("The")


def test_an_answer_to_a_question_naming_an_absent_place_carries_the_warning(fake_settings, examples_dir: Path) -> None:  # noqa: ANN001
    engine = Engine(fake_settings.replace(decision_threshold=0.0), embedder=HashEmbedder())
    engine.index([examples_dir])
    named = engine.ask("What did Jonas Weber say about the export rules?")
    absent = engine.ask("What did the Skarvik council say about the export rules?")
    assert named.answered and not any(ABSENT in w for w in named.warnings)
    assert absent.answered and any(w.startswith("'Skarvik' appears " + ABSENT) for w in absent.warnings)
    engine.close()


def test_a_name_the_articles_spell_as_another_alias_of_the_same_entity_is_held() -> None:
    index = LexicalIndex.build([("a", "The United States and Britain signed the accord.")], None)
    assert unknown_names("Did the USA sign the accord with the UK?", index.holds) is None
    assert unknown_names("Did the USA sign the accord with Norway?", index.holds).startswith("'Norway' appears")
