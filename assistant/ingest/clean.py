"""Scraped-web junk out, article in: the cleaned text every citation points into.

Rules are data (`junk_rules.toml`); this module only knows their kinds:
lines dropped anywhere, captions, section labels, where an article ends, and where
teasers of *other* articles trail a page. Header lines (title, byline, date) become
metadata and stay in the text, where a citation of the byline or date can point at them;
answerers skip them as claims (`metadata.is_header_line`).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from assistant.ingest.loaders import RawDoc
from assistant.ingest.metadata import (is_header_line, looks_like_headline, normalize_date, parse_byline, parse_date,
                                       parse_title_field, title_from_path)

RULES_FILE = Path(__file__).with_name("junk_rules.toml")
# How much article text must precede a tail marker for it to end the article.
MIN_BODY_BEFORE_TAIL = 200
HEADER_LINES = 8  # how far into the text the title/byline/date are looked for
# Bumped when cleaning changes what the text of an unchanged file is: documents indexed by
# an older cleaner are processed again (their offsets would not match what a fresh clean gives).
CLEANER_VERSION = 4  # 4: labelled header lines, Markdown front matter; header lines and HTML blocks end paragraphs
# 3: a PDF line that ends without punctuation (title, byline, date, heading) ends its sentence
PULL_QUOTE_MIN = 40  # shortest standalone line treated as a repeated pull quote
# A PDF line without closing punctuation ends its sentence (a heading, not a wrapped line) when it is at
# most this share of the page's widest line and at most HEADING_WORDS words, and the next line opens one.
HEADING_WIDTH = 0.6
HEADING_WORDS = 12
_CLOSING = ".!?:;,…\"'”’)]-–—"


@dataclass(frozen=True)
class Rules:
    drop_lines: tuple[re.Pattern[str], ...]
    caption_markers: tuple[re.Pattern[str], ...]
    section_labels: tuple[re.Pattern[str], ...]
    tail_markers: tuple[re.Pattern[str], ...]
    teaser_end_markers: tuple[re.Pattern[str], ...]

    @staticmethod
    def from_toml(path: Path) -> "Rules":
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        compile_all = lambda key: tuple(re.compile(p, re.IGNORECASE) for p in data.get(key, []))  # noqa: E731
        return Rules(*(compile_all(k) for k in ("drop_lines", "caption_markers", "section_labels",
                                                "tail_markers", "teaser_end_markers")))


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_FILE) -> Rules:
    return Rules.from_toml(path)


@dataclass
class Cleaned:
    text: str
    title: str
    authors: list[str]
    published: str | None
    pages: list[tuple[int, int, int]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # what was removed, for tests and --explain


@dataclass
class _Line:
    text: str
    page: int | None
    blank: bool = False


_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    text = text.replace("\u00a0", " ").replace("\t", " ")
    # other control characters are noise in every format we read
    return "".join(ch for ch in text if ch in "\n" or unicodedata.category(ch)[0] != "C")


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPH = re.compile(r"(\*\*|__)(.+?)\1")
_MD_EMPH_SINGLE = re.compile(r"(?<![*\w])([*_])(?=\S)(.+?)(?<=\S)\1(?![*\w])")


def _strip_markdown(line: str) -> str:
    line = re.sub(r"^#{1,6}\s+", "", line)
    line = re.sub(r"^>\s?", "", line)
    line = _MD_LINK.sub(r"\1", line)
    line = _MD_EMPH.sub(r"\2", line)
    line = _MD_EMPH_SINGLE.sub(r"\2", line)
    if re.fullmatch(r"[-*_]{3,}", line.strip()):
        return ""
    return line


def _split_lines(raw: RawDoc) -> list[_Line]:
    if raw.pages:
        segments = [(raw.text[s:e], p) for s, e, p in raw.pages]
    else:
        segments = [(raw.text, None)]
    lines: list[_Line] = []
    for seg_text, page in segments:
        for line in _normalize(seg_text).split("\n"):
            if raw.format == "md":
                line = _strip_markdown(line)
            line = " ".join(line.split())
            lines.append(_Line(line, page, blank=not line))
        lines.append(_Line("", page, blank=True))
    return lines


def _matches(patterns: tuple[re.Pattern[str], ...], text: str, search: bool = False) -> bool:
    return any((p.search(text) if search else p.match(text)) for p in patterns)


def _norm_key(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def _teaser_start(lines: list[_Line], end: int, rules: Rules) -> int:
    """Index of the first line of the teaser that ends at `end` (its headline, usually repeated)."""
    window = [i for i in range(max(0, end - 60), end) if not lines[i].blank]
    keys: dict[str, list[int]] = {}
    for i in window:
        if looks_like_headline(lines[i].text):
            keys.setdefault(_norm_key(lines[i].text), []).append(i)
    repeated = [idx[0] for idx in keys.values() if len(idx) > 1]
    if repeated:
        # the nearest repeated headline before the marker starts this teaser
        return max(repeated)
    for i in reversed(window):
        if looks_like_headline(lines[i].text) and not _matches(rules.teaser_end_markers, lines[i].text, True):
            return i
    return end


def _cut_teasers(lines: list[_Line], rules: Rules, dropped: list[str]) -> list[_Line]:
    ends = [i for i, ln in enumerate(lines) if not ln.blank and _matches(rules.teaser_end_markers, ln.text, True)]
    if not ends:
        return lines
    start = _teaser_start(lines, ends[0], rules)
    # captions and section labels directly above the teaser headline belong to it
    j = start - 1
    while j >= 0 and (lines[j].blank or _is_caption(lines[j].text, rules) or _matches(rules.section_labels, lines[j].text)):
        j -= 1
    start = j + 1
    dropped.extend(ln.text for ln in lines[start:] if not ln.blank)
    return lines[:start]


def _cut_tail(lines: list[_Line], rules: Rules, dropped: list[str]) -> list[_Line]:
    body = 0
    for i, ln in enumerate(lines):
        if ln.blank:
            continue
        if body >= MIN_BODY_BEFORE_TAIL and _matches(rules.tail_markers, ln.text):
            dropped.extend(x.text for x in lines[i:] if not x.blank)
            return lines[:i]
        body += len(ln.text)
    return lines


def _is_caption(text: str, rules: Rules) -> bool:
    return _matches(rules.caption_markers, text, search=True)


def _drop_junk_lines(lines: list[_Line], rules: Rules, dropped: list[str]) -> list[_Line]:
    kept = []
    for ln in lines:
        if not ln.blank and (_matches(rules.drop_lines, ln.text) or _is_caption(ln.text, rules)
                             or _matches(rules.section_labels, ln.text)):
            dropped.append(ln.text)
            ln = _Line("", ln.page, blank=True)
        kept.append(ln)
    return kept


def _drop_pull_quotes(lines: list[_Line], dropped: list[str]) -> list[_Line]:
    """A standalone line repeating a sentence of a longer paragraph, or repeating an earlier
    line word for word, is a pull quote: the text survives once, where it first stood."""
    texts = [(_norm_key(ln.text), i) for i, ln in enumerate(lines) if not ln.blank]
    out = list(lines)
    seen: set[str] = set()
    for key, i in texts:
        if len(key) >= PULL_QUOTE_MIN and (key in seen or any(
                j != i and len(other) > len(key) and key in other for other, j in texts)):
            dropped.append(lines[i].text)
            out[i] = _Line("", lines[i].page, blank=True)
        seen.add(key)
    return out


def _take_header(lines: list[_Line], raw: RawDoc, dropped: list[str]) -> tuple[list[_Line], str, list[str], str | None]:
    title, authors, published = raw.title.strip(), list(raw.authors), normalize_date(raw.published)
    seen = 0
    found_title_line = False
    for i, ln in enumerate(lines):
        if ln.blank:
            continue
        seen += 1
        if seen > HEADER_LINES:
            break
        text = ln.text
        as_date = parse_date(text)
        byline = parse_byline(text)
        title_field = parse_title_field(text)
        if title_field:
            title = title or title_field
            found_title_line = True
        elif as_date:
            published = published or as_date
        elif byline:
            authors = authors or byline[0]
            published = published or byline[1]
        elif not found_title_line and (not title or _norm_key(text) == _norm_key(title)
                                       or _norm_key(title).startswith(_norm_key(text))) and looks_like_headline(text):
            title = title if title and len(title) >= len(text) and _norm_key(title) != _norm_key(text) else text
            found_title_line = True
        # the header lines stay in the text: a "who wrote it?" answer cites the byline as it stands
        # there. Answerers never quote them as claims (metadata.is_header_line).
    return lines, title, authors, published


def _ends_sentence(line: str, after: str, widest: int) -> bool:
    """In PDF text, whether the line break after `line` ends a sentence though no punctuation says so:
    at a byline or date line (after it, or before it), or after a short heading followed by a line
    that opens a sentence. A wrapped line of running text (about as wide as the page's widest line,
    or followed by lower case) does not."""
    if parse_date(line) or parse_byline(line) or parse_date(after) or parse_byline(after):
        return True
    if not line or not after or line[-1] in _CLOSING:
        return False
    opens = after[0].isupper() or after[0].isdigit() or after[0] in "•*\"“‘'"
    return opens and len(line) <= HEADING_WIDTH * widest and len(line.split()) <= HEADING_WORDS


def _assemble(lines: list[_Line], fmt: str) -> tuple[str, list[tuple[int, int, int]]]:
    """Blocks of consecutive lines become paragraphs separated by one blank line. PDF lines of one
    block are joined with spaces (the PDF wrapped them), except after a line that ends a sentence
    without punctuation (`_ends_sentence`), which ends its paragraph."""
    paragraphs: list[tuple[str, int | None]] = []
    block: list[str] = []
    page: int | None = None
    joiner = " " if fmt == "pdf" else "\n"
    widest: dict[int | None, int] = {}
    if fmt == "pdf":
        for ln in lines:
            widest[ln.page] = max(widest.get(ln.page, 0), len(ln.text))

    def flush() -> None:
        if block:
            text = joiner.join(block)
            if fmt == "pdf":
                text = re.sub(r"(\w)- (\w)", r"\1\2", text)  # de-hyphenate wrapped words
            paragraphs.append((text, page))
            block.clear()

    for ln in lines:
        if ln.blank or (block and ln.page != page):
            flush()
        elif block and fmt == "pdf" and _ends_sentence(block[-1], ln.text, widest.get(page, 0)):
            flush()
        elif block and fmt != "pdf" and (fmt == "html" or is_header_line(block[-1]) or is_header_line(ln.text)):
            # a byline or date line (or a labelled title) is a line of its own, never part of a run-on
            # sentence; an unlabelled title is not known by its look alone (a hard-wrapped text's first
            # line looks like one), so it ends where the byline or date after it starts. HTML text
            # comes one block element (a <p>, a heading) per line.
            flush()
        if not ln.blank:
            if not block:
                page = ln.page
            block.append(ln.text)
    flush()
    out: list[str] = []
    pages: list[tuple[int, int, int]] = []
    pos = 0
    for text, pg in paragraphs:
        if out:
            out.append("\n\n")
            pos += 2
        if pg is not None:
            if pages and pages[-1][2] == pg:
                pages[-1] = (pages[-1][0], pos + len(text), pg)
            else:
                pages.append((pos, pos + len(text), pg))
        out.append(text)
        pos += len(text)
    return "".join(out), pages


def clean(raw: RawDoc, source: str = "", rules: Rules | None = None) -> Cleaned:
    """The article's own text and header metadata; junk goes to `dropped`."""
    rules = rules or load_rules()
    dropped: list[str] = []
    lines = _split_lines(raw)
    lines = _cut_teasers(lines, rules, dropped)
    lines = _cut_tail(lines, rules, dropped)
    lines = _drop_junk_lines(lines, rules, dropped)
    lines, title, authors, published = _take_header(lines, raw, dropped)
    lines = _drop_pull_quotes(lines, dropped)
    text, pages = _assemble(lines, raw.format)
    if not title:
        title = title_from_path(source) if source else ""
    return Cleaned(text=text, title=title, authors=authors, published=published, pages=pages, dropped=dropped)
