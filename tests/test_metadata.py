import pytest

from assistant.ingest.metadata import looks_like_headline, normalize_date, parse_byline, parse_date


@pytest.mark.parametrize("text,iso", [
    ("December 12, 2020", "2020-12-12"), ("Dec. 3, 2021", "2021-12-03"), ("3 March 2024", "2024-03-03"),
    ("2023-05-17", "2023-05-17"), ("Tuesday, June 4, 2023", "2023-06-04"), ("September 14th, 2022", "2022-09-14"),
])
def test_whole_line_dates_become_iso(text: str, iso: str) -> None:
    assert parse_date(text) == iso


@pytest.mark.parametrize("text", ["In December 12 people came", "2023-02-30", "The year 2020", ""])
def test_prose_and_impossible_dates_are_not_dates(text: str) -> None:
    assert parse_date(text) is None


def test_meta_timestamps_normalize_to_dates() -> None:
    assert normalize_date("2024-02-01T09:30:00+00:00") == "2024-02-01"


def test_byline_with_two_authors() -> None:
    assert parse_byline("By Jason Bartlett and Emily Jin") == (["Jason Bartlett", "Emily Jin"], None)


def test_byline_with_ampersand_comma_and_date() -> None:
    authors, date = parse_byline("*By Emily Kilcrease, Emily Jin & Rachel Ziemba — 2021-12-07*")
    assert authors == ["Emily Kilcrease", "Emily Jin", "Rachel Ziemba"] and date == "2021-12-07"


def test_a_sentence_starting_with_by_is_not_a_byline() -> None:
    assert parse_byline("By aligning a nuclear proliferation risk and an aggressive nuclear superpower, sanctions helped.") is None


def test_headlines_versus_sentences() -> None:
    assert looks_like_headline("Are US sanctions against Iran & Russia backfiring in dangerous ways?")
    assert not looks_like_headline("The West has possibly helped to spark a destabilizing partnership.")


@pytest.mark.parametrize("line,field", [
    ("Title: Harbour town votes to rebuild its sea wall", ("title", "Harbour town votes to rebuild its sea wall")),
    ("Author: Hélène Moreau-Dubois", ("author", "Hélène Moreau-Dubois")),
    ("**Published:** 14 March 2025", ("date", "14 March 2025")),
    ('title: "Libraries lend more e-books than ever"', ("title", "Libraries lend more e-books than ever")),
])
def test_labelled_header_lines_are_read_as_fields(line: str, field) -> None:  # noqa: ANN001
    from assistant.ingest.metadata import header_field

    assert header_field(line) == field


def test_a_labelled_author_or_date_line_reads_like_a_byline_or_a_date_line() -> None:
    assert parse_byline("Authors: Ann Lee, Bo Kim") == (["Ann Lee", "Bo Kim"], None)
    assert parse_date("Date: 2025-03-14") == "2025-03-14"
    assert parse_date("date: 2024-11-02T10:00:00Z") == "2024-11-02"


@pytest.mark.parametrize("line", ["Note: the figures are provisional.", "Date: the meeting moved to spring",
                                  "Reporter: What did you see that night?", "Title: "])
def test_other_labels_and_values_that_are_no_field_are_not_header_lines(line: str) -> None:
    from assistant.ingest.metadata import is_header_line

    assert not is_header_line(line)
