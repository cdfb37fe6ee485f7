"""A lot read FSE by FSE (``read_lot_each``): the same answers as the whole reading
(``read_lot``), and the lot's tree never whole in memory: each FSE's element is emptied once
visited, and what the submission keeps of an FSE holds no tree (``document.SourceLines``)."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest
from lxml import etree

from amelipro.fse.document import (
    FIELD_PATHS,
    LINE_FIELD_PATHS,
    build_lot,
    care_sheet_to_xml,
    field_path,
    walk,
)
from amelipro.fse.domain import Line, LineKind
from amelipro.fse.received_lines import LotLines, source_lines
from amelipro.xmlcore.errors import LotError
from amelipro.xmlcore.lot import read_lot, read_lot_each
from amelipro.xmlcore.safe import ParseLimits
from amelipro.xmlcore.signature import sign_fse
from tests.fixtures_pki import RPPS_MEDECIN, sample_care_sheet, signed_fse, signed_lot_bytes

F = "{urn:amelipro:fse:1}"
L = "{urn:amelipro:lot:1}"
DATA = Path(__file__).resolve().parents[1] / "data" / "fse"


def summary(outcome) -> tuple:
    """What an outcome says, read while its element is still there."""
    verified = outcome.verified
    return (
        outcome.position, outcome.element_id, outcome.line, outcome.errors,
        etree.tostring(verified.signed, method="c14n") if verified else None,
        verified.rpps if verified else None,
        [e.sourceline for e in verified.source.iter()] if verified else None,
    )


def both(data: bytes, policy, **kw):
    """(whole reading, streamed reading): each a list of summaries or the LotError's errors."""
    try:
        whole = [summary(o) for o in read_lot(data, policy, **kw).outcomes]
    except LotError as exc:
        whole = exc.errors
    try:
        streamed = read_lot_each(data, policy, summary, **kw)[1]
    except LotError as exc:
        streamed = exc.errors
    return whole, streamed


def lot_bytes(pki, count: int = 3) -> bytes:
    return signed_lot_bytes([signed_fse(pki.medecin, n) for n in range(1, count + 1)])


def _edit(data: bytes, old: bytes, new: bytes, count: int = 1) -> bytes:
    assert old in data
    return data.replace(old, new, count)


