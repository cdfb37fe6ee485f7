"""One search interface, two implementations (SQLite FTS5, PostgreSQL tsvector): same tests."""

from datetime import date

from sqlalchemy import select

from amelipro.reference import models as m
from amelipro.reference.search import SearchQuery, backend_for, naive_search, search

AT = date(2026, 8, 1)


def codes(session, q, **kw):
    return [h.code for h in search(session, SearchQuery(q, kw.pop("at", AT), **kw)).hits]


def test_backend_matches_the_database(ref_session):
    expected = "postgresql-tsvector" if ref_session.get_bind().dialect.name == "postgresql" else "sqlite-fts5"
    assert backend_for(ref_session).name == expected


FIRST_HITS = [
    ("3400935955838", "3400935955838"),  # CIP13
    ("3595583", "3400935955838"),  # CIP7
    ("60234100", "3400935955838"),  # CIS
    ("1241763", "1241763"),  # LPP
    ("deqp003", "DEQP003"),  # CCAM, any case
    ("G", "G"),  # NGAP letter key: exact code before the words starting with g
    ("doliprane 1000", "3400935955838"),
    ("dolip 1000", "3400935955838"),  # prefixes
    ("DOLIPRANE", "3400935955838"),
    ("paracétamol démo", "3400999000222"),  # accents in the query
    ("paracetamol demo", "3400999000222"),  # accents missing
    ("electrocardiographie domicile", "YYYY490"),
]


def test_code_and_text(ref_session):
    for q, first in FIRST_HITS:
        found = codes(ref_session, q)
        assert found and found[0] == first, q


def test_exact_code_is_flagged_and_first(ref_session):
    hits = search(ref_session, SearchQuery("G", AT)).hits
    assert [(h.code, h.exact) for h in hits] == [("G", True)]  # a code that matches is the answer
    words = search(ref_session, SearchQuery("medecine generale", AT)).hits
    assert {"G", "VG", "TCG", "MEG"} <= {h.code for h in words}
    assert not any(h.exact for h in words)


def test_ranking_shorter_label_first(ref_session):
    hits = search(ref_session, SearchQuery("lit", AT, kind="lpp")).hits
    assert [len(h.label) for h in hits] == sorted(len(h.label) for h in hits)


def test_several_words_all_required(ref_session):
    # "levothyrox" is a prefix of LEVOTHYROXINE too: the demo generic is found with the princeps.
    assert set(codes(ref_session, "levothyrox 100")) == {"3400930065891", "3400930121429", "3400999000116"}
    assert set(codes(ref_session, "levothyrox 100 90")) == {"3400930121429"}
    assert codes(ref_session, "doliprane clamoxyl") == []


def test_filters(ref_session):
    assert set(codes(ref_session, "comprime", kind="medicine", rate=15)) == {"3400930986080"}
    non_reimbursed = codes(ref_session, "paracetamol", reimbursable=False)
    assert non_reimbursed == ["3400999000222"]
    assert "3400935955838" in codes(ref_session, "doliprane", reimbursable=True)
    group = set(codes(ref_session, "100 comprime", generic_group=787))
    assert {"3400930065891", "3400999000116"} <= group
    cat = ref_session.scalar(select(m.EhpadCategory.id).where(m.EhpadCategory.label == "Lit médical et accessoires"))
    assert set(codes(ref_session, "lit", ehpad_category_id=cat)) == {"1241763", "1211383"}
    assert codes(ref_session, "lit", kind="act") == []


def test_date_filter(ref_session, tmp_path):
    import shutil

    from amelipro.reference.importers import DEMO_DIR
    from amelipro.reference.services import ImportConfig, import_reference

    target = tmp_path / "r2"
    shutil.copytree(DEMO_DIR, target)
    cip = target / "bdpm" / "CIS_CIP_bdpm.txt"
    cip.write_text("".join(line for line in cip.read_text(encoding="utf-8").splitlines(True)
                           if "3400934744198" not in line), encoding="utf-8")
    import_reference(ref_session, ImportConfig(source=target, effective=date(2026, 9, 1), datasets=("bdpm",)))
    assert codes(ref_session, "kardegic", at=date(2026, 8, 31)) == ["3400934744198"]
    assert codes(ref_session, "kardegic", at=date(2026, 9, 1)) == []


def test_paging(ref_session):
    first = search(ref_session, SearchQuery("comprime", AT, page_size=3))
    second = search(ref_session, SearchQuery("comprime", AT, page=2, page_size=3))
    assert len(first.hits) == 3 and first.has_next
    assert not {h.code for h in first.hits} & {h.code for h in second.hits}


def test_empty_and_garbage_queries(ref_session):
    assert codes(ref_session, "") == []
    assert codes(ref_session, '"*) OR (') == []
    assert codes(ref_session, "zzzzqqq") == []


def test_naive_scan_finds_the_same_box(ref_session):
    ids = naive_search(ref_session, SearchQuery("doliprane 1000", AT))
    entry_codes = set(ref_session.scalars(select(m.SearchEntry.code).where(m.SearchEntry.id.in_(ids))))
    assert "3400935955838" in entry_codes
