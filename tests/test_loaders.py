import os
from pathlib import Path

import pytest

from assistant.ingest.clean import clean
from assistant.ingest.loaders import LoadError, discover, load


def test_latin1_text_is_decoded_not_refused(tmp_path: Path) -> None:
    p = tmp_path / "l.txt"
    p.write_bytes("Le café de Zürich était naïf et très célèbre dans la ville entière.\n".encode("latin-1"))
    assert "café" in load(p).text and "Zürich" in load(p).text


def test_utf8_bom_is_removed(tmp_path: Path) -> None:
    p = tmp_path / "b.md"
    p.write_bytes("\ufeff# Title\n\nBody text here.".encode("utf-8"))
    assert load(p).text.startswith("# Title")


def test_empty_and_whitespace_files_are_refused_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "e.txt").write_text("")
    (tmp_path / "w.md").write_text("  \n\n ")
    with pytest.raises(LoadError, match="empty file"):
        load(tmp_path / "e.txt")
    with pytest.raises(LoadError, match="whitespace"):
        load(tmp_path / "w.md")


def test_binary_named_txt_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "x.txt"
    p.write_bytes(os.urandom(2048) + b"\x00")
    with pytest.raises(LoadError, match="binary"):
        load(p)


def test_huge_file_is_refused_by_size_limit(tmp_path: Path) -> None:
    p = tmp_path / "big.txt"
    p.write_text("a" * 2000)
    with pytest.raises(LoadError, match="too large"):
        load(p, max_bytes=1000)


def test_html_main_content_is_extracted_with_meta(tmp_path: Path) -> None:
    p = tmp_path / "page.html"
    p.write_text("""<html><head><title>Ferry fares rise | Gazette</title><meta name="author" content="Ana Ruiz">
    <meta property="article:published_time" content="2024-02-01T08:00:00Z"></head><body>
    <nav><a href="/">Home</a> <a href="/news">News</a></nav><div class="share">Share on Twitter</div>
    <article><h1>Ferry fares rise</h1><p>The island ferry company raised fares by twelve percent on Monday,
    citing fuel costs and a shortage of licensed crew for its three vessels.</p>
    <p>Commuters said the increase would cost them more than two hundred euros a year, and the mayor asked
    the regional government to review the operating subsidy before the summer season.</p></article>
    <footer>Related articles: Bridge plan shelved</footer></body></html>""")
    raw = load(p)
    c = clean(raw, "page.html")
    assert "twelve percent" in c.text and "Share on Twitter" not in c.text and "Bridge plan" not in c.text
    assert c.authors == ["Ana Ruiz"] and c.published == "2024-02-01" and "Ferry fares rise" in c.title


def test_malformed_html_is_read_best_effort(tmp_path: Path) -> None:
    p = tmp_path / "m.html"
    p.write_text("<html><body><div><p>The dam was finished in 1999 after eleven years of work on the river."
                 "<p>Engineers praised its design, which used local stone and steel.</div></div></span>")
    assert "dam was finished" in load(p).text


def test_corrupt_pdf_is_refused_with_reason(tmp_path: Path) -> None:
    p = tmp_path / "c.pdf"
    p.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\nendobj\ntrailer <<>>\n%%EOF garbage")
    with pytest.raises(LoadError):
        load(p)


def _pdf_bytes(pages: list[str]) -> bytes:
    """A minimal valid PDF with one line of Helvetica text per page."""
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", None, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objs.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream")
        content = len(objs)
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content} 0 R "
                    f"/Resources << /Font << /F1 3 0 R >> >> >>")
        kids.append(f"{len(objs)} 0 R")
    objs[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_pdf_text_is_read_per_page_with_page_numbers(tmp_path: Path) -> None:
    p = tmp_path / "r.pdf"
    p.write_bytes(_pdf_bytes(["The reservoir held forty million cubic meters.", "Rainfall was below average in May."]))
    raw = load(p)
    assert [pg for _, _, pg in raw.pages] == [1, 2]
    c = clean(raw, "r.pdf")
    second = c.text.index("Rainfall")
    assert [pg for s, e, pg in c.pages if s <= second < e] == [2]


def test_discover_skips_hidden_and_unknown_files(tmp_path: Path) -> None:
    (tmp_path / ".hidden.txt").write_text("x")
    (tmp_path / "a.csv").write_text("x")
    (tmp_path / "ok.md").write_text("x")
    found, skipped = discover([tmp_path])
    assert [f.rel for f in found] == ["ok.md"]
    assert {Path(s["path"]).name for s in skipped} == {".hidden.txt", "a.csv"}


def test_unreadable_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "locked.txt"
    p.write_text("secret")

    def denied(self):  # noqa: ANN001 - what a chmod 000 file gives a non-root user
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(LoadError, match="cannot read: Permission denied"):
        load(p)


@pytest.mark.parametrize("text, encoding", [
    ("café naïve\n", "latin-1"),  # short: many code pages fit it as well; the quote must match the source
    ("Le café était plein. Une idée naïve.\n", "latin-1"),
    ("Příliš žluťoučký kůň úpěl ďábelské ódy. Město Brno je velké.\n", "cp1250"),
    ("Россия потребовала письменных гарантий от США.\n", "cp1251"),
    ("Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.\n", "cp1253"),
])
def test_a_legacy_encoded_text_is_read_with_its_own_characters(text: str, encoding: str) -> None:
    from assistant.ingest.loaders import decode_text

    assert decode_text(text.encode(encoding)) == text


FRONT_MATTER = ('---\ntitle: "Velmar approves desalination plant"\nauthors:\n  - Mara Quell\n  - Tom Ode\n'
                'date: 2023-06-04\ntags: [water, drought]\nlayout: post\n---\n\n'
                "The regional water board approved a desalination plant on Tuesday.\n")


def test_markdown_front_matter_gives_the_metadata_and_only_its_header_lines_stay(tmp_path: Path) -> None:
    p = tmp_path / "velmar.md"
    p.write_text(FRONT_MATTER)
    raw = load(p)
    assert (raw.title, raw.authors, raw.published) == ("Velmar approves desalination plant", ["Mara Quell", "Tom Ode"],
                                                       "2023-06-04")
    assert raw.text.startswith('title: "Velmar approves desalination plant"\ndate: 2023-06-04\n\nThe regional')
    assert "tags" not in raw.text and "layout" not in raw.text and "---" not in raw.text


def test_a_leading_rule_that_opens_no_yaml_mapping_stays_text(tmp_path: Path) -> None:
    p = tmp_path / "notes.md"
    text = "---\nThe board met: it approved the plant.\nIt opens in 2027.\n---\n\nMore text.\n"
    p.write_text(text)
    assert load(p).text == text
