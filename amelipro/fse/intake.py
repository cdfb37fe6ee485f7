"""The submission pipeline's steps, wired to the XML core, the FSE mapping, the rules and the
pricing: read and verify a lot, check and price each care sheet, build the signed ARL.

The :class:`Pipeline` is built once when the app is created; keys, certificates and the
trust store are loaded once per application, on the first lot, and cached in
``app.extensions["amelipro.fse.gateway"]`` (never per document).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from flask import current_app

from amelipro.fse.domain import CareSheet
from amelipro.fse.identity import content_hash
from amelipro.issues import LOT_REFUSAL, RULE_PLACED, Issue
from amelipro.xmlcore.signature import signed_document

ARL_CONTENT_TYPE = "application/xml; charset=utf-8"
EXTENSION_KEY = "amelipro.fse.gateway"
PIPELINE_KEY = "amelipro.fse.pipeline"
RECORDED_HOOKS = "amelipro.fse.on_recorded"


class LotRefusedError(Exception):
    """The lot as a whole is refused (negative ARL); carries every lot-level error."""

    def __init__(self, status: int, errors: list[Issue]) -> None:
        super().__init__(", ".join(e.code for e in errors))
        self.http_status = status
        self.errors = list(errors)


@dataclass(frozen=True)
class Computed:
    """The gateway's own amounts for one care sheet."""

    charged: Decimal
    base: Decimal
    amo: Decimal
    participation: Decimal = Decimal("0.00")
    franchise: Decimal = Decimal("0.00")
    pricing: Any = None  # the Pricing itself, to charge it again against the history

    @property
    def patient_charges(self) -> Decimal:
        return self.participation + self.franchise

    @property
    def lines(self) -> tuple[dict[str, Any], ...]:
        """Per line: number, base, rate, amo, label, charges (as text), from the pricing;
        made when asked (to be stored), not kept by each of a lot's thousands of sheets."""
        if self.pricing is None:
            return ()
        return tuple({
            "number": p.number, "charged": f"{p.charged:.2f}", "base": f"{p.base:.2f}", "rate": p.rate,
            "amo": f"{p.amo:.2f}", "label": p.label,
            "participation": f"{p.participation:.2f}", "franchise": f"{p.franchise:.2f}",
        } for p in self.pricing.lines)


@dataclass(frozen=True)
class ReadFse:
    """One FSE of a lot after its signature was verified and its signed content mapped."""

    position: int
    element_id: str
    signed_xml: str
    signer_rpps: str | None
    sheet: CareSheet | None
    errors: tuple[Issue, ...] = ()
    # The lines of the lot's FSE elements (``received_lines.LotLines``), for the line numbers
    # of errors found later: neither the received tree nor the signed copy is kept.
    lines: Any = None
    line: int | None = None
    content_hash: str = ""  # ``identity.content_hash`` of the sheet (computed where it is read)


@dataclass(frozen=True)
class LotReading:
    lot_number: str
    fses: tuple[ReadFse, ...]


@dataclass
class Gateway:
    """Loaded once per application: verification policy (trust store inside), schema
    registry, parse limits, and the gateway's ARL signing key and certificate."""

    policy: Any
    registry: Any
    limits: Any
    arl_key: Any = None
    arl_cert: Any = None
    rule_config: Any = None
    parallel: Any = None  # the app's ``parallel_read.ParallelReader``, or None: every lot read here


class Pipeline:
    """What the submission path needs, built once when the app is created (``fse/web.py``)
    and passed to the stages: the gateway (verification policy with its trust store, schema
    registry, parse limits, rules configuration, ARL key), loaded on the first lot and kept
    in ``app.extensions``, and the hooks called when a lot is recorded.

    Without an ARL signing key the gateway refuses to work (503, FSE-LOT-009) and is not
    kept, so that ``amelipro pki init-demo`` takes effect without a restart.
    """

    def __init__(self, app) -> None:
        self.app = app

    def gateway(self) -> Gateway:
        extensions = self.app.extensions
        found = extensions.get(EXTENSION_KEY)
        if found is None:
            found = load_gateway(self.app.config)
            if found.arl_key is None or found.arl_cert is None:
                from amelipro.errors import AmeliproError
                from amelipro.fse.lot_errors import GATEWAY_KEYS_MISSING

                raise AmeliproError(GATEWAY_KEYS_MISSING)
            from amelipro.fse import parallel_read

            found.parallel = parallel_read.for_config(self.app.config)  # started by a first large lot
            extensions[EXTENSION_KEY] = found
        else:
            refresh_trust_store(found, self.app.config)
        return found

    @property
    def recorded_hooks(self) -> tuple:
        return tuple(self.app.extensions.get(RECORDED_HOOKS, ()))


