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
