"""Small documents of every supported format, generated (each holds the sentence `MARK`)."""

from __future__ import annotations

import io
import json
import zipfile

MARK = "The Zephyr project launches in October."


def pdf() -> bytes:
    """A one-page PDF written by hand (fpdf2 takes seconds to import on a loaded machine)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({MARK}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def docx() -> bytes:
    import docx as python_docx

    doc = python_docx.Document()
    doc.add_heading("Roadmap", level=1)
    doc.add_paragraph(MARK)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Plan"
    sheet.append(["note"])
    sheet.append([MARK])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def pptx() -> bytes:
    from pptx import Presentation

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Roadmap"
    slide.placeholders[1].text = MARK
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A docx-looking archive whose one entry inflates 20 MB of zeros (a ratio of about 1,000)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as entry:
            block = b"\0" * (1024 * 1024)
            for _ in range(20):
                entry.write(block)
    return out.getvalue()


FORMATS: list[tuple[str, bytes | None, str]] = [
    ("plan.txt", f"{MARK}\n".encode(), "text/plain"),
    ("plan.md", f"# Roadmap\n\n{MARK}\n".encode(), "text/markdown"),
    (
        "plan.html",
        f"<html><script>var x=1</script><style>p{{}}</style><h1>Roadmap</h1><p>{MARK}</p></html>".encode(),
        "text/html",
    ),
    ("plan.csv", f"id,note\n1,{MARK}\n".encode(), "text/csv"),
    ("plan.json", json.dumps({"note": MARK}).encode(), "application/json"),
    ("plan.pdf", None, "application/pdf"),
    ("plan.docx", None, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("plan.xlsx", None, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("plan.pptx", None, "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
]
BUILDERS = {"plan.pdf": pdf, "plan.docx": docx, "plan.xlsx": xlsx, "plan.pptx": pptx}


def content(name: str, data: bytes | None) -> bytes:
    return data if data is not None else BUILDERS[name]()
