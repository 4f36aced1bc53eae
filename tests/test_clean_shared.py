"""The two real scraped articles in ../shared/articles (skipped when absent)."""

from pathlib import Path

import pytest

from assistant.ingest.clean import clean
from assistant.ingest.loaders import load

JUNK = ["Follow us on social", "Read the full article", "View All Reports", "keep reading", "Show less",
        "REUTERS", "ATTENTION EDITORS", "Analysis | Europe", "Sand in the silicon", "The Cost of Economic War",
        "Can new US envoy help end the war in Sudan", "Iran launches risky attack on Israel", "Diplomacy Watch",
        "Zelensky", "Khartoum", "Israel-Gaza", "By Rachel Ziemba", "Commentary", "Podcast"]


@pytest.fixture
def cleaned(shared_articles: Path) -> dict[str, object]:
    return {p.name: clean(load(p), p.name) for p in sorted(shared_articles.glob("*.txt"))}


def test_no_scraped_junk_or_teaser_survives_cleaning(cleaned) -> None:  # noqa: ANN001
    for name, c in cleaned.items():
        for junk in JUNK:
            assert junk not in c.text, f"{junk!r} left in {name}"


def test_header_metadata_is_read_from_the_text(cleaned) -> None:  # noqa: ANN001
    first = next(c for c in cleaned.values() if c.authors)
    assert first.title.startswith("How US Sanctions Are Pushing Iran")
    assert first.authors == ["Jason Bartlett", "Emily Jin"] and first.published == "2020-12-12"
    # the byline and date lines stay in the text, where a "who wrote it?" answer cites them
    assert "December 12, 2020" in first.text[:400] and "By Jason Bartlett" in first.text[:400]


def test_the_title_line_starts_the_text_and_junk_before_it_is_gone(cleaned) -> None:  # noqa: ANN001
    second = next(c for c in cleaned.values() if "backfiring" in c.title)
    assert second.text.startswith("Are US sanctions")
    assert second.published is None and second.authors == []


def test_article_body_is_kept_whole(cleaned) -> None:  # noqa: ANN001
    text = " ".join(c.text for c in cleaned.values())
    assert "Russia demanded “written guarantees” from the U.S." in text
    assert "sanctions have helped spark a destabilizing partnership that will be difficult to undo." in text
    assert "This enmity toward the United States at the highest level" in text


def test_pull_quote_repeat_is_dropped_once(cleaned) -> None:  # noqa: ANN001
    first = next(c for c in cleaned.values() if c.authors)
    assert first.text.count("American policymakers should consider how to adapt sanctions implementation") == 1
