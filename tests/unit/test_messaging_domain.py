"""Pure rules of the messagerie: attachment type from the content, file names, text, amounts."""

from decimal import Decimal

import pytest

from amelipro.errors import AmeliproError
from amelipro.messaging import domain
from amelipro.messaging.domain import (
    Category,
    check_attachment,
    check_attachments,
    parse_amount,
    safe_filename,
)
from tests.fixtures_messaging import EXE_BYTES, HTML_BYTES, pdf_bytes, png_bytes

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("a.pdf", pdf_bytes(), ("application/pdf", "a.pdf")),
    ("scan.jpg", png_bytes(), ("image/png", "scan.png")),  # the name lies: the content decides
    ("photo", JPEG, ("image/jpeg", "photo.jpg")),
    ("script.pdf", pdf_bytes(script=True), ("application/pdf", "script.pdf")),
])
def test_allowed_types_are_read_from_the_content(name, data, expected):
    checked = check_attachment(name, data)
    assert (checked.content_type, checked.filename) == expected


@pytest.mark.parametrize(("data", "code"), [
    (EXE_BYTES, "MSG-011"), (HTML_BYTES, "MSG-011"), (b"texte brut sans signature", "MSG-011"),
    (b"GIF89a" + b"\x00" * 20, "MSG-011"), (b"", "MSG-013"),
    (pdf_bytes() + b" " * domain.MAX_ATTACHMENT_BYTES, "MSG-010"),
])
def test_refused_attachments(data, code):
    with pytest.raises(AmeliproError) as exc:
        check_attachment("x.pdf", data)
    assert exc.value.code == code


def test_exactly_five_megabytes_is_accepted_and_six_files_are_not():
    data = pdf_bytes()
    assert check_attachment("a.pdf", data + b"%" * (domain.MAX_ATTACHMENT_BYTES - len(data))).content_type
    with pytest.raises(AmeliproError) as exc:
        check_attachments([("a.pdf", data)] * 6)
    assert exc.value.code == "MSG-012"


@pytest.mark.parametrize(("raw", "expected"), [
    ("../../etc/passwd", "passwd.pdf"), ("C:\\Users\\x\\doc.exe", "doc.pdf"), ("a\x00b\x1fc.pdf", "abc.pdf"),
    ("", "piece-jointe.pdf"), ("...", "piece-jointe.pdf"), ('a<b>:"|?*.pdf', "a_b______.pdf"),
    ("é" * 300 + ".pdf", "é" * 100 + ".pdf"),
])
def test_safe_filename(raw, expected):
    assert safe_filename(raw, "pdf") == expected


@pytest.mark.parametrize(("raw", "expected"), [("21,00", "21.00"), ("21", "21.00"), (" 1 234,5 € ", "1234.50")])
def test_amounts(raw, expected):
    assert parse_amount(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["", "0", "-1", "abc", "1,234", "NaN", "Infinity", "100000.01", "1e3"])
def test_bad_amounts(raw):
    with pytest.raises(AmeliproError) as exc:
        parse_amount(raw)
    assert exc.value.code == "MSG-032"


def test_body_and_subject():
    assert domain.clean_body("a\r\nb\x00") == "a\nb"
    with pytest.raises(AmeliproError):
        domain.clean_body("x" * (domain.MAX_BODY + 1))
    assert domain.clean_subject("  a \t b\x07 ") == "a b"
    with pytest.raises(AmeliproError):
        domain.clean_subject("x" * 201)
    assert [c.payable for c in Category] == [False, True, False, False, True]
    assert domain.patient_initials("claire", "martin") == "C. M."
