"""Hostile XML: each refused with its own code, no file read, no network, bounded memory."""

from __future__ import annotations

import http.server
import re
import threading
import time
import tracemalloc

import pytest
from lxml import etree

from amelipro.xmlcore.errors import UnsafeXmlError
from amelipro.xmlcore.safe import ParseLimits, parse_untrusted

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""


def code_of(data: bytes, limits: ParseLimits | None = None) -> str:
    with pytest.raises(UnsafeXmlError) as info:
        parse_untrusted(data, limits or ParseLimits())
    return info.value.code


@pytest.fixture
def http_canary():
    """A local HTTP server that counts every request: proof that nothing was fetched."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY x "FETCHED">')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("SECRET-CANARY-42")
    return path


def test_a_plain_document_is_parsed():
    root = parse_untrusted(b'<?xml version="1.0" encoding="UTF-8"?><a x="1"><!-- c --><b>t</b></a>')
    assert root.tag == "a" and root[1].text == "t"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "XML-001"),
        (b"   \n  ", "XML-001"),
        (b"<a><b></a>", "XML-003"),
        (b"not xml at all", "XML-003"),
        (b"<!DOCTYPE a><a/>", "XML-004"),
        (b'<!DOCTYPE a [<!ELEMENT a (#PCDATA)>]><a/>', "XML-004"),
        (BILLION_LAUGHS, "XML-005"),
        (b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', "XML-005"),
        (b"<a>&undeclared;</a>", "XML-005"),
        (b'<?xml-stylesheet type="text/xsl" href="x.xsl"?><a/>', "XML-007"),
        (b"<a><?php system('id'); ?></a>", "XML-007"),
        (b'<a xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/passwd" parse="text"/></a>',
         "XML-009"),
        (b'<a><include xmlns="http://www.w3.org/2003/XInclude" href="/etc/passwd"/></a>', "XML-009"),
        ("<?xml version='1.0' encoding='UTF-16'?><!DOCTYPE a><a/>".encode("utf-16"), "XML-004"),
    ],
)
def test_hostile_documents_are_refused_with_their_code(data, code):
    assert code_of(data) == code


def test_billion_laughs_is_refused_fast_with_bounded_memory():
    tracemalloc.start()
    start = time.perf_counter()
    assert code_of(BILLION_LAUGHS) == "XML-005"
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 0.5
    assert peak < 5 * 1024 * 1024


def test_external_dtd_and_entities_fetch_nothing(http_canary, secret_file):
    base, hits = http_canary
    documents = [
        f'<!DOCTYPE a SYSTEM "{base}/x.dtd"><a>&x;</a>',
        f'<!DOCTYPE a PUBLIC "-//X//Y" "{base}/p.dtd"><a/>',
        f'<!DOCTYPE a [<!ENTITY x SYSTEM "{base}/e.txt">]><a>&x;</a>',
        f'<!DOCTYPE a [<!ENTITY % p SYSTEM "{base}/p.dtd"> %p;]><a>&x;</a>',
        f'<!DOCTYPE a [<!ENTITY x SYSTEM "file://{secret_file}">]><a>&x;</a>',
        f'<!DOCTYPE a SYSTEM "file://{secret_file}"><a/>',
    ]
    for doc in documents:
        with pytest.raises(UnsafeXmlError) as info:
            parse_untrusted(doc.encode())
        assert info.value.code in {"XML-006", "XML-005"}, doc
        assert "SECRET-CANARY" not in repr(info.value.as_dict())
    assert hits == []


def test_external_references_have_their_own_code(http_canary, secret_file):
    base, hits = http_canary
    assert code_of(f'<!DOCTYPE a SYSTEM "{base}/x.dtd"><a/>'.encode()) == "XML-006"
    assert code_of(f'<!DOCTYPE a [<!ENTITY x SYSTEM "file://{secret_file}">]><a>&x;</a>'.encode()) == "XML-006"
    assert hits == []


def test_xinclude_is_never_processed(secret_file):
    doc = (f'<a xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file://{secret_file}" '
           'parse="text"/></a>').encode()
    with pytest.raises(UnsafeXmlError) as info:
        parse_untrusted(doc)
    assert info.value.code == "XML-009"
    assert "SECRET" not in repr(info.value.as_dict())


def test_depth_limit_is_configurable():
    doc = b"<a>" * 20 + b"</a>" * 20
    assert parse_untrusted(doc, ParseLimits(max_depth=20)).tag == "a"
    assert code_of(doc, ParseLimits(max_depth=19)) == "XML-008"


def test_very_deep_nesting_is_refused():
    depth = 100_000
    assert code_of(b"<a>" * depth + b"</a>" * depth) == "XML-008"


def test_oversize_is_refused_before_parsing(monkeypatch):
    calls = []
    real = etree.fromstring
    monkeypatch.setattr(etree, "fromstring", lambda *a, **k: calls.append(1) or real(*a, **k))
    with pytest.raises(UnsafeXmlError) as info:
        parse_untrusted(b"<a>" + b"x" * 2000 + b"</a>", ParseLimits(max_bytes=1000))
    assert info.value.code == "XML-002" and info.value.status == 413
    assert calls == []


def test_limits_from_config():
    limits = ParseLimits.from_config({"XML_MAX_BYTES": "1234", "XML_MAX_DEPTH": 7})
    assert limits == ParseLimits(max_bytes=1234, max_depth=7)


def test_syntax_errors_carry_their_line():
    with pytest.raises(UnsafeXmlError) as info:
        parse_untrusted(b"<a>\n<b>\n</a>")
    assert info.value.code == "XML-003" and info.value.line in (2, 3)


MALFORMED_SAMPLES = [
    b"<a>\n<b>\n</a>",
    b"not xml at all",
    b"<Lot>\n  <FSE>",
    b"<a></a><b/>",
    b"<a x=1/>",
    b'<a x="1" x="2"/>',
    b"<a>&secret;</a>",
    b"<a>\x01</a>",
    b'<?xml version="1.0" encoding="UTF-8"?>\n<a>\xff</a>',
    b'<a b="<"/>',
    b"<a><!-- jamais fini",
]


@pytest.mark.parametrize("data", MALFORMED_SAMPLES)
def test_syntax_errors_say_where_and_what_in_french_never_in_the_parsers_words(data):
    try:
        etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        parser_text = str(exc.msg)
    with pytest.raises(UnsafeXmlError) as info:
        parse_untrusted(data)
    detail = info.value.detail
    assert info.value.line is not None  # the position, in its own field
    assert parser_text.split(",")[0] not in detail
    for english in ("line", "expected", "mismatch", "Premature", "Extra content", "not defined",
                    "invalid", "Char value", "redefined", "AttValue", "Couldn't"):
        assert not re.search(rf"\b{english}\b", detail), (english, detail)
    if detail:
        assert detail[0].isupper() and detail.endswith(".")
