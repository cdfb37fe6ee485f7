"""Cut uploads: a body shorter than its Content-Length is never processed nor stored under an
Idempotency-Key; a streamed (chunked) body over the limit answers 413, never cut and processed.

The WSGI tests hand the application an environ whose ``wsgi.input`` ends early, as a server
does when the client or a proxy closes mid-body; one test does it over a real socket.
"""

from __future__ import annotations

import io
import socket
import threading

from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app

from amelipro.fse.models import IdempotencyKey, Lot
from amelipro.thirdparty.models import BankStatementRecord as BankStatement
from amelipro.xmlcore.arl import read_arl
from tests.support import count_rows


def _call(app, path: str, body: bytes, headers: dict, *, announced: int | None = None,
          chunked: bool = False):
    env = EnvironBuilder(path=path, method="POST", data=b"", headers=headers).get_environ()
    env["wsgi.input"] = io.BytesIO(body)
    if chunked:
        env.pop("CONTENT_LENGTH", None)
        env["HTTP_TRANSFER_ENCODING"] = "chunked"
        env["wsgi.input_terminated"] = True  # as gunicorn and werkzeug's server say
    else:
        env["CONTENT_LENGTH"] = str(len(body) if announced is None else announced)
    chunks, status, response_headers = run_wsgi_app(app, env, buffered=True)
    return int(status.split()[0]), b"".join(chunks), response_headers


def _lot_headers(env, **extra) -> dict:
    return {"Authorization": f"Bearer {env.token}", "Content-Type": "application/xml", **extra}


def test_cut_lot_is_not_processed_nor_stored_under_its_key_and_the_retry_works(fse_env):
    app = fse_env.app
    body = fse_env.lot(fse_env.sheets(2).sheets)
    headers = _lot_headers(fse_env, **{"Idempotency-Key": "cut-1"})
    status, data, _ = _call(app, "/api/v1/lots", body[: len(body) // 2], headers, announced=len(body))
    assert status == 400
    arl = read_arl(data)
    assert arl.status.value == "negatif" and [e.code for e in arl.errors] == ["GEN-BODY"]
    assert count_rows(app, Lot) == 0 and count_rows(app, IdempotencyKey) == 0
    # The documented retry: same key, same (now whole) body.
    status, data, _ = _call(app, "/api/v1/lots", body, headers)
    assert status == 201, data[:500]
    assert read_arl(data).accepted == 2 and count_rows(app, Lot) == 1


def test_cut_dry_run_is_refused(fse_env):
    body = fse_env.lot(fse_env.sheets(1).sheets)
    status, data, _ = _call(fse_env.app, "/api/v1/fse/validate", body[:-10], _lot_headers(fse_env),
                            announced=len(body))
    assert status == 400 and [e.code for e in read_arl(data).errors] == ["GEN-BODY"]


def test_chunked_lot_over_the_limit_413_not_cut(fse_env):
    app = fse_env.app
    body = fse_env.lot(fse_env.sheets(3).sheets)
    app.config["MAX_CONTENT_LENGTH"] = len(body) - 1
    status, data, _ = _call(app, "/api/v1/lots", body, _lot_headers(fse_env), chunked=True)
    assert status == 413 and [e.code for e in read_arl(data).errors] == ["GEN-413"]
    assert count_rows(app, Lot) == 0
    app.config["MAX_CONTENT_LENGTH"] = len(body)  # exactly at the limit: accepted whole
    status, data, _ = _call(app, "/api/v1/lots", body, _lot_headers(fse_env), chunked=True)
    assert status == 201 and read_arl(data).accepted == 3


def _statement_headers(app, make_professional, api_token) -> dict:
    pro = make_professional()
    return {"Authorization": f"Bearer {api_token(pro)}", "Content-Type": "text/csv"}


CSV = ("date;date_valeur;libelle;reference;montant\n"
       + "".join(f"27/05/2026;27/05/2026;VIR CPAM {i};;{i},00\n" for i in range(1, 40))).encode()


def test_chunked_statement_over_the_limit_413_and_nothing_imported(app, make_professional, api_token):
    headers = _statement_headers(app, make_professional, api_token)
    app.config["MAX_CONTENT_LENGTH"] = len(CSV) // 2
    status, data, _ = _call(app, "/api/v1/statements", CSV, headers, chunked=True)
    assert status == 413 and b"GEN-413" in data
    assert count_rows(app, BankStatement) == 0


def test_cut_statement_400_and_nothing_imported(app, make_professional, api_token):
    headers = _statement_headers(app, make_professional, api_token)
    status, data, _ = _call(app, "/api/v1/statements", CSV[:100], headers, announced=len(CSV))
    assert status == 400 and b"GEN-BODY" in data
    assert count_rows(app, BankStatement) == 0
    status, _, _ = _call(app, "/api/v1/statements", CSV, headers)
    assert status == 201 and count_rows(app, BankStatement) == 1


def test_cut_form_upload_is_refused_before_the_form_is_read(app):
    """Web forms (multipart uploads) go through the same check, before CSRF reads the form."""
    body = b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nabc\r\n--b--\r\n"
    status, data, _ = _call(app, "/connexion", body[:20],
                            {"Content-Type": "multipart/form-data; boundary=b", "Accept": "text/html"},
                            announced=len(body))
    assert status == 400 and b"GEN-BODY" in data


def test_cut_upload_over_a_real_socket(fse_env):
    """A client that closes its side mid-body, against a real HTTP server."""
    app = fse_env.app
    body = fse_env.lot(fse_env.sheets(1).sheets)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        head = (f"POST /api/v1/lots HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\n"
                f"Authorization: Bearer {fse_env.token}\r\nIdempotency-Key: sock-1\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(head + body[: len(body) // 3])
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"400", answer[:300]
    assert b"GEN-BODY" in rest
    assert count_rows(app, Lot) == 0 and count_rows(app, IdempotencyKey) == 0
