"""Word, Excel and PowerPoint files: zip archives, bounded before they are opened.

`open_zip` reads only the archive's central directory and refuses one whose entries would inflate
past `ZipLimits` (a zip bomb) before any entry is decompressed. The readers (python-docx, openpyxl,
python-pptx) use `zipfile`, which stops inflating an entry at its declared size (and fails its CRC
when the declared size lies), so the declared sizes bound the memory the readers can use.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from ._sections import ExtractionError, Section, rows_text

__all__ = ["MEDIA_DOCX", "MEDIA_PPTX", "MEDIA_XLSX", "ZipLimits", "docx_sections", "pptx_sections", "xlsx_sections"]

MEDIA_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MEDIA_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
_MARKERS = (("word/document.xml", MEDIA_DOCX), ("xl/workbook.xml", MEDIA_XLSX), ("ppt/presentation.xml", MEDIA_PPTX))
T = TypeVar("T")


@dataclass(frozen=True)
class ZipLimits:
    """How far an office file may inflate."""

    max_uncompressed_bytes: int = 100 * 1024 * 1024
    max_entries: int = 5_000
    max_ratio: int = 200
    """An entry that claims to inflate more than this many times its compressed size (and past
    1 MB) is refused: documents compress about 5-20x, bombs thousands of times."""


def zip_media_type(data: bytes) -> str:
    """The office type of a zip archive, from the parts it holds (`application/zip` for others)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return "application/zip"
    return next((media for marker, media in _MARKERS if marker in names), "application/zip")


def check_zip(data: bytes, name: str, limits: ZipLimits) -> None:
    """Refuse an archive that is not a zip, holds too many entries or inflates too far."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ExtractionError(f"{name} is not a readable office file (not a valid zip archive).") from None
    if len(infos) > limits.max_entries:
        raise ExtractionError(f"{name} holds {len(infos)} archive entries, more than the {limits.max_entries} allowed.")
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes:
        raise ExtractionError(
            f"{name} would inflate to {total:,} bytes, more than the {limits.max_uncompressed_bytes:,} allowed"
            " (a zip bomb?)."
        )
    for info in infos:
        if info.file_size > 1024 * 1024 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise ExtractionError(
                f"{name} has an entry compressed {ratio}x, past the {limits.max_ratio}x allowed (a zip bomb?)."
            )


def _read(data: bytes, name: str, kind: str, limits: ZipLimits, reader: Callable[[io.BytesIO], T]) -> T:
    check_zip(data, name, limits)
    try:
        return reader(io.BytesIO(data))
    except ExtractionError:
        raise
    except Exception as exc:  # the libraries raise many types (KeyError, lxml, zipfile, their own)
        raise ExtractionError(f"{name} is not a readable {kind} ({type(exc).__name__}).") from None


def docx_sections(data: bytes, name: str, limits: ZipLimits) -> list[Section]:
    """One section per heading (`Heading N` or `Title` style); tables as `header: value` lines."""

    def read(stream: io.BytesIO) -> list[Section]:
        from docx import Document
        from docx.table import Table

        sections: list[Section] = []
        location: str | None = None
        lines: list[str] = []
        for block in Document(stream).iter_inner_content():
            if isinstance(block, Table):
                lines.append(rows_text([[cell.text for cell in row.cells] for row in block.rows]))
                continue
            style = (block.style.name if block.style is not None else "") or ""
            if (style.startswith("Heading") or style == "Title") and block.text.strip():
                sections.append(Section("\n".join(lines), location))
                location, lines = block.text.strip(), []
            lines.append(block.text)
        sections.append(Section("\n".join(lines), location))
        return sections

    return _read(data, name, "Word document", limits, read)


def xlsx_sections(data: bytes, name: str, limits: ZipLimits) -> list[Section]:
    """One section per sheet (`sheet <title>`), rows as `header: value` lines."""

    def read(stream: io.BytesIO) -> list[Section]:
        from openpyxl import load_workbook  # type: ignore[import-untyped]

        book = load_workbook(stream, read_only=True, data_only=True)
        try:
            sections = []
            for sheet in book.worksheets:
                rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
                sections.append(Section(rows_text(rows), f"sheet {sheet.title}"))
            return sections
        finally:
            book.close()

    return _read(data, name, "Excel workbook", limits, read)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def pptx_sections(data: bytes, name: str, limits: ZipLimits) -> list[Section]:
    """One section per slide (`slide N`): its shapes' text, tables and speaker notes."""

    def read(stream: io.BytesIO) -> list[Section]:
        from pptx import Presentation

        sections = []
        for n, slide in enumerate(Presentation(stream).slides, 1):
            lines = list(_shape_texts(slide.shapes))
            if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
                lines.append(slide.notes_slide.notes_text_frame.text)
            sections.append(Section("\n".join(lines), f"slide {n}"))
        return sections

    return _read(data, name, "PowerPoint presentation", limits, read)


def _shape_texts(shapes: Any) -> Iterator[str]:
    for shape in shapes:
        if getattr(shape, "shape_type", None) == 6:  # MSO_SHAPE_TYPE.GROUP
            yield from _shape_texts(shape.shapes)
        elif getattr(shape, "has_table", False) and shape.has_table:
            yield rows_text([[cell.text for cell in row.cells] for row in shape.table.rows])
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            yield shape.text_frame.text
