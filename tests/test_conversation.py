"""Follow-ups resolved against the conversation (assistant/conversation.py and Engine.ask(history=...))."""

from pathlib import Path

import pytest

from assistant.conversation import (accept_rewrite, condense, condense_offline, CondenseError, followup_reason,
                                    prefer_conversation)
from assistant.engine import Engine
from assistant.evaluation import evaluate, load_gold
from assistant.records import Chunk, Citation, Passage, Turn

REPO = Path(__file__).resolve().parent.parent
QUOTE = ("Russia demanded “written guarantees” from the U.S. that Moscow’s cooperation with Iran would not be "
         "impacted by the sanctions Russia faced, leaving the Kremlin to search for other avenues.")


def turn(question: str, quote: str = QUOTE, doc_id: str = "a/russia.txt") -> Turn:
    c = Citation(1, doc_id, "Title", [], None, doc_id, "c1", 0, len(quote), quote, 0.5)
    return Turn(question, f"{quote} [1]", [c])


HISTORY = [turn("Why did Russia seek guarantees?")]


@pytest.mark.parametrize("question", ["What did it do instead?", "Who opposes them?", "What does that mean?",
                                      "What happened there?", "What about Venezuela?", "And when?", "Why?",
                                      "Who wrote that article?"])
def test_a_question_leaning_on_the_conversation_is_a_followup(question: str) -> None:
    assert followup_reason(question, HISTORY)


@pytest.mark.parametrize("question", ["How long did the rail strike last?",
                                      "What did Clara Jessen say about her country's rules?",
                                      "Is there a plan for the harbor?",
                                      "Did Varga say that the plant would cost more?"])
def test_a_question_that_stands_on_its_own_is_not_a_followup(question: str) -> None:
    assert followup_reason(question, HISTORY) == ""


def test_without_history_nothing_is_a_followup() -> None:
    assert followup_reason("What did it do instead?", []) == ""


def test_the_followup_is_searched_with_the_names_and_topic_of_the_earlier_turn() -> None:
    c = condense_offline("What did it do instead?", HISTORY)
    assert c.followup and c.standalone.startswith("What did it do instead?")
    assert {"Russia", "guarantees"} <= set(c.context_terms)
    assert c.docs == {"a/russia.txt": 1.0}


def test_the_followups_own_words_weigh_more_than_the_context_in_the_keyword_query() -> None:
    c = condense_offline("What about Venezuela?", HISTORY)
    assert c.lexical_query.count("Venezuela") == 2
    assert c.lexical_query.count("Russia") == 1


def test_a_new_topic_question_is_searched_as_asked() -> None:
    c = condense_offline("How long did the rail strike last?", HISTORY)
    assert not c.followup and c.standalone == c.question and not c.changed


def test_the_conversations_articles_win_a_close_call_but_not_a_clear_one() -> None:
    def p(doc: str, score: float) -> Passage:
        return Passage(Chunk(doc + "#0", doc, 0, 0, 1, "x"), score)

    close = [p("other", 0.80), p("ours", 0.78)]
    assert prefer_conversation(close, {"ours": 1.0}, 1)[0].chunk.doc_id == "ours"
    clear = [p("other", 0.95), p("ours", 0.50)]
    assert prefer_conversation(clear, {"ours": 1.0}, 1)[0].chunk.doc_id == "other"


class FakeModel:
    def __init__(self, reply: str | Exception) -> None:
        self.reply = reply
        self.prompts: list = []

    def invoke(self, prompt):  # noqa: ANN001, ANN201
        from langchain_core.messages import AIMessage

        self.prompts.append(prompt)
        if isinstance(self.reply, Exception):
            raise self.reply
        return AIMessage(content=self.reply)


def test_the_llm_rewrite_is_used_when_it_keeps_the_followups_words(settings) -> None:  # noqa: ANN001
    model = FakeModel("What did Russia do instead of seeking guarantees?")
    c = condense("What did it do instead?", HISTORY, settings.replace(condense="llm"), "extractive", model)
    assert c.method == "llm" and c.standalone == "What did Russia do instead of seeking guarantees?"
    assert "Why did Russia seek guarantees?" in str(model.prompts[0])