def pipeline(app=None) -> Pipeline:
    """The app's submission pipeline (built by ``fse/web.register`` at app creation)."""
    app = app if app is not None else current_app._get_current_object()
    found = app.extensions.get(PIPELINE_KEY)
    if found is None:  # an app built without the fse blueprints (a few unit tests)
        found = app.extensions[PIPELINE_KEY] = Pipeline(app)
    return found


def gateway() -> Gateway:
    """The app's gateway (see :class:`Pipeline`)."""
    return pipeline().gateway()


def refresh_trust_store(gw: Gateway, config) -> None:
    """A CA or CRL file added to the trust store takes effect on the next lot, no restart
    (one directory listing per lot; the store itself is reloaded only when a file changed)."""
    from amelipro.xmlcore.signature import trust_store_for

    store = trust_store_for(config["TRUST_STORE_DIR"])
    if store is not gw.policy.trust_store:
        gw.policy = replace(gw.policy, trust_store=store)


def load_gateway(config) -> Gateway:
    from amelipro.fse.rules import RuleConfig
    from amelipro.xmlcore.pki import load_cert, load_key
    from amelipro.xmlcore.safe import ParseLimits
    from amelipro.xmlcore.schemas import get_registry
    from amelipro.xmlcore.signature import VerifyPolicy

    key_path = Path(config["PKI_DIR"]) / "gateway" / "key.pem"
    cert_path = Path(config["PKI_DIR"]) / "gateway" / "cert.pem"
    key = cert = None
    if key_path.exists() and cert_path.exists():
        key, cert = load_key(key_path), load_cert(cert_path)
    return Gateway(
        policy=VerifyPolicy.from_config(config),
        registry=get_registry(),
        limits=ParseLimits.from_config(config),
        arl_key=key,
        arl_cert=cert,
        rule_config=RuleConfig(check_rights=bool(config.get("FSE_CHECK_RIGHTS", True))),
    )


def _lot_path(position: int, path: str | None) -> str:
    """An FSE-relative path ("/FSE/Patient/NIR") placed in the lot ("/Lot/FSE[3]/Patient/NIR")."""
    path = path or "/FSE"
    if path.startswith("/FSE"):
        return f"/Lot/FSE[{position}]{path[4:]}"
    return path


def read_lot(gw: Gateway, body: bytes, token_rpps: str | None) -> LotReading:
    """Parse, validate and verify every FSE; map each signed content to a CareSheet.

    The lot is refused whole (``LotRefusedError``, negative ARL) when it is unreadable or
    invalid, or when any FSE is unsigned, badly signed, schema-invalid, signed by another
    than its professional, or billed by another than the token's owner: nothing of it is
    stored. Every such error of every FSE is reported together, placed in the lot.

    A large lot may be read on two cores (``gw.parallel``, ``fse/parallel_read.py``): this
    process reads one share of its FSE while the helper reads the other; otherwise, or if
    either share cannot be read so, the lot is read here whole. The same results either way.
    """
    from amelipro.fse.document import read_lot_documents_each
    from amelipro.fse.received_lines import LotLines
    from amelipro.xmlcore import errors as xml_errors

    lines = LotLines(body, gw.limits)  # read only if an error must be placed
    now = datetime.now(UTC)  # one instant for the whole lot, in both shares
    try:
        shared = _read_shared(gw, body, token_rpps, now, lines)
        if shared is not None:
            lot, read = shared
        else:
            lot, read = read_lot_documents_each(body, gw.policy, partial(_read_one, lines=lines),
                                                token_rpps=token_rpps, limits=gw.limits, registry=gw.registry,
                                                now=now)
    except xml_errors.LotError as exc:
        status = max((_status_of(e.code) for e in exc.issues), default=400)
        raise LotRefusedError(status, list(exc.issues)) from None
    refusals = [issue for item in read if isinstance(item, list) for issue in item]
    fses = [item for item in read if isinstance(item, ReadFse)]
    del read
    if refusals:
        token_code = xml_errors.SIG_TOKEN_MISMATCH.code
        status = 403 if all(e.code == token_code for e in refusals) else 422
        raise LotRefusedError(status, refusals)
    number = lot.header.number if lot.header is not None else (lot.lot_id or "")
    return LotReading(number, tuple(fses))


def _read_one(doc, lines: Any = None) -> ReadFse | list[Issue]:
    """One FSE: its refusals, or what the next stages read of it (nothing of its trees)."""
    if not doc.ok:
        return [issue.laid_out(LOT_REFUSAL, path=_lot_path(doc.position, issue.path), fse=doc.position,
                               element_id=doc.element_id or "")
                for issue in doc.errors]
    # Stored: what the signature covers, with the signature, so that anyone can verify it
    # again later (and nothing the sender added outside the signed content). Nothing is
    # ever read back from it: the stored fields come from the verified content.
    return ReadFse(doc.position, doc.element_id or "", signed_document(doc.verified), doc.verified.rpps,
                   doc.sheet, lines=lines, line=doc.line, content_hash=content_hash(doc.sheet))


