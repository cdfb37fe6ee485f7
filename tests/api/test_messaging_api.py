"""Messagerie API: threads, replies, attachments scoped to the token's professional; bad input;
the granted complaint paid by the next liquidation appears in GET /api/v1/returns."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from amelipro.auth.models import Professional
from amelipro.messaging import services
from amelipro.messaging.models import Attachment, Message, Thread
from amelipro.thirdparty.liquidation import LiquidationConfig, run_liquidation
from tests.fixtures_messaging import EXE_BYTES, HTML_BYTES, pdf_bytes, png_bytes


def _h(token):
    return {"Authorization": f"Bearer {token}"}


def _multipart(client, path, token, fields, files=()):
    values = MultiDict(fields)
    for name, content in files:
        values.add("pieces", FileStorage(io.BytesIO(content), filename=name))
    boundary, body = encode_multipart(values)
    return client.post(path, data=body, headers=_h(token), content_type=f"multipart/form-data; boundary={boundary}")


def _counts(db_session):
    db_session.expire_all()
    return tuple(db_session.scalar(select(func.count()).select_from(m)) for m in (Thread, Message, Attachment))


def test_create_read_reply_download(client, db_session, payment_case, api_token):
    token = api_token(payment_case.doctor)
    r = _multipart(client, "/api/v1/threads", token,
                   {"subject": "Rejet CAB-DOUBLE", "category": "reclamation_paiement", "body": "<b>Voir PDF</b>",
                    "payment_id": str(payment_case.rejected_id)},
                   [("justificatif.pdf", pdf_bytes()), ("scan.png", png_bytes())])
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert r.headers["Location"] == f"/api/v1/threads/{body['id']}"
    assert body["links"]["payment_id"] == payment_case.rejected_id and body["links"]["fse_id"]
    (message,) = body["messages"]
    assert message["body"] == "<b>Voir PDF</b>"  # text, as typed
    assert [a["content_type"] for a in message["attachments"]] == ["application/pdf", "image/png"]
    download = client.get(message["attachments"][0]["href"], headers=_h(token))
    assert download.status_code == 200 and download.data == pdf_bytes()
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    r = client.post(f"/api/v1/threads/{body['id']}/messages", json={"body": "Complément"}, headers=_h(token))
    assert r.status_code == 201 and r.get_json()["from"] == "pro"
    listing = client.get("/api/v1/threads", headers=_h(token)).get_json()
    assert listing["total"] == 1 and listing["threads"][0]["unread"] == 0
    assert client.get("/api/v1/threads?q=introuvable", headers=_h(token)).get_json()["total"] == 0
    r = client.post("/api/v1/threads", json={"subject": "Q", "category": "question", "body": "x",
                                             "links": {"lot_id": None}}, headers=_h(token))
    assert r.status_code == 201


def test_bad_input_answers_with_codes_and_writes_nothing(client, db_session, payment_case, api_token):
    token = api_token(payment_case.doctor)
    fields = {"subject": "S", "category": "question", "body": "b"}
    for files, status, code in [
        ([("gros.pdf", pdf_bytes() + b"%" * (6 * 1024 * 1024))], 413, "MSG-010"),
        ([("ok.pdf", pdf_bytes()), ("setup.pdf", EXE_BYTES)], 415, "MSG-011"),
        ([("page.jpg", HTML_BYTES)], 415, "MSG-011"),
        ([(f"{i}.pdf", pdf_bytes()) for i in range(6)], 400, "MSG-012"),
    ]:
        r = _multipart(client, "/api/v1/threads", token, fields, files)
        assert r.status_code == status and r.get_json()["errors"][0]["code"] == code, (code, r.get_json())
    r = _multipart(client, "/api/v1/threads", token, fields, [("page.jpg", HTML_BYTES)])
    assert r.get_json()["errors"][0]["detected"] == "text/html"
    for payload, status, code in [
        ({"subject": "S", "category": "question", "body": "x" * (1024 * 1024)}, 413, "MSG-004"),
        ({"subject": "S", "category": "autre", "body": "b"}, 400, "MSG-002"),
        ({"subject": "S", "category": "penalites", "body": "b"}, 400, "MSG-002"),
        ({"subject": "", "category": "question", "body": "b"}, 400, "MSG-001"),
        ({"subject": ["S"], "category": "question", "body": {"x": 1}}, 400, "MSG-001"),
        ({"subject": "S", "category": "question", "body": "b", "payment_id": payment_case.other_payment_id}, 404,
         "MSG-042"),
        ({"subject": "S", "category": "question", "body": "b", "links": {"fse_id": "1 OR 1=1"}}, 404, "MSG-042"),
        ({"subject": "S", "category": "question", "body": "b", "links": {"virement_id": True}}, 404, "MSG-042"),
    ]:
        r = client.post("/api/v1/threads", json=payload, headers=_h(token))
        assert r.status_code == status and r.get_json()["errors"][0]["code"] == code, (payload, r.get_json())
    for raw in (b"not json", b"[1, 2]", b""):
        r = client.post("/api/v1/threads", data=raw, headers=_h(token), content_type="application/json")
        assert r.status_code == 400
    assert _counts(db_session) == (0, 0, 0)


def test_isolation_between_professionals(client, db_session, payment_case, api_token):
    token_a, token_b = api_token(payment_case.doctor), api_token(payment_case.other)
    r = _multipart(client, "/api/v1/threads", token_b, {"subject": "Secret B", "category": "question", "body": "b"},
                   [("b.pdf", pdf_bytes("B"))])
    thread_b = r.get_json()
    attachment_b = thread_b["messages"][0]["attachments"][0]["id"]
    for method, path, payload in [("get", f"/api/v1/threads/{thread_b['id']}", None),
                                  ("post", f"/api/v1/threads/{thread_b['id']}/messages", {"body": "intrus"}),
                                  ("post", f"/api/v1/threads/{thread_b['id']}/read", None),
                                  ("get", f"/api/v1/attachments/{attachment_b}", None)]:
        r = client.open(path, method=method.upper(), json=payload, headers=_h(token_a))
        assert r.status_code == 404 and r.get_json()["errors"][0]["code"] in ("MSG-040", "MSG-041"), path
    assert client.get("/api/v1/threads", headers=_h(token_a)).get_json()["total"] == 0
    assert "Secret B" not in client.get("/api/v1/threads?q=Secret", headers=_h(token_a)).get_data(as_text=True)


def test_agent_tokens_cannot_write_as_professionals(client, payment_case, api_token):
    token = api_token(payment_case.agent)
    r = client.post("/api/v1/threads", json={"subject": "S", "category": "question", "body": "b"}, headers=_h(token))
    assert r.status_code == 403 and r.get_json()["errors"][0]["code"] == "MSG-030"


def test_granted_complaint_is_paid_and_published_in_the_returns_feed(app, client, db_session, payment_case,
                                                                      api_token, tp_session, tp_lookup):
    token_a, token_b = api_token(payment_case.doctor), api_token(payment_case.other)
    feed = client.get("/api/v1/returns", headers=_h(token_a)).get_json()
    since = feed["next"]
    r = client.post("/api/v1/threads", headers=_h(token_a), json={
        "subject": "Rejet", "category": "reclamation_paiement", "body": "Déjà payée ?",
        "links": {"payment_id": payment_case.rejected_id}})
    thread_id = r.get_json()["id"]
    with app.test_request_context():
        with tp_session() as session:
            agent = session.get(Professional, payment_case.agent.id)
            services.close(session, agent, thread_id, services.Decision("accordee", "21,00"))
    body = client.get(f"/api/v1/threads/{thread_id}", headers=_h(token_a)).get_json()
    assert body["outcome"] == "accordee" and body["outcome_amount"] == "21.00" and body["unread"] == 1
    assert client.post(f"/api/v1/threads/{thread_id}/read", headers=_h(token_a)).get_json()["marked_read"] == 1
    assert client.get(f"/api/v1/returns?since={since}", headers=_h(token_a)).get_json()["returns"] == []
    run_liquidation(tp_session, LiquidationConfig(today=date(2026, 6, 1)), lookup=tp_lookup)
    feed = client.get(f"/api/v1/returns?since={since}", headers=_h(token_a)).get_json()
    # CAB-RETARD (still pending) is liquidated by the same run, then the adjustment is paid
    assert [r["kind"] for r in feed["returns"]] == ["fse", "regularisation"]
    cursors = [int(r["cursor"]) for r in feed["returns"]]
    assert cursors == sorted(cursors) and feed["next"] == str(cursors[-1])
    item = feed["returns"][-1]
    assert item["kind"] == "regularisation" and item["status"] == "regularisation"
    assert item["amounts"]["amo_paid"] == "21.00" and item["adjustment"]["kind"] == "reclamation"
    assert item["invoice_number"] == "CAB-DOUBLE" and item["virement"]["value_date"] == "2026-06-01"
    assert int(feed["next"]) > int(since)
    assert client.get(f"/api/v1/returns?since={feed['next']}", headers=_h(token_a)).get_json()["returns"] == []
    # The XML form (rsp.xsd v1) has no regularisation element: the item is left out, the cursor moves
    xml = client.get(f"/api/v1/returns?since={since}", headers={**_h(token_a), "Accept": "application/xml"})
    assert xml.status_code == 200 and xml.data.count(b"<Retour ") == 1 and f'suivant="{feed["next"]}"'.encode() in xml.data
    # The virement carries it; B sees nothing of it
    virements = client.get("/api/v1/virements", headers=_h(token_a)).get_json()["virements"]
    june = [v for v in virements if v["value_date"] == "2026-06-01"]
    # 21 € for CAB-RETARD + the 21 € adjustment in the same transfer
    assert june and Decimal(june[0]["amount"]) == Decimal("42.00") and june[0]["fse_count"] == 1
    other = client.get("/api/v1/returns", headers=_h(token_b)).get_json()
    assert all(r["kind"] == "fse" for r in other["returns"]) and "CAB-DOUBLE" not in str(other)