def test_a_rewrite_that_drops_the_followups_words_is_rejected() -> None:
    with pytest.raises(CondenseError, match="Venezuela"):
        accept_rewrite("What about Venezuela?", "Why did Russia seek guarantees?")


@pytest.mark.parametrize("reply", ["Why did Russia seek guarantees?", ConnectionError("endpoint down"), ""])
def test_a_bad_rewrite_or_a_fault_falls_back_to_the_offline_one_with_a_warning(settings, reply) -> None:  # noqa: ANN001
    c = condense("What about Venezuela?", HISTORY, settings.replace(condense="llm"), "extractive", FakeModel(reply))
    assert c.method == "offline" and "Venezuela" in c.standalone
    assert len(c.warnings) == 1 and "offline" in c.warnings[0]


def test_auto_uses_the_model_only_with_the_llm_answerer(settings) -> None:  # noqa: ANN001
    model = FakeModel("What did Russia do instead?")
    assert condense("What did it do instead?", HISTORY, settings, "extractive", model).method == "offline"
    assert condense("What did it do instead?", HISTORY, settings, "llm", model).method == "llm"


# --- through the engine (fake embedder) ------------------------------------------------------

ARTICLES = {
    "dam.txt": "April 4, 2023\n\nRiver dam completed\n\nBy Ines Moreau\n\n"
               "The Valbonne river dam was completed in April after eleven years of construction. "
               "It will supply drinking water to 300,000 residents of the valley.\n\n"
               "Engineers said the reservoir would take two winters to fill.\n",
    "ferry.txt": "June 9, 2024\n\nFerry service resumes\n\nBy Sam Lee\n\n"
                 "The island ferry resumed service after a two-week strike by deck crews ended with a pay deal. "
                 "The crews will fill two new posts on each boat.\n",
}


@pytest.fixture
def engine(fake_settings, hash_embedder, tmp_path: Path) -> Engine:  # noqa: ANN001
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in ARTICLES.items():
        (docs / name).write_text(text)
    e = Engine(fake_settings, embedder=hash_embedder)
    e.index([docs])
    return e


def test_the_answer_records_what_was_searched_for(engine: Engine) -> None:
    first = engine.ask("When was the Valbonne river dam completed?")
    follow = engine.ask("How long will it take to fill?", history=[Turn.of(first)])
    assert first.standalone_question == first.question
    assert follow.standalone_question != follow.question and "Valbonne" in follow.standalone_question
    assert follow.to_dict()["standalone_question"] == follow.standalone_question


def test_a_followup_is_answered_from_the_conversations_article(engine: Engine) -> None:
    first = engine.ask("When was the Valbonne river dam completed?")
    follow = engine.ask("How long will it take to fill?", history=[Turn.of(first)])
    assert follow.answered and all(c.doc_id.endswith("dam.txt") for c in follow.citations)


def test_history_beyond_the_setting_is_not_used(engine: Engine) -> None:
    engine.settings = engine.settings.replace(history_turns=0)
    first = engine.ask("When was the Valbonne river dam completed?")
    follow = engine.ask("How long will it take to fill?", history=[Turn.of(first)])
    assert follow.standalone_question == follow.question


# --- the real model: gold sets ---------------------------------------------------------------

@pytest.mark.slow
def test_followups_lose_nothing_against_the_same_questions_asked_in_full(real_engine: Engine) -> None:
    rep = evaluate(real_engine, load_gold(REPO / "examples" / "conversations.jsonl"), 5)
    follow, new, meta = (rep.conversations[g] for g in ("followup", "new_topic", "metadata"))
    assert follow["answer_hit"] >= follow["full_answer_hit"] and follow["answer_hit"] >= 0.75
    assert follow["citation_recall"] >= follow["full_citation_recall"] - 0.03
    assert new["answer_hit"] >= new["alone_answer_hit"] and new["citation_recall"] >= new["alone_citation_recall"]
    assert meta["answer_hit"] == 1.0


