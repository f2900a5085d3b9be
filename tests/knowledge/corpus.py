# ruff: noqa: E501  (a data file: one passage per line reads best)
"""A generated corpus (pdf, docx, xlsx, md) of a fictional shipping company, with a golden set of
questions: identifiers ("SKU-4471") that only words find, and paraphrases ("which days can staff
work remotely") that share few words with their passage. Generated, never committed as binaries.

    files = build_corpus()           # {filename: bytes}
    for q in GOLDEN: q.question, q.needle   # a hit is relevant when its text contains the needle

Used by tests/knowledge/test_recall.py and bench/knowledge.py.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    question: str
    needle: str
    kind: str  # "identifier" or "paraphrase"


HANDBOOK = [  # (heading, text) -> handbook.docx
    (
        "Remote work",
        "Employees may work from home on Tuesdays and Thursdays. On the other weekdays everyone is expected at the office.",
    ),
    (
        "Annual leave",
        "Each full-time employee receives 27 days of paid holiday per calendar year; up to five unused days carry over.",
    ),
    ("Parental leave", "New parents are entitled to 16 weeks of fully paid leave after a birth or an adoption."),
    ("Expenses", "Receipts for travel costs must be submitted through the finance portal within 30 days of the trip."),
    (
        "Laptop policy",
        "Company computers must use full-disk encryption and lock automatically after five minutes idle.",
    ),
    (
        "Sick days",
        "If you are ill, notify your team lead before 9:00; a doctor's note is required after three consecutive days of absence.",
    ),
    ("Probation", "The probation period for new hires lasts six months, with a review meeting at month three."),
    ("Gifts", "Policy HR-207 forbids accepting gifts worth more than 50 euros from suppliers or customers."),
    (
        "Training budget",
        "Every employee has a yearly learning allowance of 1,200 euros for courses, books and conferences.",
    ),
    ("Cycling", "Staff who cycle to work can lease an e-bike through the BikeLease programme with a salary deduction."),
    ("Dress code", "Smart casual clothing is fine in the office; safety shoes are mandatory on the warehouse floor."),
    ("Parking", "The car park behind building C is reserved for visitors and car-sharing vehicles."),
    ("Meeting rooms", "Rooms are booked in the calendar; a booking not used within 15 minutes is released."),
    (
        "Mobile phones",
        "A company phone is provided to drivers and on-call engineers; personal use is allowed within reason.",
    ),
    ("Pension", "The company pays 6% of gross salary into the pension plan; employees may add more."),
]
REPORT = [  # one page each -> report.pdf
    "Revenue in the third quarter rose 12% to 48.3 million euros, driven by cold-chain shipping contracts.",
    "Incident INC-9042: a refrigerated container failed in Antwerp on 14 August, spoiling 3 tonnes of fruit.",
    "The fleet grew to 214 trucks; 37 of them are now fully electric, charged at our own depots.",
    "Carbon emissions per shipment fell 8% year over year thanks to route optimisation and fuller loads.",
    "Customer satisfaction measured by NPS reached 61, up from 54 a year earlier.",
    "Headcount rose to 1,870 employees across 9 countries, most of them in operations.",
    "Warehouse WH-12 in Gdansk opened in September with 40,000 pallet places and automated picking.",
    "Fuel costs were 9% above budget because of diesel price increases in the summer months.",
    "Outlook: the board expects moderate growth next year, with new routes to the Baltic states.",
    "Risks include driver shortages, port congestion and stricter emission zones in city centres.",
]
RUNBOOK = [  # (heading, text) -> runbook.md
    (
        "Restarting the dispatcher",
        "Run `systemctl restart dispatcher` on the app host, then check that /healthz returns 200.",
    ),
    ("Error E-1024", "E-1024 means the label printer queue is full; clear it with `lpq purge` on the print server."),
    (
        "Database failover",
        "If the primary database is down, promote the replica with `pg_ctl promote` and point db.internal at it.",
    ),
    (
        "On-call rotation",
        "The on-call engineer changes every Monday at 10:00; swaps must be agreed in the #ops-oncall channel.",
    ),
    ("Backups", "Nightly backups run at 02:30 UTC and are kept for 35 days in the nw-backups bucket."),
    ("Admin console", "The admin console listens on port 8443 and can only be reached over the VPN."),
    (
        "Certificates",
        "TLS certificates renew automatically 30 days before expiry; the alert CERT-EXP fires if renewal fails.",
    ),
    (
        "Scaling workers",
        "Increase the queue workers with `kubectl scale deploy/worker --replicas=6` when the backlog exceeds 10,000 jobs.",
    ),
    ("Log files", "Application logs are written to /var/log/northwind/app.log and rotated daily."),
    ("Deploying", "Deploys go out from the main branch after the CI pipeline passes; tag the release first."),
    ("Rate limits", "The public tracking API allows 600 requests per minute per customer key."),
]
PRODUCTS = [  # (sku, name, description, price) -> catalog.xlsx, among filler rows
    ("SKU-4471", "Blue pallet wrap", "Stretch film, 500 mm wide, for securing loads", "19.90"),
    ("SKU-5530", "Thermal blanket", "Insulating cover for frozen goods during transport", "84.00"),
    ("SKU-1208", "Corrugated box 60x40x40", "Double-wall cardboard carton", "2.35"),
    ("SKU-7781", "Temperature logger", "Records every 5 minutes and raises an alarm above 8 degrees", "129.00"),
    ("SKU-3019", "Anti-slip mat", "Rubber sheet placed between layers so stacked loads do not shift", "6.40"),
]
GOLDEN = [
    Question("which days can staff work remotely", "work from home on Tuesdays", "paraphrase"),
    Question("how much vacation do I get per year", "27 days of paid holiday", "paraphrase"),
    Question("how long is maternity or paternity leave", "16 weeks of fully paid leave", "paraphrase"),
    Question("deadline for claiming reimbursement of a business trip", "within 30 days of the trip", "paraphrase"),
    Question("security rules for work notebooks", "full-disk encryption", "paraphrase"),
    Question("when do I need a medical certificate", "doctor's note is required", "paraphrase"),
    Question("how long until a new employee is confirmed in the job", "probation period for new hires", "paraphrase"),
    Question("HR-207", "Policy HR-207", "identifier"),
    Question("money for professional development", "learning allowance", "paraphrase"),
    Question("can I get an electric bicycle through my employer", "lease an e-bike", "paraphrase"),
    Question("how much money did we make in Q3", "Revenue in the third quarter", "paraphrase"),
    Question("INC-9042", "Incident INC-9042", "identifier"),
    Question("how many of our lorries are battery powered", "37 of them are now fully electric", "paraphrase"),
    Question("did our CO2 footprint go down", "Carbon emissions per shipment fell", "paraphrase"),
    Question("how happy are our clients", "NPS reached 61", "paraphrase"),
    Question("how many people work for the company", "Headcount rose to 1,870", "paraphrase"),
    Question("WH-12", "Warehouse WH-12", "identifier"),
    Question("why was spending on diesel higher than planned", "Fuel costs were 9% above budget", "paraphrase"),
    Question("SKU-4471", "SKU-4471", "identifier"),
    Question("SKU-5530 price", "SKU-5530", "identifier"),
    Question("what is SKU-1208", "SKU-1208", "identifier"),
    Question("device to monitor cold chain temperature", "SKU-7781", "paraphrase"),
    Question("something to stop pallets sliding", "SKU-3019", "paraphrase"),
    Question("how do I bring the dispatch service back up", "systemctl restart dispatcher", "paraphrase"),
    Question("E-1024", "E-1024 means the label printer", "identifier"),
    Question("what to do when the main postgres server dies", "promote the replica", "paraphrase"),
    Question("when does the pager duty hand over", "on-call engineer changes every Monday", "paraphrase"),
    Question("how long are backups retained", "kept for 35 days", "paraphrase"),
    Question("8443", "port 8443", "identifier"),
    Question("CERT-EXP", "alert CERT-EXP", "identifier"),
    Question("too many jobs waiting in the queue, how to add capacity", "kubectl scale deploy/worker", "paraphrase"),
    Question("where can I find the application's log files", "/var/log/northwind/app.log", "paraphrase"),
    Question("BikeLease", "BikeLease programme", "identifier"),
    Question("PolyFilm BV", "PolyFilm BV", "identifier"),
    Question("nw-backups", "nw-backups bucket", "identifier"),
    Question("db.internal", "db.internal", "identifier"),
    Question("#ops-oncall", "#ops-oncall", "identifier"),
    # Identifiers inside a sentence, and paraphrases sharing common words with other passages.
    Question("what does policy HR-207 say about presents from suppliers", "Policy HR-207", "identifier"),
    Question("the printer shows E-1024, what now", "E-1024 means the label printer", "identifier"),
    Question("what happened in incident INC-9042", "Incident INC-9042", "identifier"),
    Question("how many pallets fit in the new warehouse in Poland", "Warehouse WH-12", "paraphrase"),
    Question("what does the company put towards my retirement", "pension plan", "paraphrase"),
]

_FILLER_WORDS = [
    "shipment",
    "pallet",
    "route",
    "depot",
    "customer",
    "invoice",
    "carrier",
    "freight",
    "container",
    "schedule",
    "driver",
    "warehouse",
    "order",
    "delivery",
    "contract",
    "policy",
    "review",
    "budget",
    "quarter",
    "team",
    "office",
    "system",
    "report",
    "service",
    "account",
]


def filler(rng: random.Random, sentences: int) -> str:
    out = []
    for _ in range(sentences):
        words = rng.sample(_FILLER_WORDS, 7)
        out.append(
            f"The {words[0]} {words[1]} is checked against the {words[2]} {words[3]} before the {words[4]} {words[5]} {words[6]}."
        )
    return " ".join(out)


def handbook_docx(rng: random.Random) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Northwind Cargo employee handbook", 0)
    for heading, text in HANDBOOK:
        document.add_heading(heading, 1)
        document.add_paragraph(text)
        document.add_paragraph(filler(rng, 3))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def report_pdf(rng: random.Random, pages: list[str] | None = None) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for text in pages or REPORT:
        pdf.add_page()
        pdf.multi_cell(0, 6, text + "\n\n" + filler(rng, 4))
    return bytes(pdf.output())


def catalog_xlsx(rng: random.Random) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Products"
    sheet.append(["SKU", "Name", "Description", "Price", "Warehouse"])
    rows = [(*p, "Rotterdam") for p in PRODUCTS]
    for n in range(40):
        words = rng.sample(_FILLER_WORDS, 3)
        rows.append(
            (
                f"SKU-{2000 + n * 37}",
                f"{words[0].title()} {words[1]} kit",
                f"Standard {words[2]} supplies",
                f"{rng.uniform(1, 90):.2f}",
                "Gdansk",
            )
        )
    rng.shuffle(rows)
    for row in rows:
        sheet.append(list(row))
    suppliers = book.create_sheet("Suppliers")
    suppliers.append(["Supplier", "Country"])
    suppliers.append(["PolyFilm BV", "Netherlands"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def runbook_md(rng: random.Random) -> bytes:
    parts = ["# Operations runbook\n"]
    for heading, text in RUNBOOK:
        parts.append(f"## {heading}\n\n{text}\n\n{filler(rng, 3)}\n")
    return "\n".join(parts).encode()


def build_corpus(seed: int = 7) -> dict[str, bytes]:
    rng = random.Random(seed)
    return {
        "handbook.docx": handbook_docx(rng),
        "report.pdf": report_pdf(rng),
        "catalog.xlsx": catalog_xlsx(rng),
        "runbook.md": runbook_md(rng),
    }
