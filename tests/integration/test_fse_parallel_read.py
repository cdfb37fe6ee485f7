"""A large lot read on two cores (``fse/parallel_read.py``): the same reading as in the
request's process, whatever happens to the helper process; and when the helper is left out.

The golden lots are also answered both ways (test_golden_lots.py)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from amelipro.fse import intake, parallel_read
from amelipro.fse.intake import LotRefusedError
from tests.fixtures_fse import start_parallel_reading


def _gateway(app):
    return intake.pipeline(app).gateway()


def reading(gw, body: bytes, token_rpps: str | None):
    """``intake.read_lot``'s answer, comparable: the LotReading (each FSE without its
    ``lines``, an object of the lot), or the refusal's status and errors."""
    try:
        lot = intake.read_lot(gw, body, token_rpps)
    except LotRefusedError as exc:
        return exc.http_status, exc.errors
    assert all(f.lines is not None for f in lot.fses)
    return replace(lot, fses=tuple(replace(f, lines=None) for f in lot.fses))


def both_ways(app, body: bytes, reader, token_rpps: str | None):
    """(read in the request's process, read with the helper) and whether the helper read a share."""
    gw = _gateway(app)
    gw.parallel = None
    here = reading(gw, body, token_rpps)
    gw.parallel = reader
    served = reader.served
    shared = reading(gw, body, token_rpps)
    return here, shared, reader.served - served


@pytest.fixture
def reader(fse_env, monkeypatch):
    found = start_parallel_reading(fse_env.app, monkeypatch)
    yield found
    found.close()


def test_a_lot_read_in_shares_is_the_lot_read_here(fse_env, reader):
    body = fse_env.lot(fse_env.sheets(9, invalid=0.3).sheets)
    here, shared, served = both_ways(fse_env.app, body, reader, fse_env.doctor.rpps)
    assert served == 1
    assert shared == here
    assert [f.position for f in shared.fses] == list(range(1, 10))
    assert all(f.content_hash for f in shared.fses)


def test_a_refused_fse_is_refused_alike_with_its_line(fse_env, reader):
    body = fse_env.lot(fse_env.sheets(6).sheets)
    start = body.index(b"<Numero>", body.index(b"<FSE ", body.index(b"<FSE ", body.index(b"<FSE ") + 1) + 1))
    body = body[:start + 8] + b"X" + body[start + 9:]  # the third FSE's invoice number, after signing
    here, shared, served = both_ways(fse_env.app, body, reader, fse_env.doctor.rpps)
    assert served == 1
    assert shared == here
    status, errors = shared
    assert status == 422 and [(e.code, e.fse) for e in errors] == [("FSE-SIG-003", 3)] and errors[0].line


def test_a_token_of_another_professional_is_refused_alike(fse_env, reader):
    body = fse_env.lot(fse_env.sheets(4).sheets)
    here, shared, served = both_ways(fse_env.app, body, reader, "10000000999")
    assert served == 1 and shared == here and here[0] == 403


def test_a_lot_not_read_in_shares_is_read_here(fse_env, reader):
    body = fse_env.lot(fse_env.sheets(3).sheets)
    unusual = body.replace(b"</Lot>", b"<Autre/></Lot>")  # a lot-level error: read whole here
    here, shared, served = both_ways(fse_env.app, unusual, reader, fse_env.doctor.rpps)
    assert served == 0 and shared == here
    assert here[0] == 422 and [e.code for e in here[1]] == ["XSD-001"]  # the lot schema


def test_a_helper_that_dies_leaves_the_lot_read_here_and_is_replaced(fse_env, reader):
    gw = _gateway(fse_env.app)
    body = fse_env.lot(fse_env.sheets(5).sheets)
    gw.parallel = None
    here = reading(gw, body, fse_env.doctor.rpps)
    gw.parallel = reader
    reader._process.kill()
    reader._process.wait()  # gone before the lot is sent: its pipe is broken
    assert reading(gw, body, fse_env.doctor.rpps) == here
    assert reader.served == 0 and reader.failures == 1 and not reader.ready
    reading(gw, body, fse_env.doctor.rpps)  # starts another helper, reads here meanwhile
    deadline = time.monotonic() + 60
    while not reader.ready:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert reading(gw, body, fse_env.doctor.rpps) == here and reader.served == 1


