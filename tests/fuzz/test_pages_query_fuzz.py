"""Property-based fuzz of the web pages: every GET page of the site, with ids of any size in
its path and query parameters of any shape (the names the pages read, and others; values as
numbers, dates, Unicode digits, control characters, huge numbers...), never answers a server
error, and answers HTML (or its CSV/XML download) to a logged-in professional.

Bounded for CI: ``AMELIPRO_FUZZ_EXAMPLES`` × 8 requests (200 by default).
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amelipro.auth.views import safe_next
from tests.conftest import PASSWORD, csrf_from

EXAMPLES = int(os.environ.get("AMELIPRO_FUZZ_EXAMPLES", "25")) * 8
PARAMS = ["at", "date", "deja", "ehpad", "etat", "group", "kind", "late", "retard", "mois", "month", "next",
          "page", "limit", "patient", "per_page", "rate", "status", "statut", "q", "du", "au", "min", "max",
          "reimbursable", "nir", "since"]
NASTY = ["0", "-1", "1", "2", str(2**63), str(2**64 + 1), "9" * 40, "1e999", "sNaN", "NaN", "Infinity",
         "²", "٣", "３", "1.5", "9999-12", "0005-4", "2026-02-30", "2026-05", "2026-05-11", "/%09/evil.example",
         "/\t/evil", "a\nb", "\r", "\x00", "' OR 1=1 --", "<script>", "é" * 300, "x" * 5000, ""]

values = st.one_of(st.sampled_from(NASTY), st.sampled_from(NASTY), st.text(max_size=40),
                   st.integers(min_value=-(2**70), max_value=2**70).map(str),
                   st.dates().map(lambda d: d.isoformat()))
queries = st.dictionaries(st.one_of(st.sampled_from(PARAMS), st.sampled_from(PARAMS), st.text(min_size=1, max_size=8)),
                          values, max_size=5)
ids = st.one_of(st.sampled_from([0, 1, 2, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64 + 1, 10**30]),
                st.integers(min_value=0, max_value=2**70))
codes = st.one_of(st.sampled_from(["3400930000000", "DEQP003", "G", "1234567", "x" * 300, "%00", "é"]),
                  st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="/?#%"),
                          min_size=1, max_size=20))


def _page_rules(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.rule.startswith(("/api/", "/static", "/healthz")):
            yield rule


def _login(client, login: str) -> None:
    token = csrf_from(client.get("/connexion").get_data(as_text=True))
    assert client.post("/connexion", data={"login": login, "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302


def test_no_page_answers_a_server_error_whatever_its_query(app, client, make_professional, store_lot,
                                                         make_accepted_fse):
    pro = make_professional(login="alice")
    store_lot(pro, statuses=("acceptee", "rejetee"))
    make_accepted_fse(pro)
    _login(client, "alice")
    rules = sorted(_page_rules(app), key=lambda r: r.rule)
    assert len(rules) >= 25

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def visit(data):
        rule = data.draw(st.sampled_from(rules))
        args = {name: data.draw(ids if type(conv).__name__ == "DatabaseIdConverter" else codes)
                for name, conv in rule._converters.items()}
        path = rule.rule
        for name, value in args.items():
            path = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(value).replace("%", "%25").replace("?", "%3F"), path)
        response = client.get(path, query_string=data.draw(queries))
        try:
            assert response.status_code < 500, (path, response.status_code, response.get_data(as_text=True)[:300])
            if response.status_code == 200:
                assert response.content_type.split(";")[0] in ("text/html", "text/csv", "application/xml",
                                                                "image/svg+xml"), (path, response.content_type)
        finally:
            response.close()

    visit()


@settings(max_examples=EXAMPLES * 5, deadline=None, database=None, derandomize=True)
@given(target=st.one_of(st.text(max_size=60), st.sampled_from(NASTY),
                        st.from_regex(r"\A[/\\\t\n\r %0-9A-Fa-f.:a-z]{0,20}\Z")))
def test_the_login_redirect_is_always_a_path_of_this_site(target):
    safe = safe_next(target)
    if safe is not None:
        assert safe.startswith("/") and not safe.startswith("//")
        assert not re.search(r"[\x00-\x20\x7f\\]", safe)
        assert urlsplit(safe).netloc == "" and urlsplit(safe).scheme == ""
