"""Real questions nobody on the project wrote: the shared SQuAD 2.0 subset, end to end.

The subset is not redistributed with the repo, so this skips without ../shared. It asks a fixed
sample of questions (answerable and unanswerable) through the real engine (bundled embedder,
embedded Chroma, the packaged cross-encoder, the fitted decision) and holds the answer step to
floors below what bench/trust.py measures on the same questions, so a regression shows here first.
Only two of the subset's articles have unanswerable questions: Spectre, which the decision was
not fitted on (held out: answered right 0.65, and the decision barely separates its adversarial
questions, AUC 0.55 on all of its questions), and Zelda, which it was fitted on (a regression check).
"""

from __future__ import annotations

import random

import pytest

from bench.squad import SHARED_SQUAD, contains_answer, load_squad, squad_engine

pytestmark = pytest.mark.slow

HELD_OUT = "Spectre_(2015_film)"  # 188 unanswerable questions among 462
FITTED = "The_Legend_of_Zelda:_Twilight_Princess"  # 160 among 374
SAMPLE = 60  # of each kind, per article


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, real_embedder):  # noqa: ANN001, ANN201
    if not SHARED_SQUAD.exists():
        pytest.skip("../shared/data/squad2-train-subset is absent (it is not redistributed with the repo)")
    articles = load_squad(SHARED_SQUAD)
    engine, _ = squad_engine(articles, embedder=real_embedder, cache=tmp_path_factory.mktemp("squad"))
    rows: dict[str, list] = {}
    for title in (HELD_OUT, FITTED):
        article = next(a for a in articles if a.title == title)
        rng = random.Random(18)
        answerable = rng.sample([q for q in article.questions if not q.impossible], SAMPLE)
        unanswerable = rng.sample([q for q in article.questions if q.impossible], SAMPLE)
        rows[title] = [(q, engine.ask(q.question)) for q in answerable + unanswerable]
    engine.close()
    return rows


def _refused(rows: list) -> float:
    return sum(not a.answered for _q, a in rows) / len(rows)


def test_most_answerable_questions_of_a_held_out_article_are_answered_with_the_gold_answer(outcomes) -> None:  # noqa: ANN001
    answerable = [(q, a) for q, a in outcomes[HELD_OUT] if not q.impossible]
    right = sum(a.answered and contains_answer(a.answer, q.answers) for q, a in answerable) / len(answerable)
    assert right >= 0.60  # measured 0.67 on this sample


def test_right_answers_carry_more_confidence_than_answers_to_unanswerable_questions(outcomes) -> None:  # noqa: ANN001
    rows = outcomes[HELD_OUT]
    right = [a.confidence for q, a in rows if not q.impossible and contains_answer(a.answer, q.answers)]
    unanswerable = [a.confidence for q, a in rows if q.impossible]
    assert sum(right) / len(right) >= sum(unanswerable) / len(unanswerable) + 0.05  # measured 0.61 / 0.49


def test_unanswerable_questions_are_refused_more_often_than_answerable_ones(outcomes) -> None:  # noqa: ANN001
    rows = outcomes[FITTED]
    answerable = [(q, a) for q, a in rows if not q.impossible]
    unanswerable = [(q, a) for q, a in rows if q.impossible]
    assert _refused(unanswerable) >= _refused(answerable) + 0.10  # measured 0.28 against 0.10


def test_every_answer_carries_a_confidence_and_its_quotes_are_exact(outcomes) -> None:  # noqa: ANN001
    for rows in outcomes.values():
        for _q, a in rows:
            assert a.confidence is not None and 0.0 <= a.confidence <= 1.0
            for c in a.citations:
                assert c.quote and f"[{c.n}]" in a.answer