@pytest.mark.slow
def test_russia_followups_stay_on_russia_and_who_wrote_it_cites_the_article(real_engine: Engine,
                                                                             shared_articles: Path) -> None:
    history: list[Turn] = []
    for question in ["why did Russia seek guarantees?", "what did it do instead?"]:
        ans = real_engine.ask(question, history=history)
        assert ans.answered and all(c.doc_id.endswith("001_50b5931fce3d88c2.txt") for c in ans.citations), ans.answer
        assert "Russia" in ans.answer or "Kremlin" in ans.answer or "Moscow" in ans.answer
        history.append(Turn.of(ans))
    who = real_engine.ask("who wrote it?", history=history)
    assert who.answered and who.answerer == "metadata"
    (c,) = who.citations
    assert c.doc_id.endswith("001_50b5931fce3d88c2.txt") and c.title in who.answer
    assert real_engine.document(c.doc_id).text[c.start:c.end] == c.quote


# --- the LLM rewrite through the engine, against a scripted OpenAI-compatible server ---------

@pytest.mark.slow
def test_an_endpoint_fault_while_condensing_falls_back_to_the_offline_rewrite(engine: Engine) -> None:
    from tests.llm_server import Reply, ScriptedServer

    first = engine.ask("When was the Valbonne river dam completed?")
    with ScriptedServer() as script:
        script.replies = [Reply(status=500), Reply(text="The reservoir would take two winters to fill [1].")]
        engine.settings = engine.settings.replace(llm_base_url=script.url, llm_timeout=5.0, llm_retries=0)
        ans = engine.ask("How long will it take to fill?", answerer="llm", history=[Turn.of(first)])
    assert "Valbonne" in ans.standalone_question
    assert sum("searched offline" in w for w in ans.warnings) == 1


@pytest.mark.slow
def test_the_models_rewrite_is_what_is_searched_for(engine: Engine) -> None:
    from tests.llm_server import Reply, ScriptedServer

    first = engine.ask("When was the Valbonne river dam completed?")
    with ScriptedServer() as script:
        script.replies = [Reply(text="How long will it take to fill the Valbonne dam reservoir?"),
                          Reply(text="The reservoir would take two winters to fill [1].")]
        engine.settings = engine.settings.replace(llm_base_url=script.url, llm_timeout=5.0, llm_retries=0)
        ans = engine.ask("How long will it take to fill?", answerer="llm", history=[Turn.of(first)])
        assert "Valbonne" in str(script.requests[0]["messages"])
    assert ans.standalone_question == "How long will it take to fill the Valbonne dam reservoir?"


def test_the_model_is_not_asked_to_rewrite_a_new_topic(settings) -> None:  # noqa: ANN001
    model = FakeModel("Why did Russia seek guarantees about the rail strike?")
    c = condense("How long did the rail strike last?", HISTORY, settings.replace(condense="llm"), "llm", model)
    assert c.standalone == "How long did the rail strike last?" and model.prompts == []


@pytest.mark.slow
@pytest.mark.parametrize("turns,expect", [
    (["What did North Korean diplomat Ri Yong Ho say?", "Where was he when he said it?"], "visit to Iran"),
    (["What did Iran agree to provide Russia?", "When did it agree to that?"], "in July"),
])
def test_shared_article_followups_are_answered_from_the_conversation(real_engine: Engine, shared_articles: Path,
                                                                     turns: list[str], expect: str) -> None:
    history: list[Turn] = []
    for q in turns:
        ans = real_engine.ask(q, history=history)
        history.append(Turn.of(ans))
    assert ans.answered and expect in ans.answer and len({c.doc_id for c in ans.citations}) == 1


def test_a_followup_prefers_a_new_sentence_to_the_one_just_quoted(fake_settings, hash_embedder, tmp_path) -> None:  # noqa: ANN001
    """When another sentence answers nearly as well, a follow-up does not repeat the last quote."""
    from assistant.engine import Engine
    from assistant.records import Turn

    docs = tmp_path / "d"
    docs.mkdir()
    (docs / "port.txt").write_text(
        "May 2, 2024\n\nPort strike\n\nBy Ana Test\n\n"
        "The dockworkers of Velmar went on strike over pay in the spring of 2024.\n\n"
        "The dockworkers of Velmar went back to work after the strike over pay when the port offered a bonus.\n")
    engine = Engine(fake_settings.replace(max_answer_sentences=1), embedder=hash_embedder)  # one quote an answer
    engine.index([docs])
    first = engine.ask("What did the dockworkers of Velmar do?")
    again = engine.ask("What did the dockworkers of Velmar do?")
    follow = engine.ask("and then?", history=[Turn.of(first)])
    assert first.citations and again.citations[0].quote == first.citations[0].quote
    assert follow.answered and follow.citations[0].quote != first.citations[0].quote


