"""The OpenAPI description (amelipro/static/openapi.json) matches the app's routes, so it cannot drift."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import amelipro

SPEC_FILE = Path(amelipro.__file__).parent / "static" / "openapi.json"
METHODS = {"get", "post", "put", "patch", "delete"}
# Public without a token: the reference data, the health check and the descriptions themselves.
PUBLIC = re.compile(r"^(/healthz|/api/v1/openapi\.json|/api/v1/reference/.*)$")


@pytest.fixture(scope="module")
def spec() -> dict:
    return json.loads(SPEC_FILE.read_text(encoding="utf-8"))


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def app_routes(app) -> dict[str, set[str]]:
    """Every /api/v1/... and /healthz rule as an OpenAPI path, with its methods."""
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule == "/healthz" or rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            routes.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    return routes


def test_document_is_openapi_3_1(spec):
    assert re.fullmatch(r"3\.1\.\d+", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["errors"]
    assert error["properties"]["errors"]["items"]["required"] == ["code", "message"]


def test_every_route_is_described_with_exactly_its_methods(app, spec):
    described = {path: {m for m in item if m in METHODS} for path, item in spec["paths"].items()}
    routes = app_routes(app)
    assert set(routes) - set(described) == set(), "routes missing from openapi.json"
    assert set(described) - set(routes) == set(), "described paths the app does not have"
    assert {p: described[p] for p in routes} == routes


def test_every_operation_has_a_unique_operation_id_and_responses(spec):
    ids = [op.get("operationId") for _, _, op in operations(spec)]
    assert all(ids) and len(ids) == len(set(ids))
    for path, method, op in operations(spec):
        assert op.get("responses"), f"{method} {path} has no responses"
        assert any(code.startswith("2") for code in op["responses"]), f"{method} {path}: no success answer"


def test_path_parameters_match_the_template(spec):
    for path, method, op in operations(spec):
        declared = set()
        for param in op.get("parameters", []):
            if "$ref" in param:
                param = resolve(spec, param["$ref"])
            if param["in"] == "path":
                assert param["required"] is True
                declared.add(param["name"])
        assert declared == set(re.findall(r"{(\w+)}", path)), f"{method} {path}"


def test_security_bearer_exactly_on_non_public_operations(spec):
    assert "security" not in spec  # no document-wide default: each operation says it
    for path, method, op in operations(spec):
        if PUBLIC.match(path):
            assert not op.get("security"), f"{method} {path} is public"
            assert "401" not in op["responses"]
        else:
            assert op.get("security") == [{"bearerAuth": []}], f"{method} {path} needs the bearer token"
            assert "401" in op["responses"]


def test_idempotency_key_and_xml_body_on_lot_submission(spec):
    op = spec["paths"]["/api/v1/lots"]["post"]
    headers = {p["name"] for p in op["parameters"] if p["in"] == "header"}
    assert "Idempotency-Key" in headers
    assert "application/xml" in op["requestBody"]["content"]
    assert {"201", "400", "401", "403", "409", "413", "415", "422", "503"} <= set(op["responses"])
    assert "application/xml" in op["responses"]["201"]["content"]


def resolve(spec: dict, pointer: str):
    assert pointer.startswith("#/"), pointer
    node = spec
    for part in pointer[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolved $ref {pointer}"
        node = node[part]
    return node


def test_every_ref_resolves(spec):
    refs = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    assert refs
    for pointer in refs:
        resolve(spec, pointer)


def test_served_without_token(client, spec):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == spec


def test_security_matches_the_app(app, client, spec):
    """Called without a token, a documented bearer operation answers 401 AUTH-010, a public one never 401."""
    for path, method, op in operations(spec):
        url = re.sub(r"{\w+}", "1", path)
        response = client.open(url, method=method.upper())
        if op.get("security"):
            assert response.status_code == 401, f"{method} {path}"
            assert response.get_json()["errors"][0]["code"] == "AUTH-010"
        else:
            assert response.status_code != 401, f"{method} {path}"
