"""Référentiels: public pages and public JSON API (no login, as on ameli).

Handlers parse input, call a query or a service, render. Only the EHPAD mapping edits
need a logged-in operator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from amelipro.clock import date_or_today, paris_today
from amelipro.db import get_session
from amelipro.errors import MAX_QUERY_INT, AmeliproError
from amelipro.extensions import csrf
from amelipro.filters import date_fr, euros, number
from amelipro.fse.charges import default_billing_config
from amelipro.reference import errors, queries, services
from amelipro.reference import models as m
from amelipro.reference.search import KINDS, SearchQuery, search

bp = Blueprint("reference", __name__, url_prefix="/referentiels")
api = Blueprint("reference_api", __name__, url_prefix="/api/v1/reference")
csrf.exempt(api)


# ---------------------------------------------------------------- input parsing


parse_at = date_or_today  # ?at=AAAA-MM-JJ, today in Paris when absent


def _opt_int(value: str | None, name: str, minimum: int = 0) -> int | None:
    """An integer filter (ASCII digits, ``minimum`` to 2^31 - 1); REF-010 otherwise."""
    if value in (None, ""):
        return None
    raw = value.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12 or not minimum <= int(raw) <= MAX_QUERY_INT:
        raise AmeliproError(errors.BAD_SEARCH, f"{name}={value[:20]}")
    return int(raw)


def _opt_bool(value: str | None) -> bool | None:
    if value in (None, ""):
        return None
    lowered = value.lower()
    if lowered in ("1", "true", "oui", "yes"):
        return True
    if lowered in ("0", "false", "non", "no"):
        return False
    raise AmeliproError(errors.BAD_SEARCH, f"reimbursable={value}")


def parse_search(args) -> SearchQuery:
    kind = args.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise AmeliproError(errors.BAD_SEARCH, f"kind={kind}")
    page = _opt_int(args.get("page"), "page", minimum=1)
    page = 1 if page is None else page
    return SearchQuery(
        q=(args.get("q") or "").strip()[:200], at=parse_at(args.get("at")), kind=kind,
        reimbursable=_opt_bool(args.get("reimbursable")), rate=_opt_int(args.get("rate"), "rate"),
        generic_group=_opt_int(args.get("group"), "group"),
        ehpad_category_id=_opt_int(args.get("ehpad"), "ehpad"), page=page,
        page_size=min(_opt_int(args.get("per_page"), "per_page", minimum=1) or 20, 100),
    )


@dataclass(frozen=True)
class PageLinks:
    prev: str | None
    next: str | None


def _found(value, error, code: str):
    """``value``, or the 404 of ``error`` when the code or id is unknown (``value`` is None)."""
    if value is None:
        raise AmeliproError(error, code)
    return value


def _ehpad_categories(session) -> list[m.EhpadCategory]:
    return list(session.scalars(select(m.EhpadCategory).order_by(m.EhpadCategory.part, m.EhpadCategory.position)))


def _page_links(query: SearchQuery, has_next: bool, endpoint: str) -> PageLinks:
    args = {k: v for k, v in request.args.items() if k != "page"}
    prev = url_for(endpoint, **args, page=query.page - 1) if query.page > 1 else None
    nxt = url_for(endpoint, **args, page=query.page + 1) if has_next else None
    return PageLinks(prev, nxt)


# ---------------------------------------------------------------- pages


@bp.get("/", endpoint="search")
def search_page():
    query = parse_search(request.args)
    session = get_session()
    page = search(session, query) if (query.q or query.generic_group or query.ehpad_category_id) else None
    categories = _ehpad_categories(session)
    return render_template("reference/search.html", query=query, page=page, categories=categories,
                           links=_page_links(query, page.has_next, "reference.search") if page else None,
                           summary=None if page else queries.summary(session),
                           amounts=queries.amounts_at(session, page.hits, query.at) if page else {},
                           datasets=DATASET_LABELS)


@bp.get("/medicaments/<cip13>")
def medicine_page(cip13: str):
    at = parse_at(request.args.get("at"))
    detail = _found(queries.medicine_detail(get_session(), cip13, at), errors.MEDICINE_NOT_FOUND, cip13)
    return render_template("reference/medicine.html", d=detail, at=at)


@bp.get("/lpp/<code>")
def lpp_page(code: str):
    at = parse_at(request.args.get("at"))
    session = get_session()
    detail = _found(queries.lpp_detail(session, code, at), errors.LPP_NOT_FOUND, code)
    categories = _ehpad_categories(session)
    return render_template("reference/lpp.html", d=detail, at=at, categories=categories)


@bp.get("/actes/<code>")
def act_page(code: str):
    at = parse_at(request.args.get("at"))
    detail = queries.act_detail(get_session(), code, at)
    majoration = default_billing_config().majoration(code.strip().upper())
    if majoration is not None:
        return render_template("reference/majoration.html", m=majoration, d=detail, at=at,
                               entry=majoration.entry_at(at))
    return render_template("reference/act.html", d=_found(detail, errors.ACT_NOT_FOUND, code), at=at)


@bp.get("/majorations")
def majorations_page():
    at = parse_at(request.args.get("at"))
    items = sorted(default_billing_config().majorations.values(), key=lambda item: item.code)
    return render_template("reference/majorations.html", items=items, at=at)


@bp.get("/ehpad")
def ehpad_page():
    return render_template("reference/ehpad.html", categories=queries.ehpad_list(get_session()))


def _require_operator() -> str:
    if not current_user.is_operator:
        abort(403)
    return current_user.login


@bp.post("/ehpad/rattachements")
@login_required
def ehpad_add():
    actor = _require_operator()
    code = request.form.get("lpp_code", "")
    category = _opt_int(request.form.get("category_id"), "category_id") or 0
    services.add_ehpad_mapping(get_session(), code, category, request.form.get("reason", ""), actor)
    flash(f"Code LPP {code} rattaché à la catégorie EHPAD.", "success")
    return redirect(url_for("reference.lpp_page", code=code.strip()))


@bp.post("/ehpad/rattachements/<int:mapping_id>/retrait")
@login_required
def ehpad_remove(mapping_id: int):
    actor = _require_operator()
    mapping = services.remove_ehpad_mapping(get_session(), mapping_id, actor)
    flash(f"Rattachement du code LPP {mapping.lpp_code} retiré.", "success")
    return redirect(url_for("reference.lpp_page", code=mapping.lpp_code))


@bp.get("/imports")
def runs_page():
    return render_template("reference/runs.html", runs=queries.list_runs(get_session()), datasets=DATASET_LABELS)


@bp.get("/imports/<int:run_id>")
def diff_page(run_id: int):
    diff = _found(queries.release_diff(get_session(), run_id), errors.IMPORT_RUN_NOT_FOUND, str(run_id))
    data = queries.diff_json(diff)
    return render_template("reference/diff.html", diff=data, show=DiffWords(),
                           dataset=DATASET_LABELS.get(diff.run.dataset, diff.run.dataset),
                           operator=current_user.is_authenticated and current_user.is_operator)


KIND_LABELS = {"medicine": "Médicament", "lpp": "LPP", "act": "Acte"}
FIELD_LABELS = {
    "reimbursable": "remboursement", "rate_percent": "taux", "price": "prix",
    "dispensing_fee": "honoraire de dispensation", "tariff": "tarif", "plv": "prix limite de vente",
    "max_quantity": "quantité maximale", "tariff_other_sector": "tarif hors secteur 1",
}
_AMOUNT_FIELDS = {"price", "dispensing_fee", "tariff", "plv", "tariff_other_sector"}


class DiffWords:
    """How the diff page says a change in words: « prix : 1,16 € → 1,20 € »."""

    kind = staticmethod(lambda kind: KIND_LABELS.get(kind, kind))

    @staticmethod
    def value(name: str, value) -> str:
        if value is None:
            return "aucun" if name in _AMOUNT_FIELDS else "—"
        if name in _AMOUNT_FIELDS:
            return euros(value)
        if name == "rate_percent":
            return f"{value} %"
        if name == "reimbursable":
            return "remboursable" if value else "non remboursable"
        return str(value)

    @classmethod
    def changes(cls, before: dict, after: dict) -> list[tuple[str, str, str]]:
        """(label, before, after) of every field that changed."""
        return [(FIELD_LABELS.get(k, k), cls.value(k, before.get(k)), cls.value(k, v))
                for k, v in after.items() if before.get(k) != v]

    @classmethod
    def values(cls, values: dict) -> str:
        return ", ".join(f"{FIELD_LABELS.get(k, k)} {cls.value(k, v)}" for k, v in values.items() if v is not None)


# ---------------------------------------------------------------- public JSON API


@api.get("/search")
def api_search():
    query = parse_search(request.args)
    page = search(get_session(), query)
    return jsonify({
        "q": query.q, "at": query.at.isoformat(), "kind": query.kind, "page": query.page,
        "has_next": page.has_next,
        "results": [{"kind": h.kind, "code": h.code, "label": h.label, "detail": h.detail,
                     "exact_code": h.exact} for h in page.hits],
    })


@api.get("/medicines/<cip13>")
def api_medicine(cip13: str):
    detail = queries.medicine_detail(get_session(), cip13, parse_at(request.args.get("at")))
    return jsonify(queries.medicine_json(_found(detail, errors.MEDICINE_NOT_FOUND, cip13)))


@api.get("/lpp/<code>")
def api_lpp(code: str):
    detail = queries.lpp_detail(get_session(), code, parse_at(request.args.get("at")))
    return jsonify(queries.lpp_json(_found(detail, errors.LPP_NOT_FOUND, code)))


@api.get("/acts/<code>")
def api_act(code: str):
    detail = queries.act_detail(get_session(), code, parse_at(request.args.get("at")))
    return jsonify(queries.act_json(_found(detail, errors.ACT_NOT_FOUND, code)))


@api.get("/ehpad")
def api_ehpad():
    parse_at(request.args.get("at"))  # accepted for symmetry; mappings are not dated
    return jsonify({"categories": queries.ehpad_list(get_session())})


@api.get("/imports")
def api_runs():
    return jsonify({"imports": [queries.run_json(r) for r in queries.list_runs(get_session())]})


@api.get("/imports/<int:run_id>/diff")
def api_diff(run_id: int):
    diff = _found(queries.release_diff(get_session(), run_id), errors.IMPORT_RUN_NOT_FOUND, str(run_id))
    return jsonify(queries.diff_json(diff))


_PATTERN = re.compile(r"\s*~\s*/.*/\s*(?=\(appariement automatique\))")


def mapping_reason(reason: str) -> str:
    """The reason of an EHPAD mapping for people: the matching pattern of an automatic
    mapping stays in the data (and the API), not on the page."""
    return _PATTERN.sub(" ", reason or "")


def register(app: Flask) -> None:
    from amelipro import home

    app.add_template_filter(mapping_reason, "mapping_reason")
    app.register_blueprint(bp)
    app.register_blueprint(api)
    home.add_panel(app, _operator_panel)


def _anomalies_label(run) -> str:
    count = len(run.anomaly_list)
    if not count:
        return "sans anomalie"
    return f"{count} anomalie(s) signalée(s)" + (f", {run.skipped} ligne(s) écartée(s)" if run.skipped else "")


DATASET_LABELS = {"bdpm": "BDPM (médicaments)", "lpp": "LPP", "ccam": "CCAM", "ngap": "NGAP",
                  "ehpad": "Liste EHPAD"}


def _operator_panel(session, user):
    from amelipro import home

    if not user.is_operator:
        return None
    last = queries.summary(session)["last_runs"]
    failed = [r for r in queries.list_runs(session, limit=20) if r.status == "failed"]
    facts = tuple(
        home.Fact(DATASET_LABELS.get(run.dataset, run.dataset), date_fr(run.finished_at or run.started_at),
                  _anomalies_label(run), alert=bool(run.skipped))
        for run in last
    )
    if failed:
        facts += (home.Fact("Imports échoués (20 derniers)", number(len(failed)), DATASET_LABELS.get(failed[0].dataset, failed[0].dataset), alert=True),)
    coverage = queries.lpp_tariff_coverage(session, paris_today())
    if coverage.in_force:
        facts += (home.Fact("Codes LPP en vigueur sans tarif", number(coverage.without_tariff),
                            f"sur {number(coverage.in_force)} codes en vigueur : leur facturation est refusée "
                            "(tarif absent du référentiel chargé)", alert=bool(coverage.without_tariff)),)
    return home.Panel(
        title="Référentiels : derniers imports réussis",
        endpoint="reference.runs_page",
        facts=facts,
        note="" if last else "Aucun import : lancez « amelipro reference import ».",
    )
