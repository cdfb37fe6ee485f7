"""``amelipro client sign`` and ``amelipro client submit`` against the real application
(served over HTTP by werkzeug in a thread), with the test PKI."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from amelipro.fse.client import SubmitResult, submit_lot
from amelipro.xmlcore.arl import read_arl
from amelipro.xmlcore.lot import read_lot
from amelipro.xmlcore.safe import parse_untrusted
from amelipro.xmlcore.signature import verify_signed_element
from tests.fixtures_pki import RPPS_MEDECIN

DATA = Path(__file__).resolve().parents[1] / "data" / "fse"


@pytest.fixture
def served(app):
    """The app over real HTTP on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def _sign(runner, source, holder, out):
    """``amelipro client sign SOURCE --key … --cert … --out OUT`` with ``holder``'s key."""
    return runner.invoke(args=["client", "sign", str(source), "--key", str(holder.key_path),
                               "--cert", str(holder.cert_path), "--out", str(out)])


def test_sign_an_fse_file(runner, pki, verify_policy, tmp_path):
    out = tmp_path / "signed.xml"
    result = _sign(runner, DATA / "fse-valide.xml", pki.medecin, out)
    assert result.exit_code == 0, result.output
    assert "FSE signée" in result.output and RPPS_MEDECIN in result.output
    verified = verify_signed_element(parse_untrusted(out.read_bytes()), verify_policy)
    assert verified.rpps == RPPS_MEDECIN


def test_sign_a_lot_file_signs_each_fse(runner, pki, verify_policy, tmp_path):
    out = tmp_path / "lot.xml"
    result = _sign(runner, DATA / "lot-valide.xml", pki.medecin_ec, out)
    assert result.exit_code == 0, result.output
    assert "lot signé (1 FSE)" in result.output
    reading = read_lot(out.read_bytes(), verify_policy)
    assert [o.ok for o in reading.outcomes] == [True]
    assert reading.outcomes[0].verified.signature_method == "ECDSA_SHA256"
    # Signing again replaces the signature (exactly one per FSE).
    again = tmp_path / "lot2.xml"
    _sign(runner, out, pki.medecin, again)
    assert read_lot(again.read_bytes(), verify_policy).outcomes[0].verified.signature_method == "RSA_SHA256"


def test_sign_refuses_other_documents(runner, pki, tmp_path):
    other = tmp_path / "x.xml"
    other.write_bytes(b"<facture/>")
    result = _sign(runner, other, pki.medecin, tmp_path / "o.xml")
    assert result.exit_code == 1 and "ni FSE ni lot" in result.output
    hostile = _sign(runner, DATA / "hostile" / "xxe-file.xml", pki.medecin, tmp_path / "o.xml")
    assert hostile.exit_code == 1 and "XML-006" in hostile.output
    assert not (tmp_path / "o.xml").exists()


def test_submit_a_signed_lot_to_the_gateway(runner, served, fse_env, tmp_path):
    lot = tmp_path / "lot.xml"
    lot.write_bytes(fse_env.lot(fse_env.sheets(3).sheets))
    arl_path = tmp_path / "arl.xml"
    args = ["client", "submit", str(lot), "--url", served, "--token", fse_env.token,
            "--out", str(arl_path), "--gateway-cert", str(fse_env.pki.gateway.cert_path)]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "HTTP 201" in result.output
    assert "ARL POSITIF" in result.output and "3 acceptée(s), 0 rejetée(s)" in result.output
    assert "Signature de l'ARL vérifiée" in result.output
    first = read_arl(arl_path.read_bytes())
    # The same file again: same idempotency key, the first answer replayed, nothing recorded twice.
    again = runner.invoke(args=args)
    assert again.exit_code == 0, again.output
    assert "réponse d'origine rejouée" in again.output
    assert read_arl(arl_path.read_bytes()).lot_reference == first.lot_reference


def test_submit_reports_rejections_and_negative_arls_in_french(runner, served, fse_env, tmp_path):
    mixed = tmp_path / "mixed.xml"
    mixed.write_bytes(fse_env.lot(fse_env.sheets(4, invalid=0.5, seed=5).sheets, number="L-MIX"))
    result = runner.invoke(args=["client", "submit", str(mixed), "--url", served, "--token", fse_env.token])
    assert result.exit_code == 3, result.output
    assert "rejetée, " in result.output and "[FSE-R-" in result.output and "→" in result.output
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<?xml version='1.0'?><!DOCTYPE x><Lot/>")
    result = runner.invoke(args=["client", "submit", str(broken), "--url", served + "/api/v1/lots",
                                 "--token", fse_env.token])
    assert result.exit_code == 2, result.output
    assert "ARL NÉGATIF" in result.output and "[XML-004]" in result.output


