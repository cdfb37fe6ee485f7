"""Messagerie pages: a complaint from a rejected payment with its PDF, the caisse's answer and
decision, the adjustment paid by the next liquidation; bad input; isolation between
professionals; agent-only actions."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from amelipro.audit import AuditEvent
from amelipro.auth.models import Professional
from amelipro.errors import AmeliproError
from amelipro.fse.models import StoredFse
from amelipro.messaging import queries, services
from amelipro.messaging.models import Attachment, Message, OutboxMessage, Thread
from amelipro.thirdparty.liquidation import LiquidationConfig, run_liquidation
from amelipro.thirdparty.models import Adjustment, Payment, PaymentTransition
from tests.conftest import PASSWORD
from tests.fixtures_messaging import EXE_BYTES, HTML_BYTES, pdf_bytes, png_bytes

NEXT_LIQ = date(2026, 6, 1)


def _login(client, login):
    client.post("/deconnexion", data={"csrf_token": _csrf(client, "/")})
    page = client.get("/connexion").get_data(as_text=True)
    r = client.post("/connexion", data={"login": login, "password": PASSWORD, "csrf_token": _token(page)})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]


def _token(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert m
    return m.group(1)


def _csrf(client, path):
    page = client.get(path)
    html = page.get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    return m.group(1) if m else ""


def _new(client, query="", *, files=(), **fields):
    token = _csrf(client, f"/messagerie/nouveau{query}")
    data = {"csrf_token": token, "categorie": "question", "objet": "Objet", "message": "Bonjour", **fields}
    return post_multipart(client, f"/messagerie/nouveau{query}", data, files)


def post_multipart(client, path, fields, files=(), **kwargs):
    """Encoded in memory (the test client would spool a large body to an unclosed temp file)."""
    values = MultiDict(fields)
    for name, content in files:
        values.add("pieces", FileStorage(io.BytesIO(content), filename=name))
    boundary, body = encode_multipart(values)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}", **kwargs)


def _counts(db_session):
    db_session.expire_all()
    return tuple(db_session.scalar(select(func.count()).select_from(m)) for m in (Thread, Message, Attachment))


def test_complaint_answer_grant_and_liquidation_pays_it(app, client, db_session, payment_case, tp_session, tp_lookup):
    case = payment_case
    _login(client, "dr.msg")
    payment_page = client.get(f"/paiements/factures/{case.rejected_id}").get_data(as_text=True)
    assert f'href="/messagerie/nouveau?paiement={case.rejected_id}"' in payment_page
    form = client.get(f"/messagerie/nouveau?paiement={case.rejected_id}").get_data(as_text=True)
    # Prefilled with the facts: invoice, dates, amounts, reject code and its text; never the NIR
    for fact in ("CAB-DOUBLE", "2900 005", "11/05/2026", "21,00", "Patient : initiales non communiquées"):
        assert fact in form, fact
    assert "1800175001001" not in form
    body = re.search(r'<textarea id="message"[^>]*>(.*?)</textarea>', form, re.S).group(1)
    r = _new(client, f"?paiement={case.rejected_id}", files=[("justificatif.pdf", pdf_bytes())],
             categorie="reclamation_paiement", objet="Réclamation : rejet CAB-DOUBLE",
             message=body.replace("&#39;", "'"), paiement=str(case.rejected_id))
    assert r.status_code == 302
    thread_id = int(r.headers["Location"].split("/")[2].split("?")[0])
    thread = db_session.get(Thread, thread_id)
    assert thread.payment_id == case.rejected_id and thread.category.value == "reclamation_paiement"
    assert [a.content_type for a in thread.messages[0].attachments] == ["application/pdf"]

    # The agent sees it unassigned, with the linked payment read only, answers and grants 21,00 €
    _login(client, "agent.caisse")
    inbox = client.get("/caisse/").get_data(as_text=True)
    assert "Réclamation : rejet CAB-DOUBLE" in inbox
    page = client.get(f"/caisse/{thread_id}").get_data(as_text=True)
    assert 'data-testid="linked-payment"' in page and "2900 005" in page
    token = _token(page)
    assert client.post(f"/caisse/{thread_id}/attribuer", data={"csrf_token": token}).status_code == 302
    assert "Réclamation : rejet CAB-DOUBLE" in client.get("/caisse/?boite=les_miennes").get_data(as_text=True)
    r = client.post(f"/caisse/{thread_id}/repondre", data={"csrf_token": token, "message": "Nous vérifions."})
    assert r.status_code == 302
    r = client.post(f"/caisse/{thread_id}/cloturer",
                    data={"csrf_token": token, "issue": "accordee", "montant": "21,00", "motif": ""})
    assert r.status_code == 302
    db_session.expire_all()
    thread = db_session.get(Thread, thread_id)
    assert thread.status.value == "close" and thread.outcome.value == "accordee"
    assert thread.outcome_amount == Decimal("21.00")
    adjustment = db_session.get(Adjustment, thread.adjustment_id)
    assert adjustment.amount == Decimal("21.00") and adjustment.status.value == "due"
    assert adjustment.payment_id == case.rejected_id
    decision = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "message.decision"))
    assert decision.detail_dict["amount"] == "21.00" and decision.actor_login == "agent.caisse"
    # Notifications, without the content
    outbox = db_session.scalars(select(OutboxMessage).where(OutboxMessage.professional_id == case.doctor.id)).all()
    assert len(outbox) == 2 and all(o.subject == "Vous avez un nouveau message" for o in outbox)
    assert all("vérifions" not in o.body and "21" not in o.body for o in outbox)

    # The doctor sees two unread answers, in the navigation and on the home page
    _login(client, "dr.msg")
    home = client.get("/").get_data(as_text=True)
    assert re.search(r'data-testid="nav-unread">2<', home)
    assert "Messages non lus" in home
    page = client.get(f"/messagerie/{thread_id}").get_data(as_text=True)
    assert "régularisation de 21,00" in page and 'data-outcome="accordee"' in page
    # GET never writes: still unread until « Marquer comme lu »
    assert re.search(r'data-testid="nav-unread">2<', client.get("/messagerie/").get_data(as_text=True))
    client.post(f"/messagerie/{thread_id}/lu", data={"csrf_token": _token(page)})
    assert 'data-testid="nav-unread"' not in client.get("/messagerie/").get_data(as_text=True)

    # Paiements: due now, paid by the next liquidation with the day's virement, in the feed
    assert "Accordée, à payer à la prochaine liquidation" in client.get(
        f"/paiements/factures/{case.rejected_id}").get_data(as_text=True)
    result = run_liquidation(tp_session, LiquidationConfig(today=NEXT_LIQ), lookup=tp_lookup)
    assert result.adjustments == 1 and result.adjustments_amount == Decimal("21.00")
    again = run_liquidation(tp_session, LiquidationConfig(today=NEXT_LIQ), lookup=tp_lookup)
    assert again.adjustments == 0  # paid once
    page = client.get(f"/paiements/factures/{case.rejected_id}").get_data(as_text=True)
    assert 'data-adjustment="payee"' in page and "valeur 01/06/2026" in page
    assert 'data-event="regul_accordee"' in page and 'data-event="regul_payee"' in page
    dashboard = client.get("/paiements/").get_data(as_text=True)
    assert 'data-testid="adjustments"' in dashboard
    virements = client.get("/paiements/virements").get_data(as_text=True)
    assert "21,00" in virements
    # Another professional sees none of it
    _login(client, "dr.autre")
    assert 'data-testid="adjustments"' not in client.get("/paiements/").get_data(as_text=True)
    assert client.get(f"/paiements/factures/{case.rejected_id}").status_code == 404
    assert client.get(f"/messagerie/{thread_id}").status_code == 404
    assert "CAB-DOUBLE" not in client.get("/paiements/penalites?mois=2026-06").get_data(as_text=True)
    events = [t.event for t in db_session.scalars(select(PaymentTransition).where(
        PaymentTransition.payment_id == case.rejected_id).order_by(PaymentTransition.id))]
    assert events[-2:] == ["regul_accordee", "regul_payee"]


def test_penalty_claim_carries_the_months_csv_and_total(app, client, db_session, payment_case):
    _login(client, "dr.msg")
    page = client.get("/paiements/penalites?mois=2026-05").get_data(as_text=True)
    assert 'href="/messagerie/nouveau?penalites=2026-05"' in page
    expected_csv = client.get("/paiements/penalites.csv?mois=2026-05").get_data()
    form = client.get("/messagerie/nouveau?penalites=2026-05").get_data(as_text=True)
    total = re.search(r'data-testid="claim-total">([^<]+)<', form).group(1)
    assert total != "0,00\xa0€"
    r = _new(client, "?penalites=2026-05", categorie="penalites", objet="Pénalités 05/2026",
             message="Je réclame les pénalités.", penalites="2026-05")
    assert r.status_code == 302
    thread = db_session.scalars(select(Thread)).one()
    assert thread.category.value == "penalites" and thread.claim_month == date(2026, 5, 1)
    (csv_file,) = thread.messages[0].attachments
    assert csv_file.filename == "penalites-2026-05.csv" and csv_file.data == expected_csv
    assert thread.claimed_amount > 0
    assert f"{thread.claimed_amount:.2f}".replace(".", ",") in total
    assert f"{thread.claimed_amount:.2f}".replace(".", ",") in csv_file.data.decode("utf-8-sig").splitlines()[-1]
    # The same month cannot be claimed twice while the claim is pending
    r = _new(client, "?penalites=2026-05", categorie="penalites", objet="Encore", message="Encore",
             penalites="2026-05")
    assert r.status_code == 409 and "MSG-022" in r.get_data(as_text=True)


def test_refusal_carries_its_reason_and_grants_nothing(client, db_session, payment_case):
    _login(client, "dr.msg")
    r = _new(client, f"?paiement={payment_case.late_id}", categorie="reclamation_paiement", objet="Retard",
             message="Paiement en retard", paiement=str(payment_case.late_id))
    thread_id = int(r.headers["Location"].split("/")[2].split("?")[0])
    _login(client, "agent.caisse")
    token = _csrf(client, f"/caisse/{thread_id}")
    r = client.post(f"/caisse/{thread_id}/cloturer", data={"csrf_token": token, "issue": "refusee", "motif": ""})
    assert r.status_code == 400 and "MSG-033" in r.get_data(as_text=True)
    r = client.post(f"/caisse/{thread_id}/cloturer", data={"csrf_token": token, "issue": "accordee",
                                                            "montant": "-3"})
    assert r.status_code == 400 and "MSG-032" in r.get_data(as_text=True)
    r = client.post(f"/caisse/{thread_id}/cloturer",
                    data={"csrf_token": token, "issue": "refusee", "motif": "Paiement en cours de traitement."})
    assert r.status_code == 302
    db_session.expire_all()
    thread = db_session.get(Thread, thread_id)
    assert thread.outcome.value == "refusee" and thread.outcome_reason == "Paiement en cours de traitement."
    assert db_session.scalar(select(func.count()).select_from(Adjustment)) == 0
    # Decided once: a second decision is refused, nothing more is granted
    r = client.post(f"/caisse/{thread_id}/cloturer", data={"csrf_token": token, "issue": "accordee",
                                                            "montant": "5"})
    assert r.status_code == 409 and "MSG-020" in r.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Adjustment)) == 0
    # Closed: no more replies
    _login(client, "dr.msg")
    page = client.get(f"/messagerie/{thread_id}").get_data(as_text=True)
    assert "Motif : Paiement en cours de traitement." in page
    r = client.post(f"/messagerie/{thread_id}/repondre", data={"csrf_token": _token(page), "message": "Encore"})
    assert r.status_code == 409 and "MSG-020" in r.get_data(as_text=True)


def test_question_cannot_be_granted_an_amount(client, db_session, payment_case):
    _login(client, "dr.msg")
    r = _new(client, objet="Question", message="Bonjour")
    thread_id = int(r.headers["Location"].split("/")[2].split("?")[0])
    _login(client, "agent.caisse")
    token = _csrf(client, f"/caisse/{thread_id}")
    r = client.post(f"/caisse/{thread_id}/cloturer", data={"csrf_token": token, "issue": "accordee",
                                                            "montant": "10"})
    assert r.status_code == 409 and "MSG-034" in r.get_data(as_text=True)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "content", "status", "code"), [
    ("gros.pdf", pdf_bytes() + b"%" * (6 * 1024 * 1024), 413, "MSG-010"),
    ("facture.pdf", EXE_BYTES, 415, "MSG-011"),  # a renamed executable
    ("scan.png", HTML_BYTES, 415, "MSG-011"),  # an HTML file
    ("vide.pdf", b"", 400, "MSG-013"),
])
def test_bad_attachment_is_refused_and_nothing_is_written(client, db_session, payment_case, name, content, status,
                                                          code):
    _login(client, "dr.msg")
    before = _counts(db_session)
    r = _new(client, files=[("ok.png", png_bytes()), (name, content)])
    assert r.status_code == status
    assert code in r.get_data(as_text=True)
    assert _counts(db_session) == before  # no message without its attachment


def test_too_many_attachments(client, db_session, payment_case):
    _login(client, "dr.msg")
    r = _new(client, files=[(f"p{i}.pdf", pdf_bytes()) for i in range(6)])
    assert r.status_code == 400 and "MSG-012" in r.get_data(as_text=True)
    assert _counts(db_session) == (0, 0, 0)


def test_pdf_with_script_is_stored_but_only_downloaded(client, db_session, payment_case):
    _login(client, "dr.msg")
    assert _new(client, files=[("..\\..\\etc/pass\x07wd\x1b.pdf", pdf_bytes(script=True))]).status_code == 302
    attachment = db_session.scalars(select(Attachment)).one()
    assert attachment.content_type == "application/pdf"
    assert attachment.filename == "passwd.pdf"
    assert not re.search(r"[/\\\x00-\x1f]", attachment.filename)
    r = client.get(f"/messagerie/pieces/{attachment.id}")
    assert r.status_code == 200 and r.data == attachment.data
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in r.headers["Content-Security-Policy"]


def test_message_text_limits_and_html_shown_as_text(client, db_session, payment_case):
    _login(client, "dr.msg")
    r = _new(client, message="x" * (1024 * 1024))  # over the form field limit: refused while parsing
    assert r.status_code == 413 and "GEN-413" in r.get_data(as_text=True)
    r = _new(client, message="x" * 20_001)
    assert r.status_code == 413 and "MSG-004" in r.get_data(as_text=True)
    assert _counts(db_session) == (0, 0, 0)
    assert _new(client, message="   ").status_code == 400
    assert _new(client, objet="", message="a").status_code == 400
    assert _new(client, categorie="penalites").status_code == 400  # only from the penalties page
    r = _new(client, objet="<b>Objet</b>", message='<script>alert("x")</script><img src=x onerror=alert(1)>')
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page and "&lt;b&gt;Objet&lt;/b&gt;" in page


def test_search_and_paging_over_own_threads(client, db_session, payment_case):
    _login(client, "dr.autre")
    _new(client, objet="Secret de l'autre", message="dossier confidentiel")
    _login(client, "dr.msg")
    for i in range(22):
        _new(client, objet=f"Question {i:02d}", message="texte ordinaire" if i != 7 else "mot rarissime 100%")
    page = client.get("/messagerie/").get_data(as_text=True)
    assert "22 conversation(s)" in page and "Page 1 sur 2" in page
    assert 'href="/messagerie/?page=2">Page suivante' in page
    assert "Question 21" in page and "Question 00" not in page
    assert "Question 00" in client.get("/messagerie/?page=2").get_data(as_text=True)
    found = client.get("/messagerie/?q=rarissime").get_data(as_text=True)
    assert "1 conversation(s)" in found and "Question 07" in found
    assert "1 conversation(s)" in client.get("/messagerie/?q=100%25").get_data(as_text=True)
    assert "0 conversation(s)" in client.get("/messagerie/?q=confidentiel").get_data(as_text=True)
    assert client.get("/messagerie/?page=abc").status_code == 400
    home = client.get("/").get_data(as_text=True)
    assert "Messagerie avec la caisse" in home and "dont 22 en attente de la caisse" in home


# --- isolation and roles ---------------------------------------------------------------------------


def test_another_professionals_thread_attachment_and_outcome_are_404(client, db_session, payment_case):
    _login(client, "dr.autre")
    r = _new(client, files=[("a.pdf", pdf_bytes("secret"))], objet="Secret B")
    other_thread = db_session.scalars(select(Thread)).one()
    other_file = db_session.scalars(select(Attachment)).one()
    _login(client, "dr.msg")
    token = _csrf(client, "/messagerie/")
    for method, path, data in [
        ("get", f"/messagerie/{other_thread.id}", None),
        ("get", f"/messagerie/pieces/{other_file.id}", None),
        ("post", f"/messagerie/{other_thread.id}/repondre", {"csrf_token": token, "message": "intrus"}),
        ("post", f"/messagerie/{other_thread.id}/lu", {"csrf_token": token}),
        ("get", f"/messagerie/nouveau?paiement={payment_case.other_payment_id}", None),
    ]:
        r = getattr(client, method)(path, data=data)
        assert r.status_code == 404, path
        assert "Secret B" not in r.get_data(as_text=True)
    # A complaint on another's payment, forced in the form: refused, nothing written
    before = _counts(db_session)
    r = _new(client, f"?paiement={payment_case.other_payment_id}", paiement=str(payment_case.other_payment_id))
    assert r.status_code == 404 and "MSG-042" in r.get_data(as_text=True)
    r = _new(client, "?virement=999999", virement="999999")
    assert r.status_code == 404
    assert _counts(db_session) == before
    assert "Secret B" not in client.get("/messagerie/").get_data(as_text=True)
    assert "Secret B" not in client.get("/").get_data(as_text=True)


def test_agent_pages_and_actions_are_403_for_professionals(client, db_session, payment_case):
    _login(client, "dr.msg")
    _new(client, objet="Ma question")
    thread = db_session.scalars(select(Thread)).one()
    attachment_id = 1
    token = _csrf(client, "/messagerie/")
    for method, path in [("get", "/caisse/"), ("get", f"/caisse/{thread.id}"), ("post", f"/caisse/{thread.id}/attribuer"),
                         ("post", f"/caisse/{thread.id}/repondre"), ("post", f"/caisse/{thread.id}/cloturer"),
                         ("post", f"/caisse/{thread.id}/lu"), ("get", f"/caisse/pieces/{attachment_id}")]:
        r = getattr(client, method)(path, data={"csrf_token": token, "issue": "accordee", "montant": "10",
                                                "message": "x"} if method == "post" else None)
        assert r.status_code == 403, path
        assert "MSG-030" in r.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Thread, thread.id).assigned_to_id is None
    assert db_session.get(Thread, thread.id).status.value == "ouverte"


def test_inbox_boxes_category_and_age_filters(app, client, db_session, payment_case):
    _login(client, "dr.msg")
    _new(client, objet="Vieille question")
    _new(client, categorie="information", objet="Demande récente")
    old = db_session.scalars(select(Thread).where(Thread.subject == "Vieille question")).one()
    old.created_at = datetime(2026, 5, 11, 9, 0, tzinfo=UTC)  # Monday; today is pinned to Friday 29 May
    db_session.commit()
    _login(client, "agent.caisse")
    page = client.get("/caisse/").get_data(as_text=True)
    assert "Vieille question" in page and "Demande récente" in page
    # 11 May -> 29 May: 12 working days (14 May is Ascension, 25 May Whit Monday)
    assert "12 j. ouvré(s)" in page
    filtered = client.get("/caisse/?anciennete=12").get_data(as_text=True)
    assert "Vieille question" in filtered and "Demande récente" not in filtered
    assert "Vieille question" not in client.get("/caisse/?anciennete=13").get_data(as_text=True)
    by_cat = client.get("/caisse/?categorie=information").get_data(as_text=True)
    assert "Demande récente" in by_cat and "Vieille question" not in by_cat
    for bad in ("boite=x", "categorie=zzz", "anciennete=-1", "anciennete=abc"):
        r = client.get(f"/caisse/?{bad}")
        assert r.status_code == 400 and "MSG-021" in r.get_data(as_text=True), bad
    assert "Vieille question" not in client.get("/caisse/?boite=closes").get_data(as_text=True)
    # the agent home panel
    assert "Caisse : demandes des professionnels" in client.get("/").get_data(as_text=True)


def test_fse_page_opens_a_prefilled_complaint(client, db_session, payment_case):
    _login(client, "dr.msg")
    fse_id = db_session.get(Payment, payment_case.rejected_id).fse_id
    page = client.get(f"/facturation/fse/{fse_id}")
    assert page.status_code == 200
    assert f"/messagerie/nouveau?fse={fse_id}" in page.get_data(as_text=True)
    form = client.get(f"/messagerie/nouveau?fse={fse_id}").get_data(as_text=True)
    assert "CAB-DOUBLE" in form and "2900 005" in form
    assert client.get(f"/messagerie/nouveau?fse={fse_id + 1000}").status_code == 404


def test_two_agents_deciding_at_once_grant_only_once(app, client, db_session, payment_case, tp_session):
    _login(client, "dr.msg")
    r = _new(client, f"?paiement={payment_case.rejected_id}", categorie="reclamation_paiement",
             paiement=str(payment_case.rejected_id))
    thread_id = int(r.headers["Location"].split("/")[2].split("?")[0])
    with app.test_request_context(), tp_session() as first, tp_session() as second:
        agent_1 = first.get(Professional, payment_case.agent.id)
        agent_2 = second.get(Professional, payment_case.agent.id)
        queries.get_thread(second, agent_2, thread_id, as_agent=True)  # read while still open
        services.close(first, agent_1, thread_id, services.Decision("accordee", "21,00"))
        with pytest.raises(AmeliproError) as exc:
            services.close(second, agent_2, thread_id, services.Decision("accordee", "21,00"))
        assert exc.value.code == "MSG-020"
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(Adjustment)) == 1


def test_lot_and_virement_pages_open_a_linked_message(client, db_session, payment_case):
    _login(client, "dr.msg")
    paid = db_session.get(Payment, payment_case.paid_id)
    page = client.get(f"/paiements/virements/{paid.virement_id}").get_data(as_text=True)
    assert f"/messagerie/nouveau?virement={paid.virement_id}&amp;categorie=reclamation_paiement" in page
    r = _new(client, f"?virement={paid.virement_id}", categorie="reclamation_paiement", objet="Virement incomplet",
             virement=str(paid.virement_id))
    assert r.status_code == 302
    lot_id = db_session.scalar(select(StoredFse.lot_id).where(StoredFse.id == paid.fse_id))
    assert f"/messagerie/nouveau?lot={lot_id}" in client.get(f"/facturation/lots/{lot_id}").get_data(as_text=True)
    r = _new(client, f"?lot={lot_id}", categorie="probleme", objet="Lot", lot=str(lot_id))
    assert r.status_code == 302
    db_session.expire_all()
    threads = {t.subject: t for t in db_session.scalars(select(Thread))}
    assert threads["Virement incomplet"].virement_id == paid.virement_id
    assert threads["Lot"].lot_id == lot_id
    _login(client, "dr.autre")
    assert client.get(f"/messagerie/nouveau?lot={lot_id}").status_code == 404
    assert client.get(f"/messagerie/nouveau?virement={paid.virement_id}").status_code == 404
