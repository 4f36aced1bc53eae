"""Files -> raw text plus whatever metadata the file format itself carries.

Every failure is a `LoadError` whose message is a one-line reason; the caller
reports it with the path and goes on with the other files.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from assistant.ingest.metadata import FIELD_KEYS, header_field, normalize_date, split_names

SUPPORTED = {".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md",
             ".html": "html", ".htm": "html", ".pdf": "pdf"}


class LoadError(Exception):
    """A file that cannot be used; str() is the one-line reason."""


@dataclass
class RawDoc:
    text: str
    format: str
    title: str = ""
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    pages: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, page) in text


@dataclass
class FoundFile:
    path: Path  # as found under the root (may be a symlink)
    rel: str  # posix path relative to the indexed root: the stable doc_id
    root: Path


def discover(paths: list[Path]) -> tuple[list[FoundFile], list[dict[str, str]]]:
    """Walk the given files and folders; returns (files to load, skipped {path, reason})."""
    found: list[FoundFile] = []
    skipped: list[dict[str, str]] = []
    for given in paths:
        if not os.path.lexists(given):
            skipped.append({"path": str(given), "reason": "no such file or folder"})
            continue
        if given.is_dir():
            root = given
            _walk(root, root, found, skipped, set())
        else:
            _consider(given, given.parent, found, skipped)
    return found, skipped


def _walk(root: Path, folder: Path, found: list[FoundFile], skipped: list[dict[str, str]], seen: set[str]) -> None:
    try:
        real = os.path.realpath(folder)
    except OSError as exc:
        skipped.append({"path": str(folder), "reason": f"cannot resolve folder: {exc.strerror or exc}"})
        return
    if real in seen:
        skipped.append({"path": str(folder), "reason": "symlink loop (folder already visited)"})
        return
    seen = seen | {real}
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        skipped.append({"path": str(folder), "reason": f"cannot list folder: {exc.strerror or exc}"})
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith("."):
            skipped.append({"path": str(path), "reason": "hidden file or folder"})
            continue
        try:
            is_dir = entry.is_dir()  # follows symlinks
        except OSError as exc:
            skipped.append({"path": str(path), "reason": f"cannot stat: {exc.strerror or exc}"})
            continue
        if is_dir:
            _walk(root, path, found, skipped, seen)
        else:
            _consider(path, root, found, skipped)


def _consider(path: Path, root: Path, found: list[FoundFile], skipped: list[dict[str, str]]) -> None:
    if path.suffix.lower() not in SUPPORTED:
        skipped.append({"path": str(path), "reason": f"unsupported file type '{path.suffix or '(none)'}'"})
        return
    if path.is_symlink() and not path.exists():
        skipped.append({"path": str(path), "reason": "broken symlink"})
        return
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = path.name
    found.append(FoundFile(path=path, rel=rel, root=root))


def iter_supported(paths: list[Path]) -> Iterator[FoundFile]:
    yield from discover(paths)[0]


def read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoadError(f"cannot read: {exc.strerror or exc}") from exc
    if size == 0:
        raise LoadError("empty file")
    if size > max_bytes:
        raise LoadError(f"too large ({size / 1e6:.1f} MB > limit {max_bytes / 1e6:.0f} MB; raise max_file_mb)")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read: {exc.strerror or exc}") from exc


WESTERN = "cp1252"
EQUAL_FIT = 0.05  # charset-normalizer's mess ratio within which two code pages fit a text equally well


def decode_text(data: bytes) -> str:
    """UTF-8 when it is, else the charset-normalizer guess (Windows-1252 among equal fits); binary data
    is refused."""
    head = data[:8192]
    if b"\x00" in head and not (head.startswith(b"\xff\xfe") or head.startswith(b"\xfe\xff")):
        raise LoadError("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is not None:
        # a short legacy text fits many code pages equally well ("café naïve" reads as cp1006 or cp1250);
        # Western European Windows-1252 is the likeliest for news articles when it fits as well as the guess
        western = next((m for m in matches if m.encoding == WESTERN and m.chaos <= best.chaos + EQUAL_FIT), None)
        best = western or best
    if best is None:
        raise LoadError("binary or undecodable text (no encoding fits)")
    text = str(best)
    controls = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > 0.05 * max(1, len(text[:4096])):
        raise LoadError("binary file (mostly control characters)")
    return text


_FRONT_MATTER = re.compile(r"\A\ufeff?\s*---[ \t]*\n(?P<body>.*?\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
FRONT_MATTER_LINES = 60  # a longer leading "---" block is text, not a front matter


def _front_matter_value(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v).strip() for v in value if str(v).strip())
    if isinstance(value, dict):
        return str(value.get("name") or "").strip()
    return "" if value is None else str(value).strip()


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """A Markdown-style YAML front matter block's title, author and date, and the text without
    the block. Its title/author/date lines stay (they are the article's header lines, cited as
    they stand); tags, layout and the like go. A block that is no YAML mapping, or names none of
    them, is left as text."""
    import yaml

    m = _FRONT_MATTER.match(text)
    if not m or m.group("body").count("\n") > FRONT_MATTER_LINES:
        return {}, text
    try:
        data = yaml.safe_load(m.group("body"))
    except yaml.YAMLError:
        return {}, text
    if not isinstance(data, dict):
        return {}, text
    fields: dict[str, str] = {}
    for key, value in data.items():
        kind = next((k for k, keys in FIELD_KEYS.items() if str(key).strip().lower() in keys), None)
        if kind and kind not in fields and _front_matter_value(value):
            fields[kind] = _front_matter_value(value)
    if not fields:
        return {}, text
    kept = [line for line in m.group("body").splitlines() if header_field(line)]
    return fields, "\n".join(kept) + ("\n\n" if kept else "") + text[m.end():].lstrip("\n")


def _load_text(data: bytes, fmt: str) -> RawDoc:
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    fields, text = split_front_matter(text)
    authors = split_names(fields["author"]) if "author" in fields else []
    return RawDoc(text=text, format=fmt, title=fields.get("title", ""), authors=authors,
                  published=normalize_date(fields.get("date")))


def _load_html(data: bytes) -> RawDoc:
    import trafilatura

    html = decode_text(data)
    text = trafilatura.extract(html, output_format="txt", include_comments=False, include_tables=True,
                               include_images=False, favor_precision=True, with_metadata=False)
    if not text or not text.strip():
        # Precision mode can discard short pages entirely; fall back to recall.
        text = trafilatura.extract(html, output_format="txt", include_comments=False, favor_recall=True)
    if not text or not text.strip():
        raise LoadError("no article text found in HTML")
    meta = trafilatura.extract_metadata(html)
    authors: list[str] = []
    title = ""
    published = None
    if meta is not None:
        title = meta.title or ""
        if meta.author:
            authors = [a.strip() for a in meta.author.replace(" and ", ";").split(";") if a.strip()]
        published = meta.date or None
    return RawDoc(text=text, format="html", title=title, authors=authors, published=published)


def _load_pdf(data: bytes, path: Path) -> RawDoc:
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        page_texts = []
        for page in reader.pages:
            try:
                page_texts.append(page.extract_text() or "")
            except Exception:  # one bad page must not lose the others
                page_texts.append("")
        info = reader.metadata or {}
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise LoadError(f"malformed PDF ({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else 'unreadable'})") from exc
    text_parts: list[str] = []
    pages: list[tuple[int, int, int]] = []
    pos = 0
    for number, page_text in enumerate(page_texts, start=1):
        page_text = page_text.replace("\r\n", "\n").replace("\x00", "").strip()
        if not page_text:
            continue
        if text_parts:
            text_parts.append("\n\n")
            pos += 2
        pages.append((pos, pos + len(page_text), number))
        text_parts.append(page_text)
        pos += len(page_text)
    if not text_parts:
        raise LoadError("PDF has no extractable text (scanned images?)")
    title = str(info.get("/Title") or "") if hasattr(info, "get") else ""
    author = str(info.get("/Author") or "") if hasattr(info, "get") else ""
    authors = [a.strip() for a in author.replace(" and ", ";").split(";") if a.strip()]
    return RawDoc(text="".join(text_parts), format="pdf", title=title, authors=authors, pages=pages)


def load(path: Path, max_bytes: int = 20_000_000) -> RawDoc:
    """Read one supported file; raises LoadError with a one-line reason."""
    fmt = SUPPORTED.get(path.suffix.lower())
    if fmt is None:
        raise LoadError(f"unsupported file type '{path.suffix}'")
    data = read_bytes(path, max_bytes)
    try:
        if fmt == "html":
            raw = _load_html(data)
        elif fmt == "pdf":
            raw = _load_pdf(data, path)
        else:
            raw = _load_text(data, fmt)
    except LoadError:
        raise
    except RecursionError as exc:
        raise LoadError("too deeply nested to parse") from exc
    except Exception as exc:  # a parser bug on hostile input must not stop the run
        raise LoadError(f"cannot parse {fmt} ({type(exc).__name__}: {str(exc)[:120]})") from exc
    if not raw.text.strip():
        raise LoadError("no text (whitespace only)")
    return raw
