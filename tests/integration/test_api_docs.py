"""The API documentation page: rendered on the server from static/openapi.json, public, local."""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path

from amelipro import apidoc

SPEC = json.loads((Path(__file__).resolve().parents[2] / "amelipro" / "static" / "openapi.json").read_text("utf-8"))


def test_every_operation_and_schema_is_on_the_page(client):
    response = client.get("/documentation-api")
    assert response.status_code == 200
    page = htmllib.unescape(response.get_data(as_text=True))
    for path, item in SPEC["paths"].items():
        for method in ("get", "post", "put", "patch", "delete"):
            if method in item:
                assert f"{method.upper()}</span> <code>{path}</code>" in page, (method, path)
                assert item[method]["summary"] in page
    for name in SPEC["components"]["schemas"]:
        assert f'id="schema-{name}"' in page, name
    # Links between operations and schemas resolve on the page itself.
    for target in re.findall(r'href="#([^"]+)"', page):
        assert f'id="{target}"' in page, target
    # Nothing fetched from elsewhere: no script, no external stylesheet.
    assert "<script" not in page and not re.search(r'(src|href)="(https?:)?//', page)


def test_types_in_words():
    assert apidoc.type_text({"$ref": "#/components/schemas/Money"}) == apidoc.TypeText("Money", "Money")
    assert apidoc.type_text({"type": ["string", "null"], "format": "date"}).text == "texte (date AAAA-MM-JJ) ou null"
    assert apidoc.type_text({"type": "array", "items": {"$ref": "#/components/schemas/Token"}}) == \
        apidoc.TypeText("liste de Token", "Token")
    assert apidoc.type_text({"anyOf": [{"$ref": "#/components/schemas/Money"}, {"type": "null"}]}).text == "Money ou null"
    assert apidoc.type_text({"enum": ["paye", "rejete"]}).text == "une valeur parmi « paye », « rejete »"
    doc = apidoc.describe(SPEC)
    ops = [op for tag in doc.tags for op in tag.operations]
    assert len(ops) == sum(1 for item in SPEC["paths"].values() for m in item if m in apidoc.METHODS)
    lots = next(op for op in ops if op.path == "/api/v1/lots" and op.method == "POST")
    assert lots.authenticated and lots.parameters[0].name == "Idempotency-Key" and lots.where[0] == "en-tête"
    assert {r.status for r in lots.responses} >= {"201", "401", "422"}
    assert next(op for op in ops if op.path == "/healthz").authenticated is False
