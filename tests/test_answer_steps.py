"""The answer step piece by piece: candidates, what a question asks for, choosing, deciding.

A fake ranker stands in for the cross-encoder here (its real behaviour is in
tests/test_cross_encoder.py); the logic around it is what these tests pin down."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.answer.asked import topic_request, asked_for, kinds_in
from assistant.answer.candidates import prerank, sentences
from assistant.answer.choose import choose
from assistant.answer.decide import Decision, decide, feature_names, features, load_models
from assistant.answer.extractive import NOT_FOUND, Query, answer_offline
from assistant.answer.rerank import SentenceRanker
from assistant.records import Chunk, Passage

TUNNEL = ("Tunnel approved\n\nBy Ana Ruiz\n\nThe council approved the Kessa rail tunnel on Tuesday after years of debate. "
          "The tunnel will open to trains in 2031. It will cost 4.2 billion euros, paid by the state and the region. "
          "Critics said the route ignores the northern suburbs.")


def passage_of(text: str, doc: str = "kessa.txt", score: float = 1.0, title: str = "Tunnel approved") -> Passage:
    chunk = Chunk(chunk_id=f"{doc}#0", doc_id=doc, ordinal=0, start=0, end=len(text), text=text, title=title,
                  authors=["Ana Ruiz"], source=f"/articles/{doc}")
    return Passage(chunk=chunk, score=score, similarity=0.5)


class KeywordRanker:
    """Scores a sentence by the listed words it holds: a stand-in for the cross-encoder's reading."""

    def __init__(self, weights: dict[str, float]) -> None:
        self.weights = weights

    def score(self, pairs, max_length=None):  # noqa: ANN001, ANN201
        return np.array([sum(w for word, w in self.weights.items() if word in text.lower()) for _q, text in pairs],
                        dtype=np.float32)


@pytest.mark.parametrize("question, kind", [
    ("How much will the tunnel cost?", "number"), ("How many trains a day?", "number"),
    ("When will the tunnel open?", "date"), ("In what year did it open?", "date"),
    ("Who approved the tunnel?", "person"), ("Where will the tunnel run?", "place"),
    ("Why did Russia seek guarantees?", "reason"), ("What did the critics say?", None),
])
def test_the_question_says_what_kind_of_thing_it_asks_for(question: str, kind: str | None) -> None:
    assert asked_for(question) == kind


@pytest.mark.parametrize("question, topic", [
    ("Tell me about the ferry strike", "the ferry strike"), ("What about the strike?", "the strike"),
    ("What do the articles say about sanctions?", "sanctions"), ("Summarize the dam project.", "the dam project"),
    ("What did Ri Yong Ho say about the talks?", None),  # a named speaker is part of the question
    ("Tell me why Russia sought guarantees", None), ("What did Iran agree to provide?", None),
])
def test_a_request_for_what_the_articles_say_is_read_as_its_topic(question: str, topic: str | None) -> None:
    assert topic_request(question) == topic


def test_a_sentence_holds_numbers_dates_and_causes_by_what_it_says() -> None:
    assert "number" in kinds_in("It will cost 4.2 billion euros.")
    assert "date" in kinds_in("The tunnel will open to trains in 2031.")
    assert "reason" in kinds_in("Russia sought guarantees because it feared NATO's expansion.")
    assert "number" not in kinds_in("Critics said the route ignores the suburbs.")


def test_candidates_leave_out_the_header_lines_and_keep_exact_offsets() -> None:
    p = passage_of(TUNNEL)
    pool = sentences([p])
    assert all(not s.text.startswith(("Tunnel approved", "By Ana")) for s in pool)
    for s in pool:
        assert TUNNEL[s.start:s.end] == s.text
    cost = next(s for s in pool if "4.2 billion" in s.text)
    assert "open to trains" in cost.before and "Critics" in cost.after


def test_the_prior_puts_sentences_with_the_questions_rarer_words_first() -> None:
    pool = sentences([passage_of(TUNNEL)])
    ordered = prerank("Who criticised the route?", pool, [passage_of(TUNNEL)])
    assert "route" in ordered[0].text


def test_a_sentence_opening_with_a_pronoun_is_read_with_the_one_before() -> None:
    cost = next(s for s in sentences([passage_of(TUNNEL)]) if s.text.startswith("It will cost"))
    assert cost.reading == "The tunnel will open to trains in 2031. It will cost 4.2 billion euros, paid by the state and the region."


def test_only_the_front_runners_are_read_by_the_cross_encoder() -> None:
    p = passage_of(TUNNEL)
    ranked = SentenceRanker(KeywordRanker({"cost": 3.0}), top_n=2).rank("What will the tunnel cost?", sentences([p]), [p])
    assert sum(s.score is not None for s in ranked.sentences) == 2
    assert ranked.ranker == "cross-encoder"


