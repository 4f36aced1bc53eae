"""Questions about the articles themselves, answered from metadata with exact citations (answer/about.py)."""

from pathlib import Path

import pytest

from assistant.answer.about import AuthorIndex, date_filter, header_line, kind_of, question_filters
from assistant.engine import Engine
from assistant.records import Chunk, SourceInfo, Turn

ARTICLES = {
    "dam.txt": "April 4, 2023\n\nRiver dam completed\n\nBy Ines Moreau\n\n"
               "The Valbonne river dam was completed in April after eleven years of construction. "
               "It will supply drinking water to 300,000 residents of the valley.\n",
    "ferry.txt": "June 9, 2024\n\nFerry service resumes\n\nBy Sam Lee and Ines Moreau\n\n"
                 "The island ferry resumed service after a two-week strike by deck crews ended with a pay deal.\n",
    "notes.txt": "Harbor notes\n\nThe harbor office repainted the lighthouse in June, and the ferry pier was resurfaced.\n",
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


def assert_exact(engine: Engine, ans) -> None:  # noqa: ANN001
    retrieved = {p.chunk.chunk_id for p in ans.passages}
    for c in ans.citations:
        assert c.chunk_id in retrieved
        assert engine.document(c.doc_id).text[c.start:c.end] == c.quote
        assert f"[{c.n}]" in ans.answer


@pytest.mark.parametrize("question,kind", [
    ("Who wrote it?", "author"), ("Who wrote that article?", "author"), ("Who is the author of the article about dams?", "author"),
    ("When was it published?", "date"), ("When was the article about the ferry published?", "date"),
    ("Which articles are about ferries?", "list"), ("What has Sam Lee written?", "list"), ("articles since March 2024", "list"),
    ("What has Sam Lee written about strikes?", "list"), ("What did Sam Lee write?", "list"),
    ("What did Bartlett write about Venezuela?", None),
    ("Who wrote the letter to the ministry?", None), ("When was the dam completed?", None),
    ("When were the rules published?", None), ("Who paid for the dam?", None),
])
def test_questions_about_the_articles_are_told_from_questions_about_their_content(question: str, kind) -> None:  # noqa: ANN001
    assert kind_of(question) == kind


@pytest.mark.parametrize("question,since,until", [
    ("articles since March 2024", "2024-03-01", None), ("What was published in 2023?", "2023-01-01", "2023-12-31"),
    ("articles published before 2024", None, "2023-12-31"), ("stories after June 9, 2024", "2024-06-10", None),
])
def test_publication_dates_in_a_question_become_bounds(question: str, since, until) -> None:  # noqa: ANN001
    f = date_filter(question)
    assert f is not None and (f.since, f.until) == (since, until)


def test_a_date_about_the_content_is_no_publication_filter() -> None:
    assert date_filter("What happened to the dam in 2023?") is None


AUTHORS = AuthorIndex.of(["Jason Bartlett", "Emily Jin", "Ines Moreau"])


def test_an_author_the_question_says_wrote_becomes_a_retrieval_filter() -> None:
    f = question_filters("What did Bartlett write about Venezuela?", AUTHORS)
    assert f is not None and f.author == "Jason Bartlett"


def test_a_name_that_is_not_said_to_have_written_is_no_filter() -> None:
    assert question_filters("What did Bartlett say about Venezuela?", AUTHORS) is None
    assert question_filters("What did Varga write about the plant?", AUTHORS) is None


def test_who_wrote_it_names_the_authors_of_the_conversations_article(engine: Engine) -> None:
    first = engine.ask("How many residents will the Valbonne dam supply?")
    ans = engine.ask("Who wrote it?", history=[Turn.of(first)])
    assert ans.answered and ans.answerer == "metadata" and "Ines Moreau" in ans.answer
    assert ans.citations[0].doc_id.endswith("dam.txt")
    assert_exact(engine, ans)


def test_who_wrote_it_cites_the_byline_as_it_stands_in_the_article(engine: Engine) -> None:
    ans = engine.ask("Who wrote the article about the ferry strike?")
    assert "Sam Lee and Ines Moreau" in ans.answer
    assert ans.citations[0].quote == "By Sam Lee and Ines Moreau"
    assert_exact(engine, ans)


def test_when_was_it_published_cites_the_date_line(engine: Engine) -> None:
    ans = engine.ask("When was the article about the river dam published?")
    assert "2023-04-04" in ans.answer and ans.citations[0].quote == "April 4, 2023"
    assert_exact(engine, ans)


def test_a_value_from_html_meta_tags_cites_the_title_line_and_says_where_it_came_from(
        fake_settings, hash_embedder, tmp_path: Path) -> None:  # noqa: ANN001
    docs = tmp_path / "web"
    docs.mkdir()
    body = " ".join(f"The dockworkers of the north harbor voted on the pay offer in round {i}." for i in range(8))
    (docs / "dock.html").write_text(
        "<html><head><title>Dockworkers accept pay offer</title><meta name='author' content='Rita Ocampo'>"
        "<meta name='date' content='2024-02-01'></head><body><article><h1>Dockworkers accept pay offer</h1>"
        f"<p>{body}</p></article></body></html>")
    e = Engine(fake_settings, embedder=hash_embedder)
    e.index([docs])
    ans = e.ask("Who wrote the article about the dockworkers?")
    assert "Rita Ocampo" in ans.answer and "meta tags" in ans.answer
    assert ans.citations[0].quote == "Dockworkers accept pay offer"
    assert_exact(e, ans)


def test_when_was_it_published_gives_the_date(engine: Engine) -> None:
    ans = engine.ask("When was the article about the ferry published?")
    assert ans.answered and "2024-06-09" in ans.answer
    assert_exact(engine, ans)


def test_an_article_without_a_byline_is_said_to_name_no_author(engine: Engine) -> None:
    ans = engine.ask("Who wrote the article about the lighthouse?")
    assert ans.answered and "does not name its author" in ans.answer
    assert_exact(engine, ans)


def test_which_articles_lists_each_matching_article_with_a_citation(engine: Engine) -> None:
    ans = engine.ask("Which articles are about the ferry?")
    assert ans.answered and "“Ferry service resumes”" in ans.answer and "River dam completed" not in ans.answer
    assert_exact(engine, ans)


def test_what_has_an_author_written_lists_their_articles(engine: Engine) -> None:
    ans = engine.ask("What has Ines Moreau written?")
    assert ans.answer.startswith("2 articles by Ines Moreau") and len(ans.citations) == 2
    assert_exact(engine, ans)


def test_articles_since_a_date_are_listed_from_the_manifest(engine: Engine) -> None:
    ans = engine.ask("Which articles were published since 2024?")
    assert ans.answered and "Ferry service resumes" in ans.answer and "River dam" not in ans.answer


def test_who_wrote_it_without_a_conversation_asks_which_article(engine: Engine) -> None:
    ans = engine.ask("Who wrote it?")
    assert not ans.answered and "Which article" in ans.answer and not ans.citations


def test_an_author_constraint_restricts_an_ordinary_question(engine: Engine) -> None:
    ans = engine.ask("What did Sam Lee write about the strike?")
    assert ans.citations and all(c.doc_id.endswith("ferry.txt") for c in ans.citations)


def test_the_byline_line_is_quoted_when_the_cleaned_text_holds_it() -> None:
    text = "By Ines Moreau\nApril 4, 2023\nThe dam was completed."
    chunk = Chunk("c", "d", 0, 0, len(text), text)
    src = SourceInfo("d", "Dam", ["Ines Moreau"], "2023-04-04", "d", 1)
    ch, s, e = header_line([chunk], "author", src)
    assert text[s:e] == "By Ines Moreau"
    ch, s, e = header_line([chunk], "date", src)
    assert text[s:e] == "April 4, 2023"


def test_a_pdf_byline_on_its_own_line_is_cited_as_that_line_and_never_called_a_property(
        fake_settings, hash_embedder, port_pdf: Path) -> None:  # noqa: ANN001
    engine = Engine(fake_settings, embedder=hash_embedder)
    engine.index([port_pdf.parent])
    ans = engine.ask("Who wrote the article about the Velcastle port expansion?")
    assert ans.answerer == "metadata" and "Maria Okonkwo" in ans.answer
    assert ans.citations[0].quote == "By Maria Okonkwo" and "properties" not in ans.answer
    when = engine.ask("When was the article about the Velcastle port expansion published?")
    assert "2024-03-03" in when.answer and when.citations[0].quote == "March 3, 2024"
    assert_exact(engine, ans)


def test_an_author_named_without_accents_or_with_a_possessive_is_found() -> None:
    authors = AuthorIndex.of(["Hélène Moreau-Dubois", "Kwame Mensah-Bonsu"])
    assert authors.find("What did Helene Moreau-Dubois write?") == "Hélène Moreau-Dubois"
    f = question_filters("What did Mensah-Bonsu's article say about audiobooks?", authors)
    assert f is not None and f.author == "Kwame Mensah-Bonsu"
    hyphened = AuthorIndex.of(["Matías Olvera-Brandt"])
    assert hyphened.find("What did Matias Olvera Brandt write about automation?") == "Matías Olvera-Brandt"


def test_the_author_filter_leaves_a_clean_search_behind() -> None:
    from assistant.answer.about import strip_constraints

    authors = AuthorIndex.of(["Kwame Mensah-Bonsu"])
    q = "What did Mensah-Bonsu's article say about audiobooks?"
    assert strip_constraints(q, question_filters(q, authors)) == "What about audiobooks?"


def test_a_question_that_quotes_a_title_is_about_that_article() -> None:
    titles = ["River dam completed", "Ferry service resumes"]
    assert kind_of("Who wrote Ferry service resumes?", titles) == "author"
    assert kind_of("When was “River dam completed” published?", titles) == "date"
    assert kind_of("Who wrote the report on ferries?", []) == "author"
    assert kind_of("Who resumed the ferry service?", titles) is None


def test_who_wrote_a_quoted_title_names_that_articles_authors(engine: Engine) -> None:
    ans = engine.ask("Who wrote Ferry service resumes?")
    assert ans.answerer == "metadata" and "Sam Lee and Ines Moreau" in ans.answer
    assert ans.citations[0].doc_id.endswith("ferry.txt")
    assert_exact(engine, ans)


def engine_over(settings, embedder, folder: Path, name: str, text: str) -> Engine:  # noqa: ANN001
    """An engine over one article of the test's own."""
    folder.mkdir()
    (folder / name).write_text(text)
    e = Engine(settings, embedder=embedder)
    e.index([folder])
    return e


def test_labelled_header_lines_answer_who_wrote_it_and_when(fake_settings, hash_embedder, tmp_path: Path) -> None:  # noqa: ANN001
    e = engine_over(fake_settings, hash_embedder, tmp_path / "docs", "wall.txt",
                    "Title: Harbour town rebuilds its sea wall\nAuthor: Hélène Moreau-Dubois\nDate: 2025-03-14\n\n"
                    "The council of Port Elwyn voted to rebuild the sea wall after two winter storms flooded the "
                    "lower streets.\n")
    who = e.ask("What did Helene Moreau-Dubois write?")
    assert who.answered and "Harbour town rebuilds its sea wall" in who.answer and "What did" not in who.answer
    when = e.ask("When was the article about the sea wall published?")
    assert "2025-03-14" in when.answer and when.citations[0].quote == "Date: 2025-03-14"
    assert_exact(e, when)


@pytest.mark.parametrize("question", ["Who wrote the sorghum article?", "Who are the authors of the solar farm piece?"])
def test_who_wrote_the_x_article_is_a_question_about_an_article(question: str) -> None:
    assert kind_of(question) == "author"


def test_by_a_full_name_of_several_words_is_an_author_filter() -> None:
    f = question_filters("Which articles are by Aoife Ni Bhriain?", AuthorIndex.of(["Aoife Ní Bhriain"]))
    assert f is not None and f.author == "Aoife Ní Bhriain"


def test_authors_from_front_matter_are_said_to_come_from_it(fake_settings, hash_embedder, tmp_path: Path) -> None:  # noqa: ANN001
    e = engine_over(fake_settings, hash_embedder, tmp_path / "docs", "harrier.md",
                    "---\ntitle: Hen harriers return to the moor\nauthors:\n  - Aoife Ní Bhriain\n  - Tom Ode\n"
                    "date: 2024-06-19\n---\n\nThree pairs of hen harriers nested on Kestrel Ridge this spring, the "
                    "first in a decade.\n")
    ans = e.ask("Who wrote about the hen harriers?")
    assert "Aoife Ní Bhriain and Tom Ode" in ans.answer and "front matter" in ans.answer
    assert_exact(e, ans)
