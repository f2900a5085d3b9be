"""Extraction, called directly: the files API reports only `ready`/`error`; these pin the text and
the locations each format gives, and the refusals."""

from __future__ import annotations

import io
import json
import random
import zipfile

import pytest

from cargohold.knowledge.extract import (
    MEDIA_DOCX,
    MEDIA_PPTX,
    MEDIA_XLSX,
    ExtractionError,
    ZipLimits,
    extract,
    sniff_media_type,
)

from .corpus import catalog_xlsx, handbook_docx, report_pdf, runbook_md


def sections_of(data: bytes, filename: str) -> dict[str | None, str]:
    media_type = sniff_media_type(data, filename)
    return {s.location: s.text for s in extract(data, media_type, filename)}


def test_pdf_pages() -> None:
    data = report_pdf(random.Random(1), ["First page about INC-9042.", "Second page about WH-12."])
    assert sniff_media_type(data, "upload.bin") == "application/pdf"
    found = sections_of(data, "report.pdf")
    assert list(found) == ["page 1", "page 2"]
    assert "INC-9042" in found["page 1"] and "WH-12" in found["page 2"]


def test_docx_headings_and_tables() -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Preamble.")
    document.add_heading("Remote work", 1)
    document.add_paragraph("Tuesdays and Thursdays.")
    table = document.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "Day", (0, 1): "Where", (1, 0): "Friday", (1, 1): "Office"}.items():
        table.cell(r, c).text = text
    out = io.BytesIO()
    document.save(out)
    assert sniff_media_type(out.getvalue(), "x.pdf") == MEDIA_DOCX  # the content decides, not the name
    found = sections_of(out.getvalue(), "handbook.docx")
    assert found[None] == "Preamble."
    assert found["Remote work"] == "Remote work\nTuesdays and Thursdays.\nDay | Where\nDay: Friday; Where: Office"
    assert "Annual leave" in sections_of(handbook_docx(random.Random(1)), "h.docx")


def test_xlsx_sheets_as_header_value_rows() -> None:
    data = catalog_xlsx(random.Random(1))
    assert sniff_media_type(data, "catalog") == MEDIA_XLSX
    found = sections_of(data, "catalog.xlsx")
    assert set(found) == {"sheet Products", "sheet Suppliers"}
    assert "SKU: SKU-4471; Name: Blue pallet wrap;" in found["sheet Products"]
    assert "Supplier: PolyFilm BV; Country: Netherlands" in found["sheet Suppliers"]


def test_pptx_slides() -> None:
    from pptx import Presentation

    deck = Presentation()
    for title, body in [("Welcome", "Agenda for today"), ("Numbers", "Revenue rose 12%")]:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    out = io.BytesIO()
    deck.save(out)
    assert sniff_media_type(out.getvalue(), "deck") == MEDIA_PPTX
    assert sections_of(out.getvalue(), "deck.pptx") == {
        "slide 1": "Welcome\nAgenda for today",
        "slide 2": "Numbers\nRevenue rose 12%",
    }


def test_text_formats() -> None:
    md = sections_of(runbook_md(random.Random(1)), "runbook.md")
    assert "kubectl scale" in md["Scaling workers"] and md["Scaling workers"].startswith("## Scaling workers")
    fenced = sections_of(b"# Real\n```\n# not a heading\n```\n", "a.md")
    assert list(fenced) == ["Real"]
    html = (
        b"<html><head><style>.x{color:red}</style><script>steal()</script></head>"
        b"<body><h1>Title</h1><p>Body <b>text</b></p></body></html>"
    )
    found = sections_of(html, "page.html")
    assert found == {"Title": "# Title\n\nBody **text**"}
    assert sniff_media_type(html, "page") == "text/html"
    assert sections_of(b"sku,name\nSKU-1,Box\n", "list.csv") == {None: "sku | name\nsku: SKU-1; name: Box"}
    assert json.loads(sections_of(b'{"a": [1, "b"]}', "d.json")[None]) == {"a": [1, "b"]}
    assert sections_of("caf\u00e9 notes".encode(), "notes.txt") == {None: "caf\u00e9 notes"}


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage", "broken.pdf", "broken.pdf is not a readable PDF"),
        (b"PK\x03\x04 not really a zip", "broken.docx", "broken.docx is of a type that cannot be searched"),
        (b"\x00\x01\x02binary", "blob.bin", "blob.bin is of a type that cannot be searched"),
        (b'{"a": ', "half.json", "half.json is not valid JSON"),
    ],
)
def test_unreadable_files_raise_one_clear_sentence(data: bytes, filename: str, message: str) -> None:
    with pytest.raises(ExtractionError) as caught:
        extract(data, sniff_media_type(data, filename), filename)
    assert str(caught.value).startswith(message) and str(caught.value).endswith(".")


def test_a_broken_office_file_is_refused_as_such() -> None:
    with pytest.raises(ExtractionError, match=r"broken\.docx is not a readable office file"):
        extract(b"PK\x03\x04 not really a zip", MEDIA_DOCX, "broken.docx")


def zip_bomb(entry_bytes: int, entries: int = 1) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        chunk = b"\0" * (1024 * 1024)
        for n in range(entries):
            with archive.open(f"word/media/bomb{n}.bin", "w") as entry:
                for _ in range(entry_bytes // len(chunk)):
                    entry.write(chunk)
    return out.getvalue()


def test_zip_bomb_refused_before_inflating() -> None:
    bomb = zip_bomb(120 * 1024 * 1024)  # 120 MB of zeros, about 120 KB compressed
    assert len(bomb) < 1024 * 1024
    assert sniff_media_type(bomb, "bomb.docx") == MEDIA_DOCX
    with pytest.raises(ExtractionError, match=r"would inflate to .* more than the 104,857,600 allowed"):
        extract(bomb, MEDIA_DOCX, "bomb.docx")
    small = zip_bomb(2 * 1024 * 1024)
    with pytest.raises(ExtractionError, match=r"compressed \d+x, past the 200x allowed"):
        extract(small, MEDIA_DOCX, "small.docx")
    many = zip_bomb(0, entries=30)
    with pytest.raises(ExtractionError, match="holds 32 archive entries, more than the 20 allowed"):
        extract(many, MEDIA_DOCX, "many.docx", limits=ZipLimits(max_entries=20))