def test_no_idle_core_a_busy_helper_or_a_small_lot_are_read_here(fse_env, reader, monkeypatch):
    gw = _gateway(fse_env.app)
    body = fse_env.lot(fse_env.sheets(3).sheets)
    monkeypatch.setattr(parallel_read, "idle_core", lambda: False)
    assert reader.submit(body, None, intake.datetime.now(intake.UTC)) is None
    monkeypatch.setattr(parallel_read, "idle_core", lambda: True)
    with reader._lock:  # another lot of this process is using it
        assert reader.submit(body, None, intake.datetime.now(intake.UTC)) is None
    monkeypatch.setattr(parallel_read, "MIN_BYTES", len(body) + 1)
    assert reader.submit(body, None, intake.datetime.now(intake.UTC)) is None
    assert reading(gw, body, fse_env.doctor.rpps) and reader.served == 0


def test_a_helper_that_cannot_start_is_tried_a_few_times_then_left_out(fse_env, monkeypatch):
    monkeypatch.setattr(parallel_read, "MIN_BYTES", 0)
    broken = parallel_read.ParallelReader({})  # no settings: its gateway cannot load
    body = fse_env.lot(fse_env.sheets(2).sheets)
    now = intake.datetime.now(intake.UTC)
    deadline = time.monotonic() + 120
    while broken.failures < parallel_read.MAX_FAILURES:
        assert time.monotonic() < deadline
        assert broken.submit(body, None, now) is None
        time.sleep(0.05)
    assert broken.submit(body, None, now) is None and broken._process is None
    broken.close()


def test_idle_core_reads_the_runnable_count(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel_read, "cores", lambda: 2)
    loadavg = tmp_path / "loadavg"
    for text, idle in [("0.50 0.40 0.30 1/310 4242\n", True), ("1.9 1.5 1.0 2/310 4242\n", False),
                       ("3.0 3.0 3.0 7/310 4242\n", False), ("garbage\n", True)]:
        loadavg.write_text(text)
        assert parallel_read.idle_core(str(loadavg)) is idle
    assert parallel_read.idle_core(str(tmp_path / "absent")) is True


def test_the_setting_turns_it_off(app):
    assert parallel_read.for_config({**app.config, "FSE_PARALLEL_READ": False}) is None
    found = parallel_read.for_config({**app.config, "FSE_PARALLEL_READ": True})
    assert (found is not None) == (parallel_read.cores() >= 2)


def test_the_helper_reads_with_this_process_policy(fse_env, reader):
    """A policy changed in the app process (here: ECDSA only) is the helper's too."""
    from signxml import SignatureMethod

    gw = _gateway(fse_env.app)
    gw.policy = replace(gw.policy, signature_methods=frozenset({SignatureMethod.ECDSA_SHA256}))
    body = fse_env.lot(fse_env.sheets(4).sheets)  # signed RSA
    here, shared, served = both_ways(fse_env.app, body, reader, fse_env.doctor.rpps)
    assert served == 1 and shared == here
    assert here[0] == 422 and [e.fse for e in here[1]] == [1, 2, 3, 4]


def test_the_helper_starts_with_a_first_large_lot_only(fse_env, monkeypatch):
    """A process that never receives a large lot starts no helper; its first large lot starts
    one (and is read here, alone, while the helper loads)."""
    body = fse_env.lot(fse_env.sheets(2).sheets)
    monkeypatch.setattr(parallel_read, "MIN_BYTES", len(body) + 1)
    found = parallel_read.ParallelReader(fse_env.app.config)
    try:
        now = intake.datetime.now(intake.UTC)
        assert found.submit(body, None, now) is None and found._process is None
        monkeypatch.setattr(parallel_read, "MIN_BYTES", len(body))
        assert found.submit(body, None, now) is None and found._process is not None
    finally:
        found.close()
    assert found._process is None