@pytest.mark.slow
def test_a_followup_with_no_subject_of_its_own_is_not_answered_from_another_article(real_engine) -> None:  # noqa: ANN001
    """'When will it open?' after a question about the Velmar plant: the drought fund 'opened' too,
    but that is another subject. Only the conversation's articles may answer it."""
    from assistant.records import Turn

    first = real_engine.ask("How much will the Velmar plant cost?")
    follow = real_engine.ask("When will it open?", history=[Turn.of(first)])
    assert all(c.doc_id.endswith("velmar-desalination-plant.txt") for c in follow.citations)
    other = real_engine.ask("what about the wind auction?", history=[Turn.of(first)])
    assert other.answered and other.citations[0].doc_id.endswith("north-sea-wind-auction.txt")


def test_an_author_question_after_another_topic_shows_its_filter_and_not_the_old_topic(real_engine: Engine,
                                                                                     shared_articles: Path) -> None:
    first = real_engine.ask("why did Russia seek guarantees?")
    ans = real_engine.ask("what did Bartlett write about Venezuela?", history=[Turn.of(first)])
    assert ans.filters == {"author": "Jason Bartlett"}
    shown = ans.searched_for() or ""
    assert "by Jason Bartlett" in shown and "Russia" not in shown and "Kremlin" not in shown
    assert all("Jason Bartlett" in c.authors for c in ans.citations)


def test_the_russia_conversation_gives_the_motive_and_then_what_russia_turned_to(real_engine: Engine,
                                                                               shared_articles: Path) -> None:
    first = real_engine.ask("why did Russia seek guarantees?")
    quoted = " ".join(c.quote for c in first.citations)
    assert "written guarantees" in quoted and "soften the effect" in quoted, first.answer  # the demand and its motive
    follow = real_engine.ask("what did it do instead?", history=[Turn.of(first)])
    assert follow.answered, follow.warnings
    before = {(c.doc_id, c.start) for c in first.citations}
    assert not {(c.doc_id, c.start) for c in follow.citations} <= before, "the follow-up only repeats the first answer"
    assert any(w in follow.answer for w in ("avenues", "Iran", "partner")), follow.answer
    # what Russia turned to is what the article says next, not the Zarif quote the reader scores higher
    assert follow.citations[0].quote.startswith("Partnering with Iran"), follow.answer
    then = real_engine.ask("and then?", history=[Turn.of(first), Turn.of(follow)])
    assert then.answered and then.citations[0].quote.startswith("Russia’s military offensive"), then.answer


def test_a_followup_after_a_change_of_topic_is_about_the_new_topic_only() -> None:
    """'When will it open?' after Russia, then the Velmar plant: Russia is not part of the search."""
    from assistant.conversation import condense_offline
    from assistant.records import Answer, Turn

    russia = Turn.of(Answer(question="why did Russia seek guarantees?", answer="…", answered=False))
    velmar = Turn.of(Answer(question="How much will the Velmar plant cost?", answer="…", answered=False))
    c = condense_offline("When will it open?", [russia, velmar])
    assert c.followup and "Velmar" in c.standalone and "Russia" not in c.standalone and "guarantees" not in c.standalone


@pytest.mark.parametrize("question, goes_on", [
    ("what did it do instead?", True), ("and then?", True), ("what happened next?", True),
    ("what did they do after that?", True), ("how did Iran respond in return?", True),
    ("why did it fail?", False), ("who opposes it?", False), ("when did it open?", False),
])
def test_a_followup_asking_what_came_next_or_instead_is_recognised(question: str, goes_on: bool) -> None:
    from assistant.conversation import asks_what_followed

    assert asks_what_followed(question) is goes_on