CASES = {
    "valid": lambda d: d,
    "comments and blank lines around the FSE": lambda d: _edit(
        _edit(d, b"</Entete>", b"</Entete>\n<!-- c -->\n\n"), b"</Lot>", b"<!-- fin --></Lot>"),
    "text between the FSE": lambda d: _edit(d, b"</Entete>", b"</Entete>texte"),
    "count": lambda d: _edit(d, b"<NombreFSE>3<", b"<NombreFSE>4<"),
    "header missing": lambda d: d[:d.index(b"<Entete>")] + d[d.index(b"</Entete>") + 9:],
    "foreign element": lambda d: _edit(d, b"</Lot>", b'<Autre xmlns="urn:amelipro:fse:1"/></Lot>'),
    "foreign namespace": lambda d: _edit(d, b"</Lot>", b'<Autre xmlns="urn:x"/></Lot>'),
    "second header": lambda d: _edit(d, b"</Lot>", b"<Entete/></Lot>"),
    "lot Id again in an FSE": lambda d: _edit(d, b'<FSE xmlns="urn:amelipro:fse:1" Id="',
                                              b'<FSE xmlns="urn:amelipro:fse:1" xml:id="LOT-L-TEST-1" Id="'),
    "processing instruction": lambda d: _edit(d, b"</Lot>", b"<?pi x?></Lot>"),
    "processing instruction after the lot": lambda d: d + b"<?pi x?>",
    "doctype": lambda d: _edit(d, b"<Lot ", b"<!DOCTYPE Lot []><Lot "),
    "truncated": lambda d: d[:-40],
    "garbage after the lot": lambda d: d + b"<x/>",
    "too deep": lambda d: _edit(d, b"</Lot>", b"<a>" * 70 + b"</a>" * 70 + b"</Lot>"),
    "xinclude": lambda d: _edit(d, b"</Entete>", b'</Entete><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="x"/>'),
    "processing instruction in an FSE": lambda d: _edit(d, b"<Facture>", b"<Facture><?pi x?>"),
    "too deep in an FSE": lambda d: _edit(d, b"<Facture>", b"<Facture>" + b"<a>" * 70 + b"</a>" * 70),
    "xinclude in an FSE": lambda d: _edit(
        d, b"<Facture>", b'<Facture><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="x"/>'),
    "xinclude in the header": lambda d: _edit(
        d, b"<Numero>", b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="x"/><Numero>'),
    "header in an FSE": lambda d: _edit(d, b"<Facture>", b'<Entete xmlns="urn:amelipro:lot:1"/><Facture>'),
    "FSE in an FSE": lambda d: _edit(d, b"<Facture>", b"<FSE/><Facture>"),
    "FSE in the header": lambda d: _edit(d, b"<Numero>", b'<FSE xmlns="urn:amelipro:fse:1"/><Numero>'),
    "comment first": lambda d: _edit(d, b"<Entete>", b"<!-- c --><Entete>"),
    "FSE first": lambda d: _edit(d, b"<Entete>", b'<FSE xmlns="urn:amelipro:fse:1"/><Entete>'),
    "single FSE": lambda d: d[d.index(b"<FSE "):d.index(b"</FSE>") + 6],
    "wrong root": lambda d: b"<x/>",
    "empty": lambda d: b"",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_streamed_reading_answers_as_the_whole_reading(pki, verify_policy, case):
    data = CASES[case](lot_bytes(pki))
    whole, streamed = both(data, verify_policy)
    assert streamed == whole


STREAMED = ["valid", "comments and blank lines around the FSE", "comment first", "header in an FSE",
            "FSE in an FSE"]


@pytest.mark.parametrize("case", STREAMED)
def test_usual_lots_are_streamed(pki, verify_policy, case):
    """Not read again whole: the memory bound holds for them."""
    from amelipro.xmlcore import lot
    from amelipro.xmlcore.schemas import get_registry

    data = CASES[case](lot_bytes(pki))
    reading, results = lot._read_streaming(data, verify_policy, summary, ParseLimits(), get_registry(), None)
    assert len(results) == 3 and reading.header.declared_count == 3


def test_duplicate_ids_are_answered_as_by_the_whole_reading(pki, verify_policy):
    fse = signed_fse(pki.medecin, 1)
    data = signed_lot_bytes([fse, copy.deepcopy(fse), signed_fse(pki.medecin, 2)])
    whole, streamed = both(data, verify_policy)
    assert streamed == whole
    assert [[i.code for i in s[3]] for s in streamed] == [["FSE-SIG-013"], ["FSE-SIG-013"], []]


@pytest.mark.parametrize("depth", [1, 2, 3, 5, 6, 7, 8, 64])
def test_limits_are_answered_as_by_the_whole_reading(pki, verify_policy, depth):
    data = lot_bytes(pki)
    whole, streamed = both(data, verify_policy, limits=ParseLimits(max_depth=depth))
    assert streamed == whole
    whole, streamed = both(data, verify_policy, limits=ParseLimits(max_bytes=len(data) - 1))
    assert streamed == whole and streamed[0]["code"] == "XML-002"


def test_mutated_lots_are_answered_as_by_the_whole_reading(pki, verify_policy):
    """Seeded fuzzing: whatever the bytes, the streamed reading answers the whole reading's."""
    base = lot_bytes(pki, 2).decode()
    tokens = ["<", ">", "/", '"', "&amp;", "&#0;", 'Id="x"', ' Id="FSE-10000000017-000001"', "<!-- c -->",
              "<![CDATA[x]]>", "é", "<a>", "</a>", 'xmlns="urn:x"', "<ds:Signature/>", "9", " ", "Dig", "<?p?>"]
    rng = random.Random(20261130)
    for _ in range(150):
        text = base
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(text))
            if rng.random() < 0.5:
                text = text[:i] + text[i + rng.randint(1, 20):]
            else:
                text = text[:i] + rng.choice(tokens) + text[i:]
        whole, streamed = both(text.encode(), verify_policy)
        assert streamed == whole, text


def test_each_fse_is_emptied_after_its_visit_and_the_lot_never_whole(pki, verify_policy):
    """The memory bound of a big lot: when an FSE is visited, those before it are emptied and
    those after it are not all parsed yet (the parser reads ahead by chunks, not the whole
    document); each element is emptied once visited."""
    count = 40
    data = lot_bytes(pki, count)
    full_counts, elements = [], []

    def visit(outcome):
        element = outcome.verified.source
        items = [c for c in element.getparent() if c.tag == f"{F}FSE"]
        position = items.index(element)
        assert not any(len(c) or c.attrib for c in items[:position])  # those read: emptied
        full_counts.append(sum(1 for c in items if len(c)))
        elements.append(element)
        return outcome.position

    lot, results = read_lot_each(data, verify_policy, visit)
    assert results == list(range(1, count + 1)) and lot.header.declared_count == count
    assert max(full_counts) <= count // 2, full_counts  # the tree is never the whole lot
    assert all(len(e) == 0 and not e.attrib and e.text is None for e in elements)


def test_source_lines_give_the_lines_of_the_received_elements(pki):
    sheet = sample_care_sheet(3)
    extra = (Line(3, LineKind.MEDICINE, sheet.invoice_date, "3400930000001", 1),
             Line(4, LineKind.MEDICINE, sheet.invoice_date, "3400930000002", 2))
    from dataclasses import replace

    sheet = replace(sheet, lines=sheet.lines + extra)
    signed = sign_fse(care_sheet_to_xml(sheet), pki.medecin.key, pki.medecin.cert)
    lot = build_lot([signed_fse(pki.medecin, 1), signed], number="L1", sender_rpps=RPPS_MEDECIN)
    pretty = etree.fromstring(etree.tostring(lot, pretty_print=True))
    element = pretty.findall(f"{F}FSE")[1]
    hidden = etree.fromstring('<x:W xmlns:x="urn:x" xmlns="urn:amelipro:fse:1"><Facture><Numero/></Facture></x:W>')
    element.insert(0, hidden)  # out of walk's reach: below an element of another namespace
    memo: dict = {}
    lines = source_lines(element, memo)
    paths = [field_path(sheet, name) for name in FIELD_PATHS]
    paths += [field_path(sheet, name, n) for n in range(1, len(sheet.lines) + 1) for name in LINE_FIELD_PATHS]
    paths += ["", "/", "/Lot", "/FSE/Inconnu", "/FSE/Lignes/Medicament[9]/Code", "/FSE/Lignes/ActeNGAP/Code/X"]
    for path in paths:
        assert lines.line_at(path) == walk(element, path)[0].sourceline, path
    assert len({walk(element, p)[0].sourceline for p in paths}) > 20
    again = source_lines(pretty.findall(f"{F}FSE")[0], memo)
    assert again.shape is not lines.shape  # another layout: 2 lines, not 4
    twin = source_lines(copy.deepcopy(element), memo)
    assert twin.shape is lines.shape and twin.offsets is lines.offsets  # shared by the FSE laid out alike


def test_lot_lines_are_read_again_from_the_lot_only_when_asked(pki):
    """What the submission keeps of a lot to place its errors: its bytes, parsed again the
    first time a line is asked for; the lines of each FSE by its rank, as in the lot read."""
    fses = [signed_fse(pki.medecin, n) for n in (1, 2, 3)]
    lot = build_lot(fses, number="L1", sender_rpps=RPPS_MEDECIN)
    pretty = etree.tostring(lot, pretty_print=True).replace(b"<Patient>", b"<Patient>\n\n<!-- x -->\n", 1)
    sheet = sample_care_sheet(1)
    paths = [field_path(sheet, name) for name in FIELD_PATHS] + ["/FSE/Lignes/ActeCCAM/Code"]
    for data, elements in (
        (pretty, etree.fromstring(pretty).findall(f"{F}FSE")),
        (etree.tostring(fses[1]), [etree.fromstring(etree.tostring(fses[1]))]),
    ):
        lines = LotLines(data, ParseLimits())
        assert lines._lines is None  # nothing read yet
        for rank, element in enumerate(elements, 1):
            assert [lines.of(rank).line_at(p) for p in paths] == [walk(element, p)[0].sourceline for p in paths]
        assert lines.of(len(elements) + 1) is None and lines.of(0) is None


def test_what_the_submission_keeps_of_a_read_fse_holds_no_tree(pki, verify_policy):
    """``intake.read_lot``: each ReadFse holds its signed XML (a string), its care sheet and
    the lot's lines (read only when an error is placed), never an element of the lot's tree
    nor of its signed copy."""
    import gc

    from amelipro.fse import intake
    from amelipro.xmlcore.schemas import get_registry

    data = lot_bytes(pki, 3)
    gw = intake.Gateway(policy=verify_policy, registry=get_registry(), limits=ParseLimits())
    reading = intake.read_lot(gw, data, RPPS_MEDECIN)
    assert [f.position for f in reading.fses] == [1, 2, 3]
    seen, todo = set(), list(reading.fses)
    for _ in range(4):  # what each ReadFse refers to, and what that refers to, ...
        todo = [o for obj in todo for o in gc.get_referents(obj) if id(o) not in seen and not seen.add(id(o))]
        assert not any(isinstance(o, etree._Element | etree._ElementTree) for o in todo)
    assert reading.fses[0].lines._lines is None  # no error to place: the lines were not read
    received = etree.fromstring(data).findall(f"{F}FSE")[2]
    path, line = intake.locate(reading.fses[2], "patient.nir")
    assert (path, line) == ("/Lot/FSE[3]/Patient/NIR", received.find(f"{F}Patient/{F}NIR").sourceline)
