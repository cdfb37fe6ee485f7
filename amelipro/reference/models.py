"""Reference data tables: medicines (BDPM), LPP, acts (CCAM, NGAP), EHPAD list.

Every price, tariff and rate lives in a *dated* table (``...Price``/``...Tariff``): a row is
in force from ``valid_from`` (``None``: since before the first imported release) to
``valid_to`` inclusive (``None``: still in force). An import never updates amounts: it
closes the row in force (``valid_to``, ``closed_run_id``) and opens a new one.

Descriptive tables (names, labels, compositions) hold the latest release.
``SearchEntry``/``SearchCode`` are derived: rebuilt from the other tables after an import.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from amelipro.db import Base, UTCDateTime, utcnow

Amount = Numeric(12, 2)


class ImportRun(Base):
    """One import of one dataset's release: files, counts, skipped lines, anomalies."""

    __tablename__ = "ref_import_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset: Mapped[str] = mapped_column(String(20), index=True)  # bdpm, lpp, ccam, ngap, ehpad
    release: Mapped[str] = mapped_column(String(200), default="")
    effective_date: Mapped[date | None] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="running")  # running, done, failed
    actor: Mapped[str] = mapped_column(String(64), default="")
    files: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{name, sha256, bytes}]
    created: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    anomalies: Mapped[str] = mapped_column(Text, default="[]")  # JSON [{file, line, reason, skipped}]

    @property
    def anomaly_list(self) -> list[dict]:
        return json.loads(self.anomalies or "[]")


class DatedMixin:
    """Validity period and the runs that opened and closed the row."""

    stream: Mapped[str] = mapped_column(String(20))  # which source feeds the row
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    run_id: Mapped[int] = mapped_column(ForeignKey("ref_import_run.id"))
    closed_run_id: Mapped[int | None] = mapped_column(ForeignKey("ref_import_run.id"))


class Medicine(Base):
    """A speciality (CIS) as described by CIS_bdpm.txt."""

    __tablename__ = "ref_medicine"

    id: Mapped[int] = mapped_column(primary_key=True)
    cis: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(400))
    form: Mapped[str] = mapped_column(String(200), default="")
    routes: Mapped[str] = mapped_column(String(200), default="")
    amm_status: Mapped[str] = mapped_column(String(100), default="")
    procedure: Mapped[str] = mapped_column(String(100), default="")
    marketed: Mapped[str] = mapped_column(String(60), default="")
    amm_date: Mapped[date | None] = mapped_column(Date)
    bdm_status: Mapped[str] = mapped_column(String(60), default="")
    holder: Mapped[str] = mapped_column(String(400), default="")
    reinforced_monitoring: Mapped[bool] = mapped_column(Boolean, default=False)


class MedicineBox(Base):
    """A presentation (box) with its CIP13, from CIS_CIP_bdpm.txt."""

    __tablename__ = "ref_medicine_box"

    id: Mapped[int] = mapped_column(primary_key=True)
    cip13: Mapped[str] = mapped_column(String(13), unique=True)
    cip7: Mapped[str] = mapped_column(String(7), index=True)
    cis: Mapped[str] = mapped_column(String(8), index=True)
    label: Mapped[str] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(60), default="")
    marketing_state: Mapped[str] = mapped_column(String(100), default="")
    declaration_date: Mapped[date | None] = mapped_column(Date)
    collectivities: Mapped[bool | None] = mapped_column(Boolean)
    indications: Mapped[str] = mapped_column(Text, default="")


