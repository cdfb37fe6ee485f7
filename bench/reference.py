"""Reference data benchmark: import times and search latency on the full real data.

For each database (SQLite always; PostgreSQL when ``AMELIPRO_BENCH_PG_URL`` or the test
server at ``AMELIPRO_TEST_PG_URL`` answers): import the full BDPM and LPP extracts (and the
other datasets) into a fresh database, then run a fixed list of queries through the search
interface and through a naive ``LIKE '%…%'`` scan; print p50/p95 and the ratio. Finally,
the same queries through HTTP (Flask test client, SQLite).

Run: ``.venv/bin/python -m bench.reference`` (or ``make bench``).
"""

from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from bench.common import drop_pg, percentile, pg_database

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# 60 queries: codes (CIP13, CIP7, CIS, LPP, CCAM, NGAP), names, prefixes, missing or wrong accents.
QUERIES = [
    "3400935955838", "3595583", "60234100", "3400930065891", "3400933054960", "3400930986080",
    "1241763", "1266390", "4592457", "DEQP003", "JQGD010", "ZCQK002", "G", "AMI", "TCG",
    "doliprane 1000", "dolip 1000", "doliprane", "DOLIPRANE 500", "levothyrox 100", "levothyrox",
    "clamoxyl 1 g", "spasfon", "kardegic 75", "paracetamol", "paracétamol 500", "paracetamol biogaran",
    "amoxicilline 500", "amox", "ibuprofene 400", "ibuprofène", "metformine 1000", "atorvastatine 20",
    "omeprazole 20", "omépra", "tramadol", "codeine", "ventoline", "insuline", "seringue",
    "lit medical", "lit médical location", "deambulateur", "fauteuil roulant", "pansement hydrocolloide",
    "coussin escarres", "sonde vesicale", "electrocardiographie", "électrocardio 12 dérivations",
    "radiographie abdomen", "accouchement", "exerese lesion", "consultation", "consultation generaliste",
    "vph lld", "perfusion domicile", "glycemie", "incontinence", "comprime secable", "gelule",
]


def _import(url: str) -> tuple[dict[str, float], float, sessionmaker]:
    from amelipro.db import make_engine
    from amelipro.migrate import upgrade
    from amelipro.models import import_all_models
    from amelipro.reference.services import ImportConfig, import_reference

    import_all_models()
    upgrade(url)
    maker = sessionmaker(make_engine(url), expire_on_commit=False)
    times: dict[str, float] = {}
    for dataset in ("bdpm", "lpp", "ccam", "ngap", "ehpad"):
        with maker() as session:
            start = time.perf_counter()
            import_reference(session, ImportConfig(source=SHARED_DATA, datasets=(dataset,), rebuild_index=False))
            times[dataset] = time.perf_counter() - start
    # The search index is built once, after all datasets, and timed alone.
    from amelipro.reference.search import rebuild_search_index

    with maker() as session:
        start = time.perf_counter()
        rebuild_search_index(session)
        session.commit()
        times["index"] = time.perf_counter() - start
    with maker() as session:
        start = time.perf_counter()
        import_reference(session, ImportConfig(source=SHARED_DATA))
        again = time.perf_counter() - start
    return times, again, maker


def _latencies(maker, fn, rounds: int = 5) -> list[float]:
    from amelipro.reference.search import SearchQuery

    at = date.today()
    out = []
    with maker() as session:
        for q in QUERIES:  # warm-up
            fn(session, SearchQuery(q, at))
        for _ in range(rounds):
            for q in QUERIES:
                start = time.perf_counter()
                fn(session, SearchQuery(q, at))
                out.append(time.perf_counter() - start)
    return out


def _bench_db(label: str, url: str) -> list[tuple[str, str]]:
    from amelipro.reference.search import naive_search, search

    times, again, maker = _import(url)
    rows = [(f"{label}: import BDPM (4 fichiers)", f"{times['bdpm']:.2f} s"),
            (f"{label}: import LPP (extraits)", f"{times['lpp']:.2f} s"),
            (f"{label}: import CCAM v81", f"{times['ccam']:.2f} s"),
            (f"{label}: reconstruction index", f"{times['index']:.2f} s"),
            (f"{label}: réimport identique (tout)", f"{again:.2f} s")]
    fast = _latencies(maker, search)
    naive = _latencies(maker, naive_search)
    p50, p95 = percentile(fast, .5), percentile(fast, .95)
    n50, n95 = percentile(naive, .5), percentile(naive, .95)
    rows += [
        (f"{label}: recherche p50 / p95", f"{p50 * 1e3:.3f} ms / {p95 * 1e3:.3f} ms ({len(QUERIES)} requêtes × 5)"),
        (f"{label}: LIKE naïf p50 / p95", f"{n50 * 1e3:.3f} ms / {n95 * 1e3:.3f} ms"),
        (f"{label}: ratio (somme naïf / somme index)", f"{sum(naive) / sum(fast):.1f}×"),
    ]
    maker.kw["bind"].dispose()
    return rows


def _bench_http(url: str) -> list[tuple[str, str]]:
    from urllib.parse import quote

    from amelipro import create_app

    app = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "bench",
                      "INSTANCE_PATH": tempfile.mkdtemp(prefix="bench-ref-")})
    client = app.test_client()
    for q in QUERIES:
        client.get(f"/api/v1/reference/search?q={quote(q)}")
    out = []
    for _ in range(3):
        for q in QUERIES:
            start = time.perf_counter()
            response = client.get(f"/api/v1/reference/search?q={quote(q)}")
            out.append(time.perf_counter() - start)
            assert response.status_code == 200
    app.extensions["amelipro.engine"].dispose()
    return [("SQLite: HTTP /api/v1/reference/search p50 / p95",
             f"{percentile(out, .5) * 1e3:.2f} ms / {percentile(out, .95) * 1e3:.2f} ms")]


def main() -> None:
    if not SHARED_DATA.is_dir():
        print(f"{'reference':<20} ignoré : {SHARED_DATA} absent")
        return
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-ref-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        rows += _bench_db("SQLite", url)
        rows += _bench_http(url)
    try:
        url = pg_database()
    except Exception:  # noqa: BLE001 - no server: the PostgreSQL half is skipped
        rows.append(("PostgreSQL", "ignoré : serveur injoignable"))
    else:
        try:
            rows += _bench_db("PostgreSQL", url)
        finally:
            drop_pg(url)
    width = max(len(r[0]) for r in rows)
    print(f"{'mesure':<{width}}  valeur")
    print(f"{'-' * width}  {'-' * 30}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
