"""Text out of a file, as sections that keep where they came from (heading, page, sheet, slide).

    sections = extract(data, sniff_media_type(data, filename), filename)

`sniff_media_type` decides the type from the bytes (magic numbers, the parts inside a zip), never
from what a client claims. `extract` raises `ExtractionError` (one clear sentence) for a file it
cannot read; office files pass `_office.open_zip`'s bounds first, so a zip bomb is refused before
anything is decompressed.
"""

from __future__ import annotations

import csv
import io
import json
import re

from ._office import MEDIA_DOCX, MEDIA_PPTX, MEDIA_XLSX, ZipLimits, docx_sections, pptx_sections, xlsx_sections
from ._sections import ExtractionError, Section, rows_text

__all__ = [
    "MEDIA_DOCX",
    "MEDIA_PPTX",
    "MEDIA_XLSX",
    "SUPPORTED_MEDIA_TYPES",
    "ExtractionError",
    "Section",
    "ZipLimits",
    "extract",
    "sniff_media_type",
]

MEDIA_PDF = "application/pdf"
TEXT_TYPES = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".csv": "text/csv",
    ".json": "application/json",
}
SUPPORTED_MEDIA_TYPES = frozenset(
    {"text/plain", "text/markdown", "text/html", "text/csv", "application/json", MEDIA_PDF}
    | {MEDIA_DOCX, MEDIA_XLSX, MEDIA_PPTX}
)
_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_media_type(data: bytes, filename: str) -> str:
    """The file's type from its content: magic bytes, the parts of a zip, or (for text, which has no
    magic) the name's extension. Binary content of no known kind is `application/octet-stream`."""
    from ._office import zip_media_type

    head = data[:16]
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return MEDIA_PDF
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return zip_media_type(data)
    for magic, media_type in _IMAGES:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    text = _decode_or_none(data[:65536])
    if text is None:
        return "application/octet-stream"
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix in TEXT_TYPES:
        return TEXT_TYPES[suffix]
    start = text.lstrip()[:100].lower()
    if start.startswith(("<!doctype html", "<html")):
        return "text/html"
    return "text/plain"


def extract(data: bytes, media_type: str, filename: str, *, limits: ZipLimits | None = None) -> list[Section]:
    """The sections of a file of `media_type` (as `sniff_media_type` gives it). Empty sections are
    left out; a file with no text at all gives `[]`."""
    limits = limits or ZipLimits()
    name = filename or "the file"
    if media_type == MEDIA_PDF:
        sections = _pdf(data, name)
    elif media_type == MEDIA_DOCX:
        sections = docx_sections(data, name, limits)
    elif media_type == MEDIA_XLSX:
        sections = xlsx_sections(data, name, limits)
    elif media_type == MEDIA_PPTX:
        sections = pptx_sections(data, name, limits)
    elif media_type in SUPPORTED_MEDIA_TYPES:
        text = _decode_or_none(data)
        if text is None:
            raise ExtractionError(f"{name} is not valid UTF-8 text.")
        sections = _text_sections(text, media_type, name)
    else:
        raise ExtractionError(f"{name} is of a type that cannot be searched ({media_type}).")
    return [s for s in (Section(s.text.strip(), s.location) for s in sections) if s.text]


def _decode_or_none(data: bytes) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3:  # a sniffing prefix cut inside a multi-byte character
            return data[: exc.start].decode("utf-8-sig")
        return None


def _text_sections(text: str, media_type: str, name: str) -> list[Section]:
    if media_type == "text/markdown":
        return markdown_sections(text)
    if media_type == "text/html":
        return markdown_sections(_html_to_markdown(text))
    if media_type == "text/csv":
        return [Section(_csv_text(text, name), None)]
    if media_type == "application/json":
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ExtractionError(f"{name} is not valid JSON ({exc}).") from None
        return [Section(json.dumps(value, indent=2, ensure_ascii=False), None)]
    return [Section(text, None)]


_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def markdown_sections(text: str) -> list[Section]:
    """One section per heading (the heading's text is its location); text before the first heading
    has none. Headings inside fenced code are text."""
    sections: list[Section] = []
    location: str | None = None
    lines: list[str] = []
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading:
            sections.append(Section("\n".join(lines), location))
            location, lines = heading.group(2).strip(), []
        lines.append(line)
    sections.append(Section("\n".join(lines), location))
    return sections


def _html_to_markdown(html: str) -> str:
    from bs4 import BeautifulSoup
    from markdownify import markdownify

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "iframe", "object", "svg"]):
        tag.decompose()  # their text would leak into the page's text otherwise
    return str(markdownify(str(soup), heading_style="ATX"))


def _csv_text(text: str, name: str) -> str:
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as exc:
        raise ExtractionError(f"{name} is not valid CSV ({exc}).") from None
    return rows_text(rows)


def _pdf(data: bytes, name: str) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError(f"{name} is an encrypted PDF; upload it without a password.")
        return [Section(page.extract_text() or "", f"page {n}") for n, page in enumerate(reader.pages, 1)]
    except ExtractionError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise ExtractionError(f"{name} is not a readable PDF ({type(exc).__name__}).") from None