class MedicinePrice(DatedMixin, Base):
    """Rate, price and dispensing fee of a box, dated."""

    __tablename__ = "ref_medicine_price"
    __table_args__ = (Index("ix_ref_medicine_price_cip13_from", "cip13", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cip13: Mapped[str] = mapped_column(String(13))
    reimbursable: Mapped[bool] = mapped_column(Boolean)
    rate_percent: Mapped[int | None] = mapped_column(Integer)
    price: Mapped[Decimal | None] = mapped_column(Amount)
    price_with_fee: Mapped[Decimal | None] = mapped_column(Amount)
    dispensing_fee: Mapped[Decimal | None] = mapped_column(Amount)


class GenericMember(Base):
    """Membership of a speciality in a generic group (CIS_GENER_bdpm.txt)."""

    __tablename__ = "ref_generic_member"
    __table_args__ = (UniqueConstraint("group_id", "cis"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer, index=True)
    group_label: Mapped[str] = mapped_column(String(400))
    cis: Mapped[str] = mapped_column(String(8), index=True)
    generic_type: Mapped[int] = mapped_column(Integer)  # 0 princeps, 1 generic, 2, 4
    sort_no: Mapped[int] = mapped_column(Integer, default=0)


class Composition(Base):
    """Active substances of a speciality (CIS_COMPO_bdpm.txt)."""

    __tablename__ = "ref_composition"

    id: Mapped[int] = mapped_column(primary_key=True)
    cis: Mapped[str] = mapped_column(String(8), index=True)
    element: Mapped[str] = mapped_column(String(200), default="")
    substance_code: Mapped[str] = mapped_column(String(10), default="")
    substance: Mapped[str] = mapped_column(String(400), default="")
    dosage: Mapped[str] = mapped_column(String(200), default="")
    dosage_reference: Mapped[str] = mapped_column(String(200), default="")
    nature: Mapped[str] = mapped_column(String(4), default="")
    link_no: Mapped[int | None] = mapped_column(Integer)


class LppCode(Base):
    """An LPP code with its label and title (latest release)."""

    __tablename__ = "ref_lpp_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(7), unique=True)
    label: Mapped[str] = mapped_column(String(600))
    titre: Mapped[str] = mapped_column(String(300), default="")
    category: Mapped[str] = mapped_column(String(200), default="")


class LppTariff(DatedMixin, Base):
    """Tariff (reimbursement base), PLV and maximum quantity of an LPP code, dated."""

    __tablename__ = "ref_lpp_tariff"
    __table_args__ = (Index("ix_ref_lpp_tariff_code_from", "code", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(7))
    tariff: Mapped[Decimal | None] = mapped_column(Amount)  # None: no known tariff, never 0 €
    plv: Mapped[Decimal | None] = mapped_column(Amount)
    max_quantity: Mapped[int | None] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(40), default="")


class Act(Base):
    """A CCAM act or an NGAP code (letter key, majoration, billing code)."""

    __tablename__ = "ref_act"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(13), unique=True)
    kind: Mapped[str] = mapped_column(String(4))  # ccam | ngap
    label: Mapped[str] = mapped_column(String(1000))
    grouping: Mapped[str] = mapped_column(String(10), default="")  # CCAM regroupement
    conditional: Mapped[bool] = mapped_column(Boolean, default=False)  # RC
    prior_approval: Mapped[bool] = mapped_column(Boolean, default=False)  # AP
    exemption: Mapped[str] = mapped_column(String(10), default="")  # Exo. TM
    not_covered: Mapped[bool] = mapped_column(Boolean, default=False)  # non pris en charge


class ActTariff(DatedMixin, Base):
    """CCAM tariff (sector 1 / other) or NGAP letter-key value, dated."""

    __tablename__ = "ref_act_tariff"
    __table_args__ = (Index("ix_ref_act_tariff_code_from", "code", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(13))
    tariff: Mapped[Decimal | None] = mapped_column(Amount)
    tariff_other_sector: Mapped[Decimal | None] = mapped_column(Amount)
    note: Mapped[str] = mapped_column(String(400), default="")  # source of a configured value


class EhpadCategory(Base):
    """A category of the EHPAD care-package annex (arrêté du 26 avril 1999)."""

    __tablename__ = "ref_ehpad_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    part: Mapped[str] = mapped_column(String(4))  # I or II
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(400), unique=True)
    condition: Mapped[str] = mapped_column(String(200), default="")


class EhpadMapping(Base):
    """An LPP code placed in an EHPAD category, with the reason, who and when.

    Removing a mapping sets ``removed_at``; the row stays (and automatic seeding never
    re-adds a code an operator removed).
    """

    __tablename__ = "ref_ehpad_mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    lpp_code: Mapped[str] = mapped_column(String(7), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("ref_ehpad_category.id"), index=True)
    reason: Mapped[str] = mapped_column(String(400))
    origin: Mapped[str] = mapped_column(String(10))  # auto | manual
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by: Mapped[str | None] = mapped_column(String(64))


class SearchEntry(Base):
    """Derived search document: one per box, LPP code and act."""

    __tablename__ = "ref_search_entry"
    __table_args__ = (Index("ix_ref_search_entry_kind_code", "kind", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # medicine | lpp | act
    code: Mapped[str] = mapped_column(String(13))
    label: Mapped[str] = mapped_column(String(1000))
    detail: Mapped[str] = mapped_column(String(600), default="")
    search_text: Mapped[str] = mapped_column(Text)  # normalized tokens (no accents, lower case)
    generic_group: Mapped[int | None] = mapped_column(Integer)
    ehpad_category_id: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[date | None] = mapped_column(Date)  # existence window of the code
    valid_to: Mapped[date | None] = mapped_column(Date)


class SearchCode(Base):
    """Every code an entry answers to exactly (CIP13, CIP7, CIS, LPP, CCAM, NGAP)."""

    __tablename__ = "ref_search_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(13), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ref_search_entry.id", ondelete="CASCADE"), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # 0: primary code of the entry
