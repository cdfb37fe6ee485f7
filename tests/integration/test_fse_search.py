"""Facturation search (GET): by invoice or lot number, NIR, patient's name, care dates and
state; the professional's own FSE only; paging; bad dates are a 400."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from amelipro.beneficiaries.models import Beneficiary
from amelipro.fse.models import StoredFse


def _send(client, auth, body: bytes):
    token = auth.csrf("/facturation/envoyer")
    return client.post("/facturation/envoyer", data={
        "csrf_token": token, "action": "envoyer", "lot_file": (io.BytesIO(body), "lot.xml"),
    }, content_type="multipart/form-data")


def _found(client, **args) -> str:
    response = client.get("/facturation/", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_data(as_text=True)


def test_search_by_invoice_nir_name_date_and_state(client, auth, fse_env, make_professional):
    demo = fse_env.sheets(4, invalid=0.5, seed=41)
    auth.login(fse_env.doctor.login)
    assert _send(client, auth, fse_env.lot(demo.sheets, number="L-RECHERCHE-1")).status_code == 303
    with fse_env.app.app_context():
        session = fse_env.app.extensions["amelipro.sessionmaker"]()
        fses = list(session.scalars(select(StoredFse).order_by(StoredFse.id)))
        target = fses[0]
        person = session.scalar(select(Beneficiary).where(Beneficiary.nir == target.patient_nir,
                                                          Beneficiary.rank == target.patient_rank))
        session.close()
    others = [f.invoice_number for f in fses if f.patient_nir != target.patient_nir]

    html = _found(client, q=target.invoice_number)
    assert "1 feuille(s) de soins trouvée(s)" in html and f'href="/facturation/fse/{target.id}"' in html
    assert not any(number in html for number in others)
    assert "Lots envoyés" not in html  # results replace the list

    spaced = " ".join([target.patient_nir[:1], target.patient_nir[1:3], target.patient_nir[3:]])
    html = _found(client, q=spaced)
    assert f'href="/facturation/fse/{target.id}"' in html and not any(n in html for n in others)

    assert person is not None
    html = _found(client, q=person.last_name.lower())
    assert f'href="/facturation/fse/{target.id}"' in html and person.last_name.upper() in html

    html = _found(client, q="L-RECHERCHE-1")
    assert "4 feuille(s) de soins trouvée(s)" in html

    rejected = [f for f in fses if f.status.value == "rejetee"]
    html = _found(client, etat="rejetee")
    assert f"{len(rejected)} feuille(s) de soins trouvée(s)" in html

    first = min(f.first_care_date for f in fses)
    html = _found(client, au=(first - timedelta(days=1)).isoformat())
    assert "Aucune feuille de soins ne correspond à cette recherche." in html
    html = _found(client, du=first.isoformat(), au=max(f.last_care_date for f in fses).isoformat())
    assert "4 feuille(s) de soins trouvée(s)" in html

    assert "Aucune feuille" in _found(client, q="%")  # LIKE wildcards are plain text
    assert "Aucune feuille" in _found(client, q="zzzz-inconnu")
    assert client.get("/facturation/?du=2026-13-45").status_code == 400
    assert client.get("/facturation/?page=abc&q=x").status_code == 400
    assert _found(client, etat="inconnu")  # an unknown state is ignored

    # Another professional finds nothing of the doctor's.
    other = make_professional(login="dr.autre")
    auth.logout()
    auth.login(other.login)
    html = _found(client, q=target.invoice_number)
    assert "Aucune feuille de soins ne correspond" in html and target.invoice_number not in html.split("Rechercher")[-1]


def _link(html: str, text: str) -> tuple[str, dict[str, list[str]]] | None:
    """The path and query arguments of the link named ``text`` (None when absent)."""
    found = re.search(rf'href="([^"]*)">{text}</a>', html)
    if found is None:
        return None
    parts = urlsplit(unescape(found.group(1)))
    return parts.path, parse_qs(parts.query)


def test_results_and_lots_are_paged_with_the_search_kept(client, auth, fse_env, monkeypatch):
    monkeypatch.setattr("amelipro.fse.queries.PAGE_SIZE", 2)
    demo = fse_env.sheets(5, seed=43)
    auth.login(fse_env.doctor.login)
    for i, part in enumerate((demo.sheets[:3], demo.sheets[3:4], demo.sheets[4:])):
        assert _send(client, auth, fse_env.lot(part, number=f"L-PAGES-{i}")).status_code == 303

    html = _found(client, q="L-PAGES-0")
    assert "3 feuille(s) de soins trouvée(s)" in html and "Page 1 sur 2" in html
    assert 'aria-label="Pages des résultats"' in html and _link(html, "Page précédente") is None
    assert _link(html, "Page suivante") == ("/facturation/", {"q": ["L-PAGES-0"], "page": ["2"]})
    html = _found(client, q="L-PAGES-0", page=2)
    assert "Page 2 sur 2" in html and _link(html, "Page suivante") is None
    assert _link(html, "Page précédente") == ("/facturation/", {"q": ["L-PAGES-0"], "page": ["1"]})

    html = _found(client)
    assert "Lots envoyés" in html and "Page 1 sur 2" in html
    assert _link(html, "Page suivante") == ("/facturation/", {"page": ["2"]})
    assert "Page 2 sur 2" in _found(client, page=2)