def test_every_retrieved_passage_has_its_best_sentence_read_though_the_front_runners_are_elsewhere() -> None:
    p = passage_of(TUNNEL)
    shops = passage_of("Local shops said retailers lost an estimated 27 million euros during the works.",
                       doc="shops.txt", score=0.2)
    q = "How much money did Kessa tunnel businesses lose?"
    ranked = SentenceRanker(KeywordRanker({"retailers": 9.0}), top_n=2).rank(q, sentences([p, shops]), [p, shops])
    assert sum(s.score is not None for s in ranked.sentences) == 3
    assert ranked.best is not None and ranked.best.doc_id == "shops.txt"


def test_the_neighbour_holding_the_asked_for_number_joins_the_sentence_about_the_subject() -> None:
    text = ("The council approved the Kessa rail tunnel on Tuesday after years of debate. The tunnel will open to "
            "trains in 2031. The bill comes to 4.2 billion euros, paid by the state and the region.")
    p = passage_of(text)
    # the reader prefers the sentence naming the tunnel; the cost is in the next sentence
    ranked = SentenceRanker(KeywordRanker({"tunnel will open": 5.0, "billion": 1.0})).rank(
        "How much will the tunnel cost?", sentences([p]), [p])
    chosen = choose("How much will the tunnel cost?", ranked.sentences)
    assert "open to trains" in chosen[0].text
    assert any("4.2 billion euros" in s.text for s in chosen)


def test_a_sentence_the_last_answer_quoted_is_not_repeated_as_a_further_sentence() -> None:
    p = passage_of(TUNNEL)
    pool = sentences([p])
    for s in pool:
        s.repeated = "approved" in s.text
    ranked = SentenceRanker(KeywordRanker({"approved": 4.0, "critics": 3.9})).rank("What happened?", pool, [p])
    chosen = choose("What happened?", ranked.sentences)
    assert "Critics" in chosen[0].text and not any(s.repeated for s in chosen)


def test_the_decision_parameters_cover_every_feature_for_both_rankers() -> None:
    models = load_models()
    assert set(models) == {"cross-encoder", "embedding"}
    p = passage_of(TUNNEL)
    pool = sentences([p])
    for s in pool:
        s.score = 1.0
    f = features("How much will the tunnel cost?", pool[0], pool, [p])
    assert list(models["cross-encoder"].names) == feature_names() == list(f)
    for m in models.values():
        assert 0.0 < m.threshold < 1.0 and len(m.coef) == len(m.names)


def test_the_default_threshold_is_the_fitted_one_and_a_setting_can_move_it() -> None:
    from assistant.config import Settings

    assert Settings().decision_threshold is None  # None: the fitted bar of the ranker in use
    p = passage_of(TUNNEL)
    pool = sentences([p])
    for s in pool:
        s.score = 9.0 if "4.2 billion" in s.text else -5.0
    chosen = max(pool, key=lambda s: s.score)
    assert decide("How much will the tunnel cost?", chosen, pool, [p], "cross-encoder", threshold=0.0).answer
    assert not decide("How much will the tunnel cost?", chosen, pool, [p], "cross-encoder", threshold=1.0).answer


def test_a_refusal_says_why_in_words() -> None:
    p = passage_of(TUNNEL)
    pool = sentences([p])
    for s in pool:
        s.score = -8.0
    d = decide("How deep is Lake Vostok?", pool[0], pool, [p], "cross-encoder")
    assert isinstance(d, Decision) and not d.answer and d.reasons and all(isinstance(r, str) for r in d.reasons)


def test_a_refusal_names_the_rare_word_the_evidence_lacks_as_the_question_typed_it() -> None:
    from assistant.answer.decide import rarest_missing_word

    pool = sentences([passage_of(TUNNEL)])
    assert rarest_missing_word("Why did the Kessa walkouts start?", pool[0], pool) == "walkouts"
    assert rarest_missing_word("When will the Kessa tunnel open?", pool[1], pool) is None


def test_a_confident_reading_is_answered_with_exact_citations_and_its_confidence() -> None:
    p = passage_of(TUNNEL)
    ranker = SentenceRanker(KeywordRanker({"4.2 billion": 9.0}))
    ans = answer_offline(Query("How much will the tunnel cost?", "How much will the tunnel cost?"), [p], ranker)
    assert ans.answered and "4.2 billion euros" in ans.answer and ans.confidence is not None
    for c in ans.citations:
        assert TUNNEL[c.start:c.end] == c.quote and f"[{c.n}]" in ans.answer


