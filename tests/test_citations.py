from assistant.answer.citations import check_answer, citation_for, lexical_support, split_claims
from assistant.records import Chunk, Passage

TEXT = "Russia demanded written guarantees from the U.S. about Iran. The ruble later rebounded."


def _passage() -> Passage:
    chunk = Chunk(chunk_id="c1", doc_id="d", ordinal=0, start=100, end=100 + len(TEXT), text=TEXT, title="T")
    return Passage(chunk=chunk, score=1.0)


def _cite(n: int, start: int, end: int):
    return citation_for(n, _passage(), 100 + start, 100 + end, 1.0)


def _check(answer: str, cites):
    return check_answer(answer, cites, [_passage()], lexical_support, 0.5)


def test_supported_claim_keeps_its_citation() -> None:
    r = _check("Russia demanded written guarantees from the U.S. [1].", [_cite(1, 0, 60)])
    assert r.answer.endswith("[1].") and len(r.citations) == 1 and not r.warnings


def test_marker_to_no_retrieved_passage_is_removed() -> None:
    r = _check("Russia demanded written guarantees [3].", [_cite(1, 0, 60)])
    assert r.citations == [] and "[3]" not in r.answer
    assert any("[3]" in w for w in r.warnings)


def test_uncited_sentence_is_dropped_with_a_warning() -> None:
    r = _check("Russia demanded guarantees [1]. Iran is a democracy.", [_cite(1, 0, 60)])
    assert "democracy" not in r.answer and any("no citation" in w for w in r.warnings)


def test_unsupported_sentence_is_dropped() -> None:
    r = _check("China bought Venezuelan oil in 2019 [1].", [_cite(1, 0, 60)])
    assert r.answer == "" and r.citations == []


def test_quote_that_is_not_the_passage_text_is_rejected() -> None:
    fake = _cite(1, 0, 60)
    fake.quote = "Russia demanded written guarantees from the U.S. about Iraq."
    r = _check("Russia demanded written guarantees [1].", [fake])
    assert r.citations == [] and any("not the passage" in w for w in r.warnings)


def test_citations_are_renumbered_in_order_of_use() -> None:
    r = _check("The ruble later rebounded [2]. Russia demanded written guarantees [1].",
               [_cite(1, 0, 60), _cite(2, 61, len(TEXT))])
    assert [c.n for c in r.citations] == [1, 2]
    assert r.citations[0].quote == "The ruble later rebounded."


def test_markers_after_the_full_stop_stay_with_their_sentence() -> None:
    assert split_claims("Russia demanded guarantees. [1] The ruble rebounded. [2]") == [
        "Russia demanded guarantees. [1]", "The ruble rebounded. [2]"]


BULLETS = ("The globs2 file is a list of lines.\n• Otherwise, start by doing a glob match of the filename.\n"
           "• Keep the longest match.")


def test_a_verbatim_quote_spanning_bullet_lines_is_one_claim() -> None:
    chunk = Chunk(chunk_id="c2", doc_id="spec.pdf", ordinal=0, start=0, end=len(BULLETS), text=BULLETS, title="Spec")
    passage = Passage(chunk=chunk, score=1.0)
    cite = citation_for(1, passage, 0, len(BULLETS), 1.0)
    answer = BULLETS[:-1] + " [1]."
    r = check_answer(answer, [cite], [passage], lexical_support, 0.5)
    assert r.warnings == [] and r.dropped == [] and r.citations == [cite]
    assert r.answer == answer


def test_split_claims_keeps_a_given_verbatim_text_whole() -> None:
    assert split_claims("Intro here [2]. " + BULLETS + " [1]", [BULLETS]) == ["Intro here [2].", BULLETS + " [1]"]


def _judge(claim: str, quote: str, passage: str):  # noqa: ANN202 - a stand-in for SupportChecker.judge
    from assistant.answer.claim_model import RULES, SOFT, ClaimModel
    from assistant.answer.support import SupportChecker
    from tests.conftest import HashEmbedder

    strict = ClaimModel({**{r: -4.0 for r in RULES}, **{s: 0.0 for s in SOFT}, "coverage": 4.0}, -1.0, 0.5)
    return SupportChecker(HashEmbedder(), spacy_model="", model=strict).judge(claim, quote, passage)  # any finding drops


def test_a_dropped_claim_is_reported_with_its_reason_and_passage_number() -> None:
    r = check_answer("Oslo demanded written guarantees from the U.S. about Iran [1].", [_cite(1, 0, 60)], [_passage()],
                     lexical_support, 0.5, judge=_judge)
    assert r.answer == "" and r.warnings == ["dropped: 'Oslo' is not in passage [1]"]
    assert r.dropped == [{"claim": "Oslo demanded written guarantees from the U.S. about Iran.",
                          "reason": "'Oslo' is not in passage [1]"}]


def test_the_opposite_is_named_in_the_warning() -> None:
    r = check_answer("The ruble later fell [1].", [_cite(1, 61, len(TEXT))], [_passage()], lexical_support, 0.5,
                     judge=_judge)
    assert r.warnings == ["dropped: passage [1] says the opposite ('rebounded')"]


def test_an_uncited_sentence_is_in_the_dropped_list() -> None:
    r = _check("Russia demanded guarantees [1]. Iran is a democracy.", [_cite(1, 0, 60)])
    assert r.dropped == [{"claim": "Iran is a democracy.", "reason": "it cites no passage"}]


def test_a_quote_ending_in_a_closing_quotation_mark_keeps_its_own_marker() -> None:
    """The segmenter runs '… the West.” [1] And in March …' together; the marker still closes it."""
    answer = "“It was not in Moscow’s interests,” Zarif said of the West.” [1] And in March, Russia hedged again [2]."
    assert split_claims(answer) == ["“It was not in Moscow’s interests,” Zarif said of the West.” [1]",
                                    "And in March, Russia hedged again [2]."]
