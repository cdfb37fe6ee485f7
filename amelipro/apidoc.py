"""The API documentation page, rendered on the server from ``static/openapi.json``.

No JavaScript viewer and no CDN: this module turns the OpenAPI document into plain frozen
values (tags → operations → parameters, bodies, responses; named schemas → fields) that the
template ``api_docs.html`` lays out. Pure: no Flask, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")
METHOD_LABELS = {"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH", "delete": "DELETE"}
TYPE_WORDS = {"string": "texte", "integer": "entier", "number": "nombre", "boolean": "booléen",
              "object": "objet", "array": "liste", "null": "null"}
FORMAT_WORDS = {"date": "date AAAA-MM-JJ", "date-time": "date et heure ISO 8601", "binary": "fichier"}


@dataclass(frozen=True)
class TypeText:
    """A schema said in words, with the named schema it refers to (for a link)."""

    text: str
    ref: str | None = None  # name of a component schema


@dataclass(frozen=True)
class Field:
    name: str
    type: TypeText
    required: bool
    description: str


@dataclass(frozen=True)
class Body:
    media_types: tuple[str, ...]
    type: TypeText | None
    fields: tuple[Field, ...]  # of an inline object
    description: str


@dataclass(frozen=True)
class Response:
    status: str
    description: str
    bodies: tuple[Body, ...]


@dataclass(frozen=True)
class Operation:
    anchor: str
    method: str
    path: str
    summary: str
    description: str
    authenticated: bool
    parameters: tuple[Field, ...]
    where: tuple[str, ...]  # where each parameter goes (same order as parameters)
    body: Body | None
    responses: tuple[Response, ...]


@dataclass(frozen=True)
class Tag:
    name: str
    anchor: str
    operations: tuple[Operation, ...]


@dataclass(frozen=True)
class Schema:
    name: str
    type: TypeText
    description: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class ApiDoc:
    title: str
    version: str
    description: str
    auth: str
    tags: tuple[Tag, ...]
    schemas: tuple[Schema, ...]


WHERE_WORDS = {"query": "paramètre d'adresse", "path": "chemin", "header": "en-tête", "cookie": "cookie"}


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (parameters, responses, request bodies)."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 10:
        parts = node["$ref"].removeprefix("#/").split("/")
        target: Any = spec
        for part in parts:
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node, seen = target, seen + 1
    return node if isinstance(node, dict) else {}


def type_text(schema: dict[str, Any] | None) -> TypeText:
    """'texte (date AAAA-MM-JJ)', 'liste de Token', 'Money ou null'…"""
    if not isinstance(schema, dict) or not schema:
        return TypeText("quelconque")
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return TypeText(name, name)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            parts = [type_text(s) for s in schema[key]]
            ref = next((p.ref for p in parts if p.ref), None)
            return TypeText(" ou ".join(p.text for p in parts), ref)
    if "allOf" in schema:
        parts = [type_text(s) for s in schema["allOf"]]
        ref = next((p.ref for p in parts if p.ref), None)
        return TypeText(" et ".join(p.text for p in parts), ref)
    if "const" in schema:
        return TypeText(f"« {schema['const']} »")
    if "enum" in schema:
        return TypeText("une valeur parmi " + ", ".join(f"« {v} »" for v in schema["enum"]))
    kind = schema.get("type", "")
    kinds = kind if isinstance(kind, list) else [kind]
    words = []
    ref = None
    for k in kinds:
        if k == "array":
            item = type_text(schema.get("items"))
            ref = ref or item.ref
            words.append(f"liste de {item.text}")
        else:
            word = TYPE_WORDS.get(k, str(k) or "quelconque")
            fmt = schema.get("format")
            if k != "null" and isinstance(fmt, str):
                word += f" ({FORMAT_WORDS.get(fmt, fmt)})"
            words.append(word)
    return TypeText(" ou ".join(words) or "quelconque", ref)


def _fields(schema: dict[str, Any]) -> tuple[Field, ...]:
    if not isinstance(schema, dict):
        return ()
    required = set(schema.get("required", []))
    return tuple(
        Field(name, type_text(prop), name in required, (prop or {}).get("description", "") if isinstance(prop, dict) else "")
        for name, prop in (schema.get("properties") or {}).items()
    )


def _body(spec: dict[str, Any], node: dict[str, Any]) -> Body:
    node = _resolve(spec, node)
    content = node.get("content") or {}
    schemas = [c.get("schema") for c in content.values() if isinstance(c, dict)]
    first = next((s for s in schemas if s), None)
    inline = first if isinstance(first, dict) and "$ref" not in first else {}
    return Body(tuple(content), type_text(first) if first else None, _fields(inline), node.get("description", ""))


def _operation(spec: dict[str, Any], path: str, method: str, op: dict[str, Any], shared: list) -> Operation:
    params = [_resolve(spec, p) for p in (shared + op.get("parameters", []))]
    security = op.get("security", spec.get("security", []))
    responses = []
    for status, response in sorted((op.get("responses") or {}).items()):
        resolved = _resolve(spec, response)
        bodies = (_body(spec, resolved),) if resolved.get("content") else ()
        responses.append(Response(str(status), resolved.get("description", ""), bodies))
    return Operation(
        anchor=f"op-{op.get('operationId') or (method + path)}".replace("/", "-").replace("{", "").replace("}", ""),
        method=METHOD_LABELS[method], path=path, summary=op.get("summary", ""), description=op.get("description", ""),
        authenticated=bool(security),
        parameters=tuple(Field(p.get("name", ""), type_text(p.get("schema")), bool(p.get("required")),
                               p.get("description", "")) for p in params),
        where=tuple(WHERE_WORDS.get(p.get("in", ""), p.get("in", "")) for p in params),
        body=_body(spec, op["requestBody"]) if op.get("requestBody") else None,
        responses=tuple(responses),
    )


def describe(spec: dict[str, Any]) -> ApiDoc:
    """The whole document as values for the page: operations grouped by tag, in the document's order."""
    by_tag: dict[str, list[Operation]] = {t["name"]: [] for t in spec.get("tags", []) if "name" in t}
    for path, item in (spec.get("paths") or {}).items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method in item:
                op = item[method]
                tag = (op.get("tags") or ["Autres"])[0]
                by_tag.setdefault(tag, []).append(_operation(spec, path, method, op, shared))
    tags = tuple(Tag(name, "tag-" + str(i), tuple(ops)) for i, (name, ops) in enumerate(by_tag.items()) if ops)
    schemas = tuple(
        Schema(name, type_text({k: v for k, v in s.items() if k not in ("properties", "required")}),
               s.get("description", ""), _fields(s))
        for name, s in (spec.get("components", {}).get("schemas") or {}).items() if isinstance(s, dict)
    )
    bearer = next(iter((spec.get("components", {}).get("securitySchemes") or {}).values()), {})
    info = spec.get("info", {})
    return ApiDoc(info.get("title", "API"), str(info.get("version", "")), info.get("description", ""),
                  bearer.get("description", ""), tags, schemas)
