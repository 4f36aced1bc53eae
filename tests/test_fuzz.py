"""Hostile bytes through the loaders, the cleaner and the chunker: errors are LoadErrors, never crashes."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from assistant.chunking import chunk_document
from assistant.ingest.clean import clean
from assistant.ingest.loaders import LoadError, load
from assistant.records import Document

FUZZ = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

ODD_TEXT = st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200) | st.sampled_from(
    ["\u200b", "\u202e", "\u200f", "\x00", "\ufeff", "\n\n", "keep readingShow less", "By A and B", "REUTERS/X",
     "December 12, 2020", "•", "Read the full article in X.", "The council met. It voted."]), max_size=40).map("".join)


def process(path: Path) -> None:
    try:
        raw = load(path)
    except LoadError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    c = clean(raw, path.name)
    doc = Document(doc_id="d", source=path.name, text=c.text, title=c.title)
    for chunk in chunk_document(doc, 300, 60):
        assert doc.text[chunk.start:chunk.end] == chunk.text


@FUZZ
@given(data=st.binary(max_size=4000), suffix=st.sampled_from([".txt", ".md", ".html", ".pdf"]))
def test_random_bytes_never_crash_any_loader(tmp_path: Path, data: bytes, suffix: str) -> None:
    p = tmp_path / f"f{suffix}"
    p.write_bytes(data)
    process(p)


@FUZZ
@given(text=ODD_TEXT, suffix=st.sampled_from([".txt", ".md", ".html"]))
def test_odd_unicode_text_never_crashes_and_offsets_hold(tmp_path: Path, text: str, suffix: str) -> None:
    p = tmp_path / f"t{suffix}"
    p.write_text(text, encoding="utf-8")
    process(p)


@FUZZ
@given(cut=st.integers(min_value=1, max_value=400))
def test_truncated_html_and_pdf_never_crash(tmp_path: Path, cut: int) -> None:
    from tests.test_loaders import _pdf_bytes

    html = ("<html><head><title>T</title></head><body><article><h1>Headline here</h1>"
            + "<p>Paragraph with words about the harbor and the city council.</p>" * 5 + "</article></body></html>")
    (tmp_path / "h.html").write_text(html[:cut])
    process(tmp_path / "h.html")
    pdf = _pdf_bytes(["Page one text about the reservoir.", "Page two text."])
    (tmp_path / "p.pdf").write_bytes(pdf[: cut * 2])
    process(tmp_path / "p.pdf")


def test_deeply_nested_html_is_handled(tmp_path: Path) -> None:
    p = tmp_path / "deep.html"
    p.write_text("<div>" * 5000 + "<p>The deepest paragraph says the bridge opened in 1990 after years of work.</p>" + "</div>" * 5000)
    process(p)


def test_ten_megabyte_single_line_is_chunked(tmp_path: Path) -> None:
    p = tmp_path / "long.txt"
    p.write_text("word " * 2_000_000)
    raw = load(p)
    doc = Document(doc_id="d", source="long.txt", text=clean(raw, "long.txt").text)
    chunks = chunk_document(doc, 900, 150)
    assert len(chunks) > 10_000 and max(len(c.text) for c in chunks) <= 900
