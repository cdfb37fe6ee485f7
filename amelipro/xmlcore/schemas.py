"""The schema registry: the published XSD (top-level ``xsd/``, reached as ``amelipro/xsd`` through a link and shipped in the wheel) loaded once, validated fast with lxml,
explained with xmlschema (every error with a stable code, a French reason, a path and a line).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from amelipro.codes import ErrorCode
from amelipro.issues import Issue
from amelipro.xmlcore import errors

FSE_NS = "urn:amelipro:fse:1"
LOT_NS = "urn:amelipro:lot:1"
ARL_NS = "urn:amelipro:arl:1"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"

FSE_TAG = f"{{{FSE_NS}}}FSE"
LOT_TAG = f"{{{LOT_NS}}}Lot"
ARL_TAG = f"{{{ARL_NS}}}ARL"

#: schema name -> (file under xsd/, root tag)
SCHEMAS: dict[str, tuple[str, str]] = {
    "fse": ("fse/1/fse.xsd", FSE_TAG),
    "fse2": ("fse/2/fse.xsd", FSE_TAG),
    "lot": ("fse/1/lot.xsd", LOT_TAG),
    "arl": ("fse/1/arl.xsd", ARL_TAG),
}


#: FSE ``version`` attribute -> schema name (same namespace; the attribute picks the schema)
FSE_VERSIONS: dict[str, str] = {"1": "fse", "2": "fse2"}


def fse_schema_name(element: etree._Element) -> str:
    """The schema an FSE element is validated against, by its ``version`` attribute.

    An unknown or missing version is validated against version 1, whose fixed ``version``
    attribute then reports it (a located schema error, never an exception)."""
    return FSE_VERSIONS.get((element.get("version") or "").strip(), "fse")


def default_xsd_dir() -> Path:
    """The schemas shipped inside the package (``xsd/`` at the top of the checkout, linked as ``amelipro/xsd``; copied into the wheel)."""
    return Path(__file__).resolve().parents[1] / "xsd"


#: The XML core's errors are the project's one error shape (``amelipro.issues.Issue``): schema
#: and lot errors, and the ARL's ``Erreur`` elements (``amelipro.xmlcore.arl.ArlError``).
XmlIssue = Issue


def element_path(element: etree._Element, root: etree._Element | None = None) -> str:
    """XPath-like path of ``element`` from ``root`` (default: its document root), with local
    names and a 1-based ``[k]`` index when same-named siblings exist: ``/FSE/Lignes/Medicament[2]/Code``."""
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None:
            same = [s for s in parent.iterchildren(node.tag)]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        steps.append(name)
        if node is root:
            break
        node = parent
    return "/" + "/".join(reversed(steps))


LineOf = Callable[[etree._Element], int | None]


class SchemaRegistry:
    """The XSD of ``directory`` (default: the shipped ``xsd/``), loaded once.

    lxml schemas are kept per thread (an lxml validator's error log is not thread-safe);
    xmlschema schemas are built on the first explanation needed.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory else default_xsd_dir()
        self._local = threading.local()
        self._explainers: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._lxml()  # fail early on a broken schema

    def _lxml(self) -> dict[str, etree.XMLSchema]:
        schemas = getattr(self._local, "schemas", None)
        if schemas is None:
            schemas = {}
            for name, (rel, _tag) in SCHEMAS.items():
                # The schema files are ours (trusted), but parse them without network anyway.
                parser = etree.XMLParser(resolve_entities=False, no_network=True)
                schemas[name] = etree.XMLSchema(etree.parse(str(self.directory / rel), parser))
            self._local.schemas = schemas
        return schemas

    def _explainer(self, name: str):
        with self._lock:
            schema = self._explainers.get(name)
            if schema is None:
                import xmlschema

                schema = xmlschema.XMLSchema10(str(self.directory / SCHEMAS[name][0]))
                self._explainers[name] = schema
            return schema

    def is_valid(self, element: etree._Element, name: str) -> bool:
        """Fast path (lxml): is ``element`` valid against schema ``name``?"""
        return bool(self._lxml()[name].validate(element))

    def validate(self, element: etree._Element, name: str, *,
                 line_of: LineOf | None = None) -> list[XmlIssue]:
        """Every schema error of ``element`` (empty list when valid).

        Paths start at ``element`` (``/FSE/...``); ``line_of`` maps an element to its line in
        the received document (default: the element's own ``sourceline``).
        """
        schema = self._lxml()[name]
        if schema.validate(element):
            return []
        line_of = line_of or (lambda e: e.sourceline)
        issues = self._explain(element, name, line_of)
        if not issues:  # xmlschema disagrees with lxml: report what lxml saw
            issues = [
                XmlIssue.of(_lxml_code(entry.type_name), "", None, entry.line or None)
                for entry in schema.error_log
            ]
        return issues

    def _explain(self, element: etree._Element, name: str, line_of: LineOf) -> list[XmlIssue]:
        explainer = self._explainer(name)
        issues: list[XmlIssue] = []
        for err in explainer.iter_errors(element):
            elem = err.elem if isinstance(err.elem, etree._Element) else None
            child = getattr(err, "invalid_child", None)
            if isinstance(child, etree._Element):
                elem = child
            code, detail = _explain_error(err, elem)
            issues.append(
                XmlIssue.of(
                    code, detail,
                    element_path(elem, element) if elem is not None else err.path,
                    line_of(elem) if elem is not None else None,
                )
            )
        return issues


@lru_cache(maxsize=4)
def get_registry(directory: str | None = None) -> SchemaRegistry:
    """The process-wide registry of ``directory`` (default: the shipped ``xsd/``): built once."""
    return SchemaRegistry(Path(directory) if directory else None)


# --- explanations ------------------------------------------------------------------------

def _local(tag: Any) -> str:
    try:
        return etree.QName(tag).localname
    except (ValueError, TypeError):
        return str(tag)


def _documentation(validator: Any) -> str:
    """The xs:documentation of the simple type that carries a failed facet, if any."""
    node = getattr(validator, "parent", None) or validator
    for _ in range(3):
        annotation = getattr(node, "annotation", None)
        if annotation is not None and str(annotation).strip():
            return str(annotation).strip().rstrip(".")
        node = getattr(node, "parent", None)
        if node is None:
            break
    return ""


def _explain_error(err: Any, elem: etree._Element | None) -> tuple[ErrorCode, str]:
    kind = type(err).__name__
    validator = err.validator
    vname = type(validator).__name__
    where = f"« {_local(elem.tag)} »" if elem is not None else ""
    value = (elem.text or "").strip() if elem is not None else ""
    doc = _documentation(validator)
    doc_suffix = f" ({doc})" if doc else ""
    if kind == "XMLSchemaChildrenValidationError":
        expected = [_local(getattr(e, "name", e)) for e in (err.expected or [])]
        invalid_child = err.invalid_child
        if invalid_child is not None:
            parent = invalid_child.getparent()
            inside = f" dans « {_local(parent.tag)} »" if parent is not None else ""
            text = f"Élément « {_local(invalid_child.tag)} » inattendu{inside}"
            if expected:
                text += f" ; attendu : {', '.join(expected)}"
            return errors.XSD_UNEXPECTED, text + "."
        return errors.XSD_MISSING, (
            f"Contenu incomplet de {where} ; manque : {', '.join(expected) or '?'}."
        )
    if vname == "XsdPatternFacets":
        return errors.XSD_PATTERN, f"Valeur « {value} » refusée pour {where}{doc_suffix}."
    if vname == "XsdEnumerationFacets":
        allowed = ", ".join(str(v) for v in getattr(validator, "enumeration", []))
        return errors.XSD_ENUMERATION, f"Valeur « {value} » pour {where} ; valeurs permises : {allowed}."
    if vname in ("XsdLengthFacet", "XsdMinLengthFacet", "XsdMaxLengthFacet"):
        return errors.XSD_LENGTH, f"Longueur de {where} : {getattr(validator, 'value', '')} attendu."
    if vname in ("XsdMinInclusiveFacet", "XsdMaxInclusiveFacet",
                 "XsdMinExclusiveFacet", "XsdMaxExclusiveFacet", "XsdTotalDigitsFacet"):
        bound = {
            "XsdMinInclusiveFacet": "minimum", "XsdMaxInclusiveFacet": "maximum",
            "XsdMinExclusiveFacet": "strictement supérieur à",
            "XsdMaxExclusiveFacet": "strictement inférieur à",
            "XsdTotalDigitsFacet": "chiffres au plus",
        }[vname]
        return errors.XSD_RANGE, f"Valeur « {value} » pour {where} ; {bound} {getattr(validator, 'value', '')}."
    if vname == "XsdFractionDigitsFacet":
        return errors.XSD_DECIMALS, f"Valeur « {value} » pour {where} : {getattr(validator, 'value', '')} décimales au plus."
    reason = str(err.reason or "")
    if vname == "XsdAttributeGroup" or "attribute" in reason:
        match = re.search(r"'([^']+)' attribute not allowed", reason)
        if match:
            return errors.XSD_ATTRIBUTE_UNEXPECTED, f"Attribut « {match.group(1)} » non prévu sur {where}."
        match = re.search(r"missing required attribute '([^']+)'", reason)
        if match:
            return errors.XSD_ATTRIBUTE_MISSING, f"Attribut « {_local(match.group(1))} » manquant sur {where}."
    if "duplicated" in reason.lower() or "duplicate" in reason.lower():
        return errors.XSD_DUPLICATE_ID, f"Identifiant en double sur {where}."
    if kind == "XMLSchemaDecodeError" or "XsdAtomic" in vname or "XsdSimple" in vname:
        type_name = _local(getattr(validator, "name", None) or "") or "?"
        return errors.XSD_VALUE, f"Valeur « {value} » invalide pour {where} (type {_type_fr(type_name)}){doc_suffix}."
    if reason in _REASONS_FR:
        return errors.XSD_RANGE, f"Valeur « {value} » pour {where} : {_REASONS_FR[reason]}."
    if "is not an element of the schema" in reason or "not an element" in reason:
        return errors.XSD_UNEXPECTED, f"Élément {where} inconnu du schéma."
    # xmlschema's own reason is English: the code's French message, and where.
    return errors.XSD_INVALID, f"Contenu non conforme au schéma pour {where}." if where else ""


_REASONS_FR = {
    "value must be positive": "doit être strictement positive",
    "value must be non negative": "doit être positive ou nulle",
    "value must be negative": "doit être strictement négative",
    "value must be non positive": "doit être négative ou nulle",
}

_TYPES_FR = {
    "date": "date AAAA-MM-JJ", "dateTime": "horodatage AAAA-MM-JJThh:mm:ssZ",
    "decimal": "nombre décimal", "integer": "entier", "positiveInteger": "entier positif",
    "nonNegativeInteger": "entier positif ou nul", "boolean": "booléen true/false",
    "ID": "identifiant",
}


def _type_fr(name: str) -> str:
    return _TYPES_FR.get(name, name)


_LXML_CODES = {
    "SCHEMAV_ELEMENT_CONTENT": errors.XSD_UNEXPECTED,
    "SCHEMAV_CVC_COMPLEX_TYPE_2_4": errors.XSD_MISSING,
    "SCHEMAV_CVC_PATTERN_VALID": errors.XSD_PATTERN,
    "SCHEMAV_CVC_ENUMERATION_VALID": errors.XSD_ENUMERATION,
    "SCHEMAV_CVC_LENGTH_VALID": errors.XSD_LENGTH,
    "SCHEMAV_CVC_MINLENGTH_VALID": errors.XSD_LENGTH,
    "SCHEMAV_CVC_MAXLENGTH_VALID": errors.XSD_LENGTH,
    "SCHEMAV_CVC_MININCLUSIVE_VALID": errors.XSD_RANGE,
    "SCHEMAV_CVC_MAXINCLUSIVE_VALID": errors.XSD_RANGE,
    "SCHEMAV_CVC_MINEXCLUSIVE_VALID": errors.XSD_RANGE,
    "SCHEMAV_CVC_MAXEXCLUSIVE_VALID": errors.XSD_RANGE,
    "SCHEMAV_CVC_TOTALDIGITS_VALID": errors.XSD_RANGE,
    "SCHEMAV_CVC_FRACTIONDIGITS_VALID": errors.XSD_DECIMALS,
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_1": errors.XSD_VALUE,
    "SCHEMAV_CVC_COMPLEX_TYPE_4": errors.XSD_ATTRIBUTE_MISSING,
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_1": errors.XSD_ATTRIBUTE_UNEXPECTED,
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_2": errors.XSD_ATTRIBUTE_UNEXPECTED,
    "SCHEMAV_CVC_IDC": errors.XSD_DUPLICATE_ID,
}


def _lxml_code(type_name: str) -> ErrorCode:
    return _LXML_CODES.get(type_name, errors.XSD_INVALID)