def _read_in_share(gw: Gateway, body: bytes, token_rpps: str | None, now: datetime,
                   share: tuple[int, int], lines: Any = None):
    """(lot, what :func:`_read_one` gives for each FSE of ``share``, the others ``None``), or
    None when the lot is not read in shares (``fse.document.read_lot_documents_share``)."""
    from amelipro.fse.document import read_lot_documents_share

    return read_lot_documents_share(body, gw.policy, partial(_read_one, lines=lines), share,
                                    token_rpps=token_rpps, limits=gw.limits, registry=gw.registry, now=now)


def read_share(gw: Gateway, body: bytes, token_rpps: str | None, now: datetime,
               share: tuple[int, int]) -> list[ReadFse | list[Issue] | None] | None:
    """What :func:`read_lot` reads of each FSE of one share of the lot (the others ``None``;
    the ``ReadFse`` without their ``lines``), or None when the lot is not read in shares; a
    lot error too is None: the whole reading says it. The helper process's call."""
    from amelipro.xmlcore import errors as xml_errors

    try:
        read = _read_in_share(gw, body, token_rpps, now, share)
    except xml_errors.LotError:
        return None
    return None if read is None else read[1]


def _read_shared(gw: Gateway, body: bytes, token_rpps: str | None, now: datetime, lines: Any):
    """The lot read in two shares, here and by the helper (``fse/parallel_read.py``), merged
    in the lot's order; None when it is not (then :func:`read_lot` reads it here whole)."""
    helper = gw.parallel
    future = helper.submit(body, token_rpps, now, gw.policy, gw.limits) if helper is not None else None
    if future is None:
        return None
    try:
        mine = _read_in_share(gw, body, token_rpps, now, (0, 2), lines)
    except Exception:
        future.cancel()
        raise
    theirs = helper.result(future)
    if mine is None or theirs is None or len(theirs) != len(mine[1]):
        return None
    lot, read = mine
    merged: list[ReadFse | list[Issue]] = []
    for here, there in zip(read, theirs, strict=True):
        if here is not None:
            merged.append(here)
        elif isinstance(there, ReadFse):
            merged.append(replace(there, lines=lines))  # the helper's come without this lot's lines
        elif there is not None:
            merged.append(there)  # refusals
        else:
            return None
    return lot, merged


def _status_of(code: str | None) -> int:
    from amelipro.errors import REGISTRY

    entry = REGISTRY.get(code or "")
    return entry.status if entry is not None and 400 <= entry.status < 500 else 400


def build_arl(gw: Gateway, report) -> bytes:
    """The ARL of a report, signed with the gateway key."""
    from amelipro.xmlcore import arl as x

    issued = report.received_at
    arl_id = f"ARL-{report.lot_id}" if report.lot_id else f"ARL-{secrets.token_hex(8)}"
    if not report.positive:
        doc = x.negative_arl(arl_id, report.body_sha256, report.errors,
                             lot_number=report.lot_number or None, issued_at=issued)
    else:
        doc = x.positive_arl(
            arl_id, report.body_sha256,
            [x.ArlFse(
                position=f.position, status=x.FseStatus(f.status.value), fse_id=f.element_id or None,
                invoice_number=f.invoice_number or None,
                reference=str(f.duplicate_of_id if f.duplicate_of_id else f.fse_id) if (f.duplicate_of_id or f.fse_id) else None,
                errors=tuple(f.errors),
                second_acts=f.second_acts,
            ) for f in report.fses],
            lot_number=report.lot_number or None,
            lot_reference=str(report.lot_id) if report.lot_id else None,
            issued_at=issued,
        )
    if gw.arl_key is None or gw.arl_cert is None:
        from amelipro.errors import AmeliproError
        from amelipro.fse.lot_errors import GATEWAY_KEYS_MISSING

        raise AmeliproError(GATEWAY_KEYS_MISSING)
    return x.arl_bytes(doc, gw.arl_key, gw.arl_cert)


# --- checking ------------------------------------------------------------------------------

def lot_lookup(session, sheets) -> Any:
    """The lot's reference lookup: every code on the sheets' lines loaded in one query per
    table, then one cache for the lot (``reference/lookup.py``)."""
    from amelipro.fse.domain import LineKind
    from amelipro.reference.lookup import LotReferenceLookup

    codes: dict[str, set[str]] = {"acts": set(), "medicines": set(), "lpp": set()}
    table = {LineKind.NGAP: "acts", LineKind.CCAM: "acts", LineKind.MEDICINE: "medicines",
             LineKind.DEVICE: "lpp"}
    for sheet in sheets:
        for line in sheet.lines if sheet is not None else ():
            codes[table[line.kind]].add(line.code)
    return LotReferenceLookup(session, **codes)