def test_an_answer_under_the_low_confidence_mark_tells_the_reader_to_check_the_passage() -> None:
    p = passage_of(TUNNEL)
    ranker = SentenceRanker(KeywordRanker({"4.2 billion": 9.0}))
    q = "How much will the tunnel cost?"
    sure = answer_offline(Query(q, q, low_confidence=0.0), [p], ranker)
    doubtful = answer_offline(Query(q, q, low_confidence=sure.confidence + 0.01), [p], ranker)
    assert not any(w.startswith("low confidence") for w in sure.warnings)
    assert doubtful.answered and any(w.startswith(f"low confidence ({sure.confidence:.2f})") for w in doubtful.warnings)


def test_a_refused_answer_keeps_no_citation_and_records_the_confidence() -> None:
    p = passage_of(TUNNEL)
    ans = answer_offline(Query("How deep is Lake Vostok?", "How deep is Lake Vostok?"), [p],
                         SentenceRanker(KeywordRanker({})))
    assert not ans.answered and ans.answer == NOT_FOUND and ans.citations == []
    assert sum(w.startswith("not answered:") for w in ans.warnings) == 1 and ans.confidence is not None
    assert json.loads(json.dumps(ans.to_dict()))["confidence"] == round(ans.confidence, 3)


def test_a_followup_without_a_subject_of_its_own_is_not_answered_from_another_article() -> None:
    ours = passage_of(TUNNEL, "kessa.txt")
    other = passage_of("The Brana bridge will open in 2026 after a decade of delays and lawsuits.", "brana.txt",
                       title="Bridge")
    ranker = SentenceRanker(KeywordRanker({"will open in 2026": 9.0, "tunnel": 0.5}))
    q = Query("When will it open?", "When will it open?", followup=True, docs={"kessa.txt": 1.0}, own_subject=False)
    ans = answer_offline(q, [ours, other], ranker)
    assert all(c.doc_id == "kessa.txt" for c in ans.citations)
    assert "2026" not in ans.answer


def _quote_of(p: Passage, prefix: str) -> tuple[str, int, int]:
    s = next(s for s in sentences([p]) if s.text.startswith(prefix))
    return (s.doc_id, s.start, s.end)


def test_the_sentences_that_follow_the_last_quote_are_the_ones_right_after_it_in_the_article() -> None:
    from assistant.answer.extractive import following

    p = passage_of(TUNNEL)
    pool = sentences([p])
    nexts = following(pool, {_quote_of(p, "The council approved")}, preference=2.0, n=2)
    picked = sorted((s for s in pool if id(s) in nexts), key=lambda s: s.start)
    assert [s.text[:14] for s in picked] == ["The tunnel wil", "It will cost 4"]
    assert [nexts[id(s)] for s in picked] == [2.0, 1.0]  # the first after the quote gains the most


def test_a_gap_the_retrieved_text_does_not_cover_ends_what_follows_the_quote() -> None:
    from assistant.answer.extractive import following

    first, last = TUNNEL.split(" The tunnel will open")[0], "Critics said the route ignores the northern suburbs."
    p = passage_of(first)
    later = Passage(chunk=Chunk(chunk_id="kessa.txt#3", doc_id="kessa.txt", ordinal=3, start=5000,
                                end=5000 + len(last), text=last, title="Tunnel approved"), score=0.5)
    pool = sentences([p, later])
    assert following(pool, {_quote_of(p, "The council approved")}) == {}


def test_what_did_it_do_instead_is_answered_by_what_the_article_says_next() -> None:
    p = passage_of(TUNNEL)
    # the reader prefers the critics' sentence; the narrative goes on with the opening date
    ranker = SentenceRanker(KeywordRanker({"critics": 1.0, "open": 0.2}))
    q = Query("What did it do then?", "What did it do then?", followup=True, docs={"kessa.txt": 1.0},
              own_subject=False, quoted={_quote_of(p, "The council approved")}, continuation="only")
    ans = answer_offline(q, [p], ranker)
    assert ans.answered and ans.citations[0].quote.startswith("The tunnel will open"), ans.answer


def test_a_question_that_is_no_followup_is_not_pulled_towards_the_last_quote() -> None:
    p = passage_of(TUNNEL)
    ranker = SentenceRanker(KeywordRanker({"critics": 5.0}))
    q = Query("What did the critics say?", "What did the critics say?", quoted={_quote_of(p, "The council approved")})
    assert answer_offline(q, [p], ranker).citations[0].quote.startswith("Critics")


VELMAR = ("The water board of Velmar voted on Tuesday to build a desalination plant. The plant will cost 312 "
          "million euros. Opponents say the brine will harm the fish. Board chair Ilse Varga said the decision was "
          "forced by three winters with little rain.")


