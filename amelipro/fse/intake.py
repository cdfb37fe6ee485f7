"""The submission pipeline's steps, wired to the XML core, the FSE mapping, the rules and the
pricing: read and verify a lot, check and price each care sheet, build the signed ARL.

Keys, certificates and the trust store are loaded once per application and cached in
``app.extensions["amelipro.fse.gateway"]`` (never per document).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import current_app

from amelipro.fse.domain import CareSheet

ARL_CONTENT_TYPE = "application/xml; charset=utf-8"
EXTENSION_KEY = "amelipro.fse.gateway"


class LotRefusedError(Exception):
    """The lot as a whole is refused (negative ARL); carries every lot-level error."""

    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(", ".join(str(e.get("code")) for e in errors))
        self.http_status = status
        self.errors = list(errors)


@dataclass(frozen=True)
class Computed:
    """The gateway's own amounts for one care sheet."""

    charged: Decimal
    base: Decimal
    amo: Decimal
    patient_charges: Decimal
    lines: tuple[dict[str, Any], ...] = ()  # per line: number, base, rate, amo, label


@dataclass(frozen=True)
class ReadFse:
    """One FSE of a lot after its signature was verified and its signed content mapped."""

    position: int
    element_id: str
    signed_xml: str
    signer_rpps: str | None
    sheet: CareSheet | None
    errors: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class LotReading:
    lot_number: str
    fses: tuple[ReadFse, ...]


@dataclass
class Gateway:
    """Loaded once per application: verification policy, trust store, ARL signing key."""

    verifier: Any = None
    arl_signer: Any = None
    schemas: Any = None
    limits: Any = None
    cache: dict[str, Any] = field(default_factory=dict)


def gateway() -> Gateway:
    app = current_app._get_current_object()
    found = app.extensions.get(EXTENSION_KEY)
    if found is None:
        found = app.extensions[EXTENSION_KEY] = load_gateway(app)
    return found


def load_gateway(app) -> Gateway:  # pragma: no cover - wired when the XML core lands
    return Gateway()


def read_lot(gw: Gateway, body: bytes, content_type: str) -> LotReading:  # pragma: no cover
    raise NotImplementedError


def build_arl(gw: Gateway, report) -> bytes:  # pragma: no cover
    raise NotImplementedError


@dataclass
class CheckContext:
    session: Any
    lookup: Any = None
    rights: dict[tuple[str, int], Any] = field(default_factory=dict)


def check_context(session) -> CheckContext:
    return CheckContext(session)


def check_sheet(ctx: CheckContext, sheet: CareSheet) -> tuple[list[dict[str, Any]], Computed | None]:
    return [], None


def lines_view(sheet: CareSheet, computed: Computed | None) -> list[dict[str, Any]]:
    """Lines as sent next to the gateway's computation, for the FSE page and JSON."""
    by_number = {c["number"]: c for c in (computed.lines if computed else ())}
    out = []
    for line in sheet.lines:
        sent = line.amounts
        out.append({
            "number": line.number,
            "kind": line.kind.value,
            "code": line.code,
            "care_date": line.care_date.isoformat(),
            "quantity": line.quantity,
            "coefficient": f"{line.coefficient:f}",
            "label": by_number.get(line.number, {}).get("label", ""),
            "sent": None if sent is None else {
                "charged": f"{sent.charged:.2f}", "base": f"{sent.base:.2f}", "rate": sent.rate,
                "amo": f"{sent.amo:.2f}",
            },
            "computed": by_number.get(line.number),
        })
    return out
