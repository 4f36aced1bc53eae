"""Title, authors and date read from an article's own first lines.

Scraped text rarely has metadata fields, but its header usually says it in prose:
a "December 12, 2020" line, a "By A and B" line, a headline. Text written or exported by hand
often labels them instead ("Title: …", "Author: …", "Date: …", or the same keys in a Markdown
front matter block): a labelled line counts as the same header line.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DATE_RE = re.compile(
    rf"^(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)[a-z]*,?\s+)?"
    rf"(?:(?P<mdy>(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})"
    rf"|(?P<dmy>\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\.?,?\s+\d{{4}})"
    rf"|(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})(?:[T ][\d:.+-Z]*)?)$",
    re.IGNORECASE,
)
_BYLINE_RE = re.compile(r"^by\s+(?P<names>[^\n]{2,200})$", re.IGNORECASE)
_NAME_RE = re.compile(r"^[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|de|van|von|der|da|bin|al|la|le|y))*$")
_SENTENCE_END = re.compile(r"[.!;:,…]$")
_FIELD_RE = re.compile(r"^(?P<key>[A-Za-z][A-Za-z ]{0,24}?)\s*:\s*(?P<value>\S.*)$")
# the labels of a header line, by what they carry (lower case, as written before the colon)
FIELD_KEYS = {
    "title": frozenset({"title", "headline"}),
    "author": frozenset({"author", "authors", "by", "byline", "writer", "writers", "written by", "reporter",
                         "reporters", "creator"}),
    "date": frozenset({"date", "published", "publication date", "date published", "published on", "pubdate",
                       "posted", "posted on"}),
}


def header_field(line: str) -> tuple[str, str] | None:
    """("title" | "author" | "date", value) for a labelled header line ("Author: Jane Doe")."""
    m = _FIELD_RE.match(line.strip().strip("*_").strip())
    if not m:
        return None
    key = " ".join(m.group("key").lower().split())
    value = m.group("value").strip().strip("*_").strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1].strip()
    for kind, keys in FIELD_KEYS.items():
        if key in keys and value:
            return kind, value
    return None


def parse_title_field(line: str) -> str | None:
    """The title a "Title: …" line gives."""
    field = header_field(line)
    return field[1] if field and field[0] == "title" else None


def parse_date(text: str) -> str | None:
    """ISO date when the whole string is a date (or a "Date: …" line's value), else None."""
    text = text.strip().strip("*_").strip()
    field = header_field(text)
    if field and field[0] == "date":
        return normalize_date(field[1])
    m = _DATE_RE.match(text)
    if not m:
        return None
    if m.group("iso"):
        try:
            return date.fromisoformat(m.group("iso")).isoformat()
        except ValueError:
            return None
    raw = re.sub(r"(\d)(st|nd|rd|th)", r"\1", (m.group("mdy") or m.group("dmy")), flags=re.I)
    raw = re.sub(r"[.,]", " ", raw)
    raw = re.sub(r"\bsept\b", "sep", raw, flags=re.I)
    raw = " ".join(raw.split())
    for fmt in ("%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y"):
        try:
            return datetime.strptime(raw, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def normalize_date(value: str | None) -> str | None:
    """An ISO date from whatever a format's metadata holds (ISO timestamps, prose dates)."""
    if not value:
        return None
    value = value.strip()
    iso = re.match(r"^(\d{4}-\d{2}-\d{2})", value)
    if iso:
        return parse_date(iso.group(1))
    return parse_date(value)


def split_names(names: str) -> list[str]:
    parts = re.split(r"\s*(?:,|;|&|\band\b)\s*", names.strip())
    return [p.strip(" .*_") for p in parts if p.strip(" .*_")]


def parse_byline(line: str) -> tuple[list[str], str | None] | None:
    """(authors, date-or-None) for lines like "By A and B", "*By A — 2023-05-17*" or "Author: A"."""
    line = line.strip().strip("*_").strip()
    field = header_field(line)
    if field and field[0] == "author":
        names = field[1].strip("[]")
    else:
        m = _BYLINE_RE.match(line)
        if not m:
            return None
        names = m.group("names")
    published = None
    # a date after a separator: "By A — May 3, 2023", "By A | 2023-05-03"
    parts = re.split(r"\s+[—–|·-]\s+|\s*,\s+(?=(?:\d|" + _MONTHS + r"))", names, maxsplit=1, flags=re.I)
    if len(parts) == 2 and parse_date(parts[1]):
        names, published = parts[0], parse_date(parts[1])
    authors = split_names(names)
    if not authors or not all(_NAME_RE.match(a) and len(a.split()) <= 5 for a in authors):
        return None
    return authors, published


def looks_like_headline(line: str) -> bool:
    """Short, capitalised, and not ending like a sentence fragment."""
    line = line.strip()
    if not (3 <= len(line) <= 200) or not line[0].isupper() and not line[0].isdigit() and line[0] not in "\"'“‘":
        return False
    return not _SENTENCE_END.search(line) or line.endswith("?")


def title_from_path(path: str) -> str:
    stem = Path(path).stem
    stem = re.sub(r"^\d+[_-]", "", stem)
    words = re.split(r"[-_\s]+", stem)
    return " ".join(w for w in words if w).capitalize() or stem


def _key(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def is_header_line(text: str, title: str = "") -> bool:
    """A date line, a byline or the title line: metadata in the text, never a claim to quote."""
    text = text.strip()
    if not text:
        return False
    return bool(parse_date(text) or parse_byline(text) or parse_title_field(text)
                or (title and _key(text) == _key(title)))