class PairRanker(KeywordRanker):
    """A stand-in reader that also scores two sentences read together: the cause adds to the vote."""

    def score(self, pairs, max_length=None):  # noqa: ANN001, ANN201
        out = super().score(pairs, max_length)
        return out + np.array([2.0 if "voted" in t and "forced by" in t else 0.0 for _q, t in pairs], dtype=np.float32)


def test_a_why_question_gets_the_sentence_giving_the_cause_though_it_repeats_none_of_its_words() -> None:
    p = passage_of(VELMAR, title="Velmar plant")
    q = "Why did Velmar decide to build a desalination plant?"
    ans = answer_offline(Query(q, q), [p], SentenceRanker(PairRanker({"voted": 9.0, "plant": 1.0})))
    quotes = [c.quote for c in ans.citations]
    assert quotes[0].startswith("The water board of Velmar voted") and any("forced by" in x for x in quotes), quotes
    assert not any("312 million" in x for x in quotes)  # the close second that gives no cause stays out


def test_a_sentence_that_adds_nothing_to_the_reading_does_not_join_a_why_answer() -> None:
    p = passage_of(VELMAR, title="Velmar plant")
    q = "Why did Velmar decide to build a desalination plant?"
    ans = answer_offline(Query(q, q), [p], SentenceRanker(KeywordRanker({"voted": 9.0})))
    assert [c.quote[:22] for c in ans.citations] == ["The water board of Vel"]


def test_the_embedding_ranker_reads_no_pair_and_adds_no_cause() -> None:
    p = passage_of(VELMAR, title="Velmar plant")
    best = sentences([p])[0]
    ranker = SentenceRanker(None, lambda texts: np.ones((len(texts), 4), dtype=np.float32))
    assert ranker.uplift("Why?", best, sentences([p])[1:]) is None


@pytest.mark.parametrize("critics, leads", [(1.0, "The tunnel will open"), (6.0, "Critics said")])
def test_a_followup_with_a_topic_of_its_own_prefers_what_follows_but_a_clearly_better_reading_wins(
        critics: float, leads: str) -> None:
    p = passage_of(TUNNEL)
    ranker = SentenceRanker(KeywordRanker({"critics": critics, "open": 0.2}))
    q = Query("What did the council do about trains then?", "What did the council do about trains then?",
              followup=True, docs={"kessa.txt": 1.0}, quoted={_quote_of(p, "The council approved")},
              continuation="prefer", max_sentences=1)
    assert answer_offline(q, [p], ranker, vectors=None).citations[0].quote.startswith(leads)


def test_an_answer_whose_passage_gives_another_date_than_the_question_says_so() -> None:
    p = passage_of(TUNNEL)
    ranker = SentenceRanker(KeywordRanker({"open to trains": 9.0}))
    q = "When will the tunnel open to trains, as planned in 2029?"
    ans = answer_offline(Query(q, q, max_sentences=1), [p], ranker)
    assert ans.answered and "the question says 2029; the passage gives 2031: check which is meant" in ans.warnings


def test_a_date_the_passage_also_gives_raises_no_warning() -> None:
    from assistant.answer.premise import date_conflict

    assert date_conflict("What did the council decide in 2031?", "The tunnel will open to trains in 2031.") is None
    assert date_conflict("When will the tunnel open?", "The tunnel will open to trains in 2031.") is None
    assert date_conflict("How many drones did Iran send in August?", "In July Iran agreed to send drones.") == \
        "the question says August; the passage gives July: check which is meant"


HARBOUR = ("The council of Port Elwyn voted on Tuesday to rebuild the sea wall. The wall will cost 42 million euros. "
           "Mayor Tomas Lindqvist said the vote was the only responsible choice. Opponents wanted homes moved inland.")


class CompletingRanker(KeywordRanker):
    """A stand-in reader for which the mayor's sentence completes the one naming the town."""

    def score(self, pairs, max_length=None):  # noqa: ANN001, ANN201
        out = super().score(pairs, max_length)
        return out + np.array([3.0 if "elwyn" in t.lower() and "lindqvist" in t.lower() else 0.0 for _q, t in pairs],
                              dtype=np.float32)


@pytest.mark.parametrize("town, joins", [(2.0, True), (6.0, False)])
def test_a_weak_reading_is_completed_by_the_sentence_of_its_article_that_adds_most_to_it(town: float, joins: bool) -> None:
    p = passage_of(HARBOUR, title="Sea wall")
    q = "Who is the mayor of Port Elwyn?"
    ranker = SentenceRanker(CompletingRanker({"elwyn": town}))
    ranked = ranker.rank(q, sentences([p]), [p])
    chosen = choose(q, ranked.sentences, uplift=lambda lead, others: ranker.uplift(q, lead, others))
    assert chosen[0].text.startswith("The council of Port Elwyn")
    assert any("Lindqvist" in s.text for s in chosen) == joins  # a confident reading is not second-guessed
