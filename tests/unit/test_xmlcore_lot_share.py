"""A lot read in shares (``read_lot_share``, what two processes read together): the shares
merged give exactly the FSE-by-FSE reading (``read_lot_each``), each FSE read by one share
only; a lot that ``read_lot_each`` would read again whole, or refuse, is not read in shares."""

from __future__ import annotations

import random

import pytest

from amelipro.xmlcore.errors import LotError
from amelipro.xmlcore.lot import read_lot_each, read_lot_share
from amelipro.xmlcore.safe import ParseLimits
from tests.fixtures_pki import signed_fse, signed_lot_bytes
from tests.unit.test_xmlcore_lot_stream import CASES, STREAMED, lot_bytes, summary


def merged(data: bytes, policy, count: int, **kw):
    """The shares of ``count`` merged in the lot's order, or None if any share is None."""
    shares = [read_lot_share(data, policy, summary, (i, count), **kw) for i in range(count)]
    if any(s is None for s in shares):
        assert all(s is None for s in shares)  # the lot-level answer does not depend on the share
        return None
    readings = {(r.lot_id, r.header, r.digest) for r, _ in shares}
    assert len(readings) == 1
    results = []
    for position, items in enumerate(zip(*(s[1] for s in shares), strict=True), start=1):
        read = [item for item in items if item is not None]
        assert len(read) == 1, f"FSE {position} read by {len(read)} shares"
        assert items.index(read[0]) == (position - 1) % count
        results.append(read[0])
    return shares[0][0], results


def each(data: bytes, policy, **kw):
    try:
        return read_lot_each(data, policy, summary, **kw)
    except LotError as exc:
        return exc.errors


@pytest.mark.parametrize("count", [1, 2, 3])
def test_shares_merged_are_the_reading_fse_by_fse(pki, verify_policy, count):
    data = lot_bytes(pki, 5)
    reading, results = merged(data, verify_policy, count)
    expected = read_lot_each(data, verify_policy, summary)
    assert reading == expected[0] and results == expected[1]
    assert [r[0] for r in results] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("case", sorted(set(CASES) - set(STREAMED)))
def test_lots_read_again_whole_or_refused_are_not_read_in_shares(pki, verify_policy, case):
    data = CASES[case](lot_bytes(pki))
    assert merged(data, verify_policy, 2) is None


@pytest.mark.parametrize("case", STREAMED)
def test_usual_lots_are_read_in_shares(pki, verify_policy, case):
    data = CASES[case](lot_bytes(pki))
    reading, results = merged(data, verify_policy, 2)
    assert (reading, results) == read_lot_each(data, verify_policy, summary)


def test_an_fse_refused_is_refused_in_its_share(pki, verify_policy):
    data = signed_lot_bytes([signed_fse(pki.medecin, n) for n in range(1, 5)])
    data = data.replace(b"<Numero>2026-000003<", b"<Numero>2026-000033<")  # the third FSE tampered with
    shared = merged(data, verify_policy, 2)
    assert shared == each(data, verify_policy)
    assert [[i.code for i in r[3]] for r in shared[1]] == [[], [], ["FSE-SIG-003"], []]


def test_a_visit_that_fails_or_a_bad_share_is_no_reading(pki, verify_policy):
    data = lot_bytes(pki, 4)

    def fails(outcome):
        raise RuntimeError("visit")

    assert read_lot_share(data, verify_policy, fails, (0, 2)) is None
    for share in [(2, 2), (-1, 2), (0, 0)]:
        assert read_lot_share(data, verify_policy, summary, share) is None
    assert read_lot_share(data, verify_policy, summary, (0, 2), limits=ParseLimits(max_bytes=len(data) - 1)) is None


def test_mutated_lots_in_shares_are_the_reading_fse_by_fse_or_none(pki, verify_policy):
    """Seeded fuzzing: whatever the bytes, the shares give the FSE-by-FSE reading or nothing."""
    base = lot_bytes(pki, 3).decode()
    tokens = ["<", ">", "/", '"', "&amp;", 'Id="x"', "<!-- c -->", "<![CDATA[x]]>", "é", "<a>", "</a>", "9", " "]
    rng = random.Random(20261130)
    for _ in range(60):
        text = base
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(text))
            text = text[:i] + (rng.choice(tokens) if rng.random() < 0.5 else "") + text[i + rng.randint(0, 10):]
        data = text.encode()
        shared = merged(data, verify_policy, 2)
        if shared is not None:
            assert shared == read_lot_each(data, verify_policy, summary), text
