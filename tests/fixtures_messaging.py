"""Fixtures of the messaging capability (pytest plugin): a doctor with a rejected payment
(2900 005: the same care paid twice), a pending late one, a caisse agent, and file samples."""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

from amelipro.auth.models import Role
from amelipro.thirdparty.demo import nir_with_key
from amelipro.thirdparty.liquidation import LiquidationConfig, run_liquidation
from amelipro.thirdparty.models import Payment
from amelipro.thirdparty.states import PaymentStatus
from amelipro.thirdparty.tracking import track_accepted

MSG_LIQ_DAY = date(2026, 5, 22)  # working day 9 after the 11 May acknowledgement (late: 1 €)
MSG_TODAY = "2026-05-29"


def pdf_bytes(text: str = "Justificatif", *, script: bool = False) -> bytes:
    """A small valid PDF (one page); ``script=True`` adds an OpenAction JavaScript."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R" + (b" /OpenAction 5 0 R" if script else b"") + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
    ]
    if script:
        objects.append(b"<< /S /JavaScript /JS (app.alert('pdf script')) >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{n} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    ihdr = (1).to_bytes(4, "big") + (1).to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) \
        + chunk(b"IEND", b"")


EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + \
    b"\x80\x00\x00\x00" + b"\x00" * 64 + b"PE\x00\x00L\x01" + b"\x00" * 200
HTML_BYTES = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


@dataclass(frozen=True)
class PaymentCase:
    doctor: object
    other: object
    agent: object
    rejected_id: int  # 2900 005
    paid_id: int
    late_id: int  # still pending, past its due date
    other_payment_id: int


@pytest.fixture
def payment_case(app, make_professional, make_accepted_fse, tp_lookup, tp_session) -> PaymentCase:
    app.config["THIRDPARTY_TODAY"] = MSG_TODAY
    doctor = make_professional("dr.msg")
    other = make_professional("dr.autre")
    agent = make_professional("agent.caisse", role=Role.CAISSE)
    nir = nir_with_key("1800175001001")
    make_accepted_fse(doctor, invoice_number="CAB-PAYE", nir=nir)
    make_accepted_fse(doctor, invoice_number="CAB-DOUBLE", nir=nir)
    make_accepted_fse(other, invoice_number="AUTRE-1")
    run_liquidation(tp_session, LiquidationConfig(today=MSG_LIQ_DAY), lookup=tp_lookup)
    make_accepted_fse(doctor, invoice_number="CAB-RETARD")
    with tp_session() as session:
        track_accepted(session)
        rows = {p.invoice_number: p for p in session.scalars(select(Payment))}
    assert rows["CAB-DOUBLE"].status is PaymentStatus.REJECTED and rows["CAB-DOUBLE"].reject_code == "2900 005"
    return PaymentCase(doctor, other, agent, rows["CAB-DOUBLE"].id, rows["CAB-PAYE"].id, rows["CAB-RETARD"].id,
                       rows["AUTRE-1"].id)