@dataclass
class CheckContext:
    session: Any
    lookup: Any
    today: Any
    config: Any
    rights: dict[tuple[str, int], Any] = field(default_factory=dict)
    profession: str | None = None  # as registered for the professional, not as declared
    practice: Any = None  # the professional's dated sector and specialty (PracticeHistory)
    # Care already accepted per patient (history.load_billed_care): only where one sheet is
    # checked alone (online billing); a lot decides duplicates with the lot in view (services).
    billed_care: dict[tuple[str, int], Any] = field(default_factory=dict)


def check_context(session, sheets: list[CareSheet], gw: Gateway, profession: str | None = None,
                  practice=None) -> CheckContext:
    from amelipro.clock import paris_today

    return CheckContext(
        session=session,
        lookup=lot_lookup(session, sheets),
        today=paris_today(),
        config=gw.rule_config,
        rights=load_rights(session, {(s.patient.nir, s.patient.rank) for s in sheets}),
        profession=profession,
        practice=practice,
    )


def load_rights(session, keys: set[tuple[str, int]]) -> dict[tuple[str, int], Any]:
    """The caisse's file for these patients, in a few queries (beneficiaries package)."""
    from amelipro.beneficiaries.services import find_rights_many

    return find_rights_many(session, keys)


def locate(read: ReadFse, field_path: str) -> tuple[str, int | None]:
    """The XML path (in the lot) and received line of a rule's field ("lines[2].code")."""
    from amelipro.fse.document import field_path as path_of

    field, number = field_path, None
    if field_path.startswith("lines[") and "]" in field_path:
        index, _, rest = field_path[6:].partition("]")
        if index.isdigit():
            field, number = rest.lstrip("."), int(index)
    for candidate in (field, field.split(".")[0], ""):
        try:
            path = path_of(read.sheet, candidate, number) if number else path_of(read.sheet, candidate or "id")
            break
        except (KeyError, IndexError):
            continue
    else:  # pragma: no cover - "id" always resolves
        path = "/FSE"
    return _lot_path(read.position, path), _source_line(read, path)


def _source_line(read: ReadFse, path: str) -> int | None:
    """Line in the received document of the element at ``path`` ("/FSE/Lignes/ActeNGAP[2]/Code").

    Only a line number is read from the received document: the path was resolved on the
    verified content (the care sheet), and the signed element is the received element minus
    its signature.
    """
    found = read.lines.of(read.position) if read.lines is not None else None
    if found is None:
        return read.line
    return found.line_at(path)  # the deepest element found when the path stops short


def check_read(ctx: CheckContext, read: ReadFse) -> tuple[list[Issue], Computed | None]:
    """Rules and pricing of one read FSE; each error located in the received document."""
    errors, computed = check_sheet(ctx, read.sheet)
    return place_errors(read, errors), computed


def place_errors(read: ReadFse, errors: list[Issue]) -> list[Issue]:
    """Rule errors (``RuleViolation.issue()``) placed in the received document: ``path``
    in the lot and received ``line``; the care sheet's field and line kept apart."""
    placed = []
    for error in errors:
        field_path = error.path or ""
        path, line = locate(read, field_path)
        placed.append(error.laid_out(RULE_PLACED, path=path, line=line, field=field_path,
                                     fse_line=error.line))
    return placed


def check_sheet(ctx: CheckContext, sheet: CareSheet) -> tuple[list[Issue], Computed | None]:
    from amelipro.fse.rules import check_care_sheet

    result = check_care_sheet(
        sheet, lookup=ctx.lookup, rights=ctx.rights.get((sheet.patient.nir, sheet.patient.rank)),
        today=ctx.today, config=ctx.config, profession=ctx.profession, practice=ctx.practice,
        billed_care=ctx.billed_care.get((sheet.patient.nir, sheet.patient.rank)),
    )
    return result.issues(), computed_of(result.pricing)


def computed_of(pricing) -> Computed:
    return Computed(
        charged=pricing.charged, base=pricing.base, amo=pricing.amo,
        participation=pricing.charges.participation,
        franchise=pricing.charges.franchise,
        pricing=pricing,
    )


def recharge(ctx: CheckContext, sheet: CareSheet, computed: Computed, prior) -> Computed:
    """The same computation with its patient charges taken again against ``prior`` (the
    patient's history): amounts and rule errors do not depend on it."""
    from amelipro.fse.charges import default_billing_config
    from amelipro.fse.pricing import recharge as recharge_pricing

    if computed.pricing is None:
        return computed
    pricing = recharge_pricing(
        computed.pricing, sheet, ctx.rights.get((sheet.patient.nir, sheet.patient.rank)),
        ctx.profession, prior=prior, config=ctx.config.billing or default_billing_config(),
    )
    return computed_of(pricing)