def test_submit_with_a_bad_token(runner, served, fse_env, tmp_path):
    lot = tmp_path / "lot.xml"
    lot.write_bytes(fse_env.lot(fse_env.sheets(1).sheets))
    result = runner.invoke(args=["client", "submit", str(lot), "--url", served, "--token", "faux"])
    assert result.exit_code == 2, result.output
    assert "HTTP 401" in result.output


def test_submit_retries_with_the_same_key_then_succeeds():
    calls: list[tuple[str, bytes]] = []
    answers = [OSError("connexion refusée"), (503, b"", {"Retry-After": "2"}),
               (409, b"", {}), (201, b"<ARL/>", {"Content-Type": "application/xml"})]

    def opener(request: urllib.request.Request, timeout: float):
        calls.append((request.get_header("Idempotency-key"), request.data))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    sleeps: list[float] = []
    result = submit_lot(b"<Lot/>", "http://gw", "t", opener=opener, sleep=sleeps.append, backoff=0.5)
    assert isinstance(result, SubmitResult) and result.status == 201 and result.attempts == 4
    assert len({key for key, _ in calls}) == 1 and all(body == b"<Lot/>" for _, body in calls)
    assert sleeps == [0.5, 2.0, 2.0]


def test_submit_does_not_retry_a_refusal():
    calls = []

    def opener(request, timeout):
        calls.append(1)
        return 422, b"<ARL/>", {}

    assert submit_lot(b"<Lot/>", "http://gw", "t", opener=opener, sleep=lambda s: None).status == 422
    assert calls == [1]


def test_submit_gives_up_after_the_retries(runner, tmp_path):
    lot = tmp_path / "lot.xml"
    lot.write_bytes(b"<Lot/>")
    # A port nobody listens on: connection refused on every attempt.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = runner.invoke(args=["client", "submit", str(lot), "--url", f"http://127.0.0.1:{port}",
                                 "--token", "t", "--retries", "0"])
    assert result.exit_code == 4 and "Envoi impossible après 1 essai(s)" in result.output
    assert "Renvoyez le même fichier plus tard" in result.output


def _answers(*answers):
    queue = list(answers)

    def opener(request, timeout):
        return queue.pop(0)

    return opener


def test_submit_waits_as_told_by_retry_after():
    sleeps: list[float] = []
    result = submit_lot(b"<Lot/>", "http://gw", "t", sleep=sleeps.append, max_wait=200,
                        opener=_answers((503, b"", {"Retry-After": "90"}), (409, b"", {"Retry-After": "5"}),
                                        (201, b"<ARL/>", {})))
    assert result.status == 201 and sleeps == [90.0, 5.0]


def test_submit_stops_when_the_wait_budget_is_spent_and_says_send_later():
    from amelipro.fse.client import EXIT_SEND_LATER, exit_code

    sleeps: list[float] = []
    result = submit_lot(b"<Lot/>", "http://gw", "t", sleep=sleeps.append, max_wait=20,
                        opener=_answers((409, b'{"errors": [{"code": "FSE-IDEM-003"}]}', {"Retry-After": "5"}),
                                        (409, b"", {"Retry-After": "5"}), (503, b"", {"Retry-After": "30"})))
    assert result.status == 503 and result.send_later and result.retry_after == 30.0
    assert sleeps == [5.0, 5.0] and result.attempts == 3
    assert exit_code(result, None) == EXIT_SEND_LATER


def test_a_cut_body_is_sent_again_but_a_refusal_is_final():
    from amelipro.fse.client import EXIT_REFUSED, exit_code

    cut = (400, b'{"errors": [{"code": "GEN-BODY"}]}', {})
    result = submit_lot(b"<Lot/>", "http://gw", "t", sleep=lambda s: None,
                        opener=_answers(cut, (201, b"<ARL/>", {})))
    assert result.status == 201 and result.attempts == 2
    refused = submit_lot(b"<Lot/>", "http://gw", "t", sleep=lambda s: None,
                         opener=_answers((400, b'{"errors": [{"code": "GEN-400"}]}', {})))
    assert refused.attempts == 1 and exit_code(refused, None) == EXIT_REFUSED


def test_submit_command_exit_4_while_the_key_is_in_progress(runner, served, fse_env, tmp_path):
    """A claim « en cours » (another request with the same file): nothing recorded, exit 4."""
    from amelipro.fse import idempotency
    from amelipro.fse.client import default_idempotency_key

    data = fse_env.lot(fse_env.sheets(1).sheets)
    lot = tmp_path / "lot.xml"
    lot.write_bytes(data)
    with fse_env.app.app_context():
        session = fse_env.app.extensions["amelipro.sessionmaker"]()
        idempotency.claim(session, fse_env.doctor.id, default_idempotency_key(data),
                          idempotency.request_hash("POST", "/api/v1/lots", data))
        session.close()
    result = runner.invoke(args=["client", "submit", str(lot), "--url", served, "--token", fse_env.token,
                                 "--max-wait", "1"])
    assert result.exit_code == 4, result.output
    assert "HTTP 409" in result.output and "Rien n'est enregistré" in result.output
