"""The `amelipro` commands of the foundation."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from sqlalchemy import func, select

from amelipro.auth.models import ApiToken, Professional
from amelipro.xmlcore.pki import load_cert, rpps_of


def test_demo_seed_is_idempotent(runner, db_session):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert "Comptes créés : 5" in first.output
    count = db_session.scalar(select(func.count()).select_from(Professional))
    second = runner.invoke(args=["demo", "seed"])
    assert "Comptes créés : 0, déjà présents : 5" in second.output
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(Professional)) == count == 5
    logins = set(db_session.scalars(select(Professional.login)))
    assert {"medecin.demo", "pharmacien.demo", "infirmier.demo", "caisse.demo"} <= logins
    agent = db_session.scalar(select(Professional).where(Professional.login == "caisse.demo"))
    assert agent.role.value == "caisse" and agent.is_caisse_agent and not agent.rpps
    assert "medecin.demo       mot de passe : demo-medecin-2026" in first.output


def test_demo_accounts_can_log_in(runner, auth, client):
    runner.invoke(args=["demo", "seed"])
    assert auth.login("medecin.demo", "demo-medecin-2026").status_code == 302
    assert "Claire Martin" in client.get("/").get_data(as_text=True)


def test_token_create_prints_a_working_token(runner, client, db_session):
    runner.invoke(args=["demo", "seed"])
    result = runner.invoke(args=["token", "create", "pharmacien.demo", "--name", "Script"])
    assert result.exit_code == 0
    secret = result.output.strip()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json["login"] == "pharmacien.demo"
    assert db_session.scalar(select(ApiToken.name)) == "Script"


def test_token_create_unknown_login(runner):
    result = runner.invoke(args=["token", "create", "personne"])
    assert result.exit_code != 0
    assert "Professionnel inconnu" in result.output


def test_pki_init_demo(app, runner):
    result = runner.invoke(args=["pki", "init-demo"])
    assert result.exit_code == 0, result.output
    pki = Path(app.config["PKI_DIR"])
    trust = Path(app.config["TRUST_STORE_DIR"])
    ca = load_cert(trust / "amelipro-demo-ca.pem")
    cert = load_cert(pki / "medecin.demo" / "cert.pem")
    assert rpps_of(cert) == "10000000017"
    assert cert.issuer == ca.subject
    ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                           __import__("cryptography.hazmat.primitives.asymmetric.padding", fromlist=["PKCS1v15"]).PKCS1v15(),
                           cert.signature_hash_algorithm)
    assert x509.load_pem_x509_crl((trust / "amelipro-demo-ca.crl.pem").read_bytes()).issuer == ca.subject
    before = (pki / "medecin.demo" / "cert.pem").read_bytes()
    again = runner.invoke(args=["pki", "init-demo"])
    assert "Certificats créés : aucun" in again.output
    assert (pki / "medecin.demo" / "cert.pem").read_bytes() == before
