"""Rules of the amounts: the LPP price limit (PLV), a medicine's price, each line's base, rate
and AMO part against the gateway's pricing, and the totals."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from amelipro.fse import errors as E
from amelipro.fse.domain import CareSheet, LineKind
from amelipro.fse.pricing import money
from amelipro.fse.rules.codes import code_format_ok
from amelipro.fse.rules.core import RuleContext, RuleViolation, eur, fr_date, line_path, violation


def rule_plv(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    for line in sheet.lines:
        if line.kind != LineKind.DEVICE or line.amounts is None:
            continue
        fact = ctx.lookup.lpp(line.code, line.care_date)
        if fact is None or fact.plv is None:
            continue
        limit = money(fact.plv * line.quantity)
        if line.amounts.charged > limit:
            yield violation(E.ABOVE_PLV, line_path(line, "amounts.charged"),
                            f"Ligne {line.number} : facturé {eur(line.amounts.charged)}, PLV "
                            f"{eur(fact.plv)} × {line.quantity} = {eur(limit)}.", line=line.number)


def rule_medicine_price(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    """A medicine is never charged above its price (box + dispensing fee) on the date of care."""
    for line in sheet.lines:
        if line.kind != LineKind.MEDICINE or line.amounts is None or line.quantity < 1:
            continue
        priced = ctx.pricing.line(line.number)
        if not priced.priced or priced.unit_price is None:
            continue
        limit = money(priced.unit_price * line.quantity)
        if line.amounts.charged > limit:
            yield violation(E.ABOVE_PRICE, line_path(line, "amounts.charged"),
                            f"Ligne {line.number} : facturé {eur(line.amounts.charged)}, prix "
                            f"{eur(priced.unit_price)} × {line.quantity} = {eur(limit)} le "
                            f"{fr_date(line.care_date)}.", line=line.number,
                            expected={"charged_max": str(limit)},
                            received={"charged": str(line.amounts.charged)})


def rule_amounts(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    for line in sheet.lines:
        if line.amounts is None:
            yield violation(E.AMOUNTS_MISSING, line_path(line, "amounts"),
                            f"Ligne {line.number}.", line=line.number)
            continue
        priced = ctx.pricing.line(line.number)
        if not priced.priced or not code_format_ok(line):
            continue  # already reported by rule_codes
        sent = line.amounts
        if (sent.base, sent.rate, sent.amo) == (priced.base, priced.rate, priced.amo):
            continue
        parts = []
        if sent.base != priced.base:
            parts.append(f"base attendue {eur(priced.base)} (reçue {eur(sent.base)})")
        if sent.rate != priced.rate:
            parts.append(f"taux attendu {priced.rate} % (reçu {sent.rate} %)")
        if sent.amo != priced.amo:
            parts.append(f"part AMO attendue {eur(priced.amo)} (reçue {eur(sent.amo)})")
        yield violation(
            E.LINE_AMOUNTS, line_path(line, "amounts"),
            f"Ligne {line.number} ({line.code}, {fr_date(line.care_date)}) : " + ", ".join(parts) + ".",
            line=line.number,
            expected={"base": str(priced.base), "rate": priced.rate, "amo": str(priced.amo)},
            received={"base": str(sent.base), "rate": sent.rate, "amo": str(sent.amo)},
        )


# Agreement: « montant facturé attendu », « part AMO attendue ».
_TOTAL_LABELS = {"charged": ("montant facturé", "attendu", "reçu"), "base": ("base", "attendue", "reçue"),
                 "amo": ("part AMO", "attendue", "reçue")}


def rule_totals(sheet: CareSheet, ctx: RuleContext) -> Iterator[RuleViolation]:
    if not sheet.lines or any(line.amounts is None for line in sheet.lines):
        return
    pricing, totals = ctx.pricing, sheet.totals
    charged = money(sum((line.amounts.charged for line in sheet.lines), Decimal(0)))
    if totals.charged == charged and (
        not pricing.complete or (totals.base == pricing.base and totals.amo == pricing.amo)
    ):
        return  # the common case, without building the comparison below
    expected = {"charged": charged}
    if pricing.complete:
        expected |= {"base": pricing.base, "amo": pricing.amo}
    received = {"charged": totals.charged, "base": totals.base, "amo": totals.amo}
    labels = _TOTAL_LABELS
    wrong = [name for name, value in expected.items() if received[name] != value]
    if wrong:
        yield violation(
            E.TOTALS, "totals",
            ", ".join(f"{labels[n][0]} {labels[n][1]} {eur(expected[n])} ({labels[n][2]} {eur(received[n])})"
                      for n in wrong) + ".",
            expected={n: str(expected[n]) for n in wrong},
            received={n: str(received[n]) for n in wrong},
        )
