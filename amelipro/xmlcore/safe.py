"""The one entry point for untrusted XML bytes.

lxml with every dangerous feature off (no entity expansion, no DTD loading, no network,
no huge trees, XInclude never processed), a size limit checked *before* parsing, a depth
limit, and refusals of DOCTYPE, entities, external references, processing instructions and
XInclude elements, each with its own stable code (``amelipro.xmlcore.errors``).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from amelipro.xmlcore import errors

XINCLUDE_NAMESPACES = ("http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude")


@dataclass(frozen=True)
class ParseLimits:
    """Limits of the safe parser (config keys ``XML_MAX_BYTES`` and ``XML_MAX_DEPTH``)."""

    max_bytes: int = 20 * 1024 * 1024
    max_depth: int = 64

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ParseLimits:
        return cls(
            max_bytes=int(config.get("XML_MAX_BYTES", cls.max_bytes)),
            max_depth=int(config.get("XML_MAX_DEPTH", cls.max_depth)),
        )


DEFAULT_LIMITS = ParseLimits()


class _RefuseResolver(etree.Resolver):
    """Never resolve anything (belt and braces: loading is already off)."""

    def resolve(self, url, pubid, context):  # noqa: ARG002
        raise etree.XMLSyntaxError(f"external resource refused: {url}", None, 0, 0)


#: The parser's options, for the whole-tree parser and its streamed form alike.
# NB: collect_ids=False makes libxml2 try to load an external DTD subset: keep the default.
_OPTIONS: dict[str, bool] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "attribute_defaults": False,
    "huge_tree": False,
    "remove_blank_text": False,
}


def _new_parser() -> etree.XMLParser:
    parser = etree.XMLParser(**_OPTIONS)
    parser.resolvers.add(_RefuseResolver())
    return parser


def iterparse_untrusted(data: bytes, events: tuple[str, ...], tag: tuple[str, ...]) -> etree.iterparse:
    """The same parser, streamed (lxml ``iterparse`` over ``data``), for a reader that keeps
    only part of the tree (``xmlcore.lot``). Only the parser's own protections apply here: the
    caller checks the size before and the doctype, processing instructions, depth and XInclude
    as it reads, and hands anything unusual to :func:`parse_untrusted`."""
    parser = etree.iterparse(io.BytesIO(data), events=events, tag=tag, **_OPTIONS)
    parser.resolvers.add(_RefuseResolver())
    return parser


# lxml parsers are not thread-safe: one per thread.
_local = threading.local()


def _parser() -> etree.XMLParser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = _new_parser()
    return parser


def _depth_xpath(max_depth: int) -> etree.XPath:
    cache = _local.__dict__.setdefault("depth", {})
    xp = cache.get(max_depth)
    if xp is None:
        xp = cache[max_depth] = etree.XPath("boolean(/" + "/".join(["*"] * (max_depth + 1)) + ")")
    return xp


_HAS_PI = etree.XPath("boolean(//processing-instruction())")
_XINCLUDE_TAGS = tuple(f"{{{ns}}}*" for ns in XINCLUDE_NAMESPACES)


def parse_untrusted(data: bytes, limits: ParseLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse untrusted bytes; return the root element or raise :class:`UnsafeXmlError`.

    Refusals (codes): empty XML-001, too large XML-002, not well-formed XML-003, DOCTYPE
    XML-004, entity XML-005, external DTD/entity XML-006, processing instruction XML-007,
    too deep XML-008, XInclude XML-009. Comments are allowed (they are never signed content).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("parse_untrusted expects bytes")
    size = len(data)
    if size == 0:
        raise errors.UnsafeXmlError(errors.EMPTY)
    if size > limits.max_bytes:
        raise errors.UnsafeXmlError(
            errors.TOO_LARGE, f"{size} octets reçus, limite {limits.max_bytes} octets."
        )
    try:
        root = etree.fromstring(bytes(data), parser=_parser())
    except etree.XMLSyntaxError as exc:
        if not bytes(data).strip():
            raise errors.UnsafeXmlError(errors.EMPTY) from None
        raise _syntax_error(exc) from None
    if root is None:  # pragma: no cover - lxml raises for an empty document
        raise errors.UnsafeXmlError(errors.EMPTY)
    tree = root.getroottree()
    _check_doctype(tree)
    if _HAS_PI(tree):
        pi = tree.xpath("//processing-instruction()")[0]
        raise errors.UnsafeXmlError(
            errors.PROCESSING_INSTRUCTION, f"<?{pi.target} ...?>", line=pi.sourceline
        )
    if _depth_xpath(limits.max_depth)(tree):
        raise errors.UnsafeXmlError(
            errors.TOO_DEEP, f"Profondeur maximale : {limits.max_depth} niveaux."
        )
    xinclude = next(root.iter(*_XINCLUDE_TAGS), None)
    if xinclude is not None:
        raise errors.UnsafeXmlError(errors.XINCLUDE, etree.QName(xinclude).localname,
                                    line=xinclude.sourceline)
    return root


def _check_doctype(tree: etree._ElementTree) -> None:
    info = tree.docinfo
    dtd = info.internalDTD
    has_doctype = bool(info.doctype) or dtd is not None or info.externalDTD is not None
    if not has_doctype:
        return
    if info.system_url or info.public_id:
        raise errors.UnsafeXmlError(errors.EXTERNAL, f"DTD externe : {info.system_url or info.public_id}")
    if dtd is not None:
        entities = list(dtd.iterentities())
        for entity in entities:
            if entity.system_url or getattr(entity, "public_id", None):
                raise errors.UnsafeXmlError(
                    errors.EXTERNAL, f"Entité externe : {entity.name} ({entity.system_url})"
                )
        if entities:
            raise errors.UnsafeXmlError(errors.ENTITY, f"Entité déclarée : {entities[0].name}")
    raise errors.UnsafeXmlError(errors.DOCTYPE, line=1)


# libxml2's error codes -> what is wrong, in French. The parser's own (English) text is never
# shown: only this description, the line (``line``) and the column (in ``detail``).
_E = etree.ErrorTypes
_SYNTAX_FR = {
    _E.ERR_DOCUMENT_EMPTY: "le document ne commence pas par un élément (« < » attendu)",
    _E.ERR_DOCUMENT_END: "contenu après la fin de l'élément racine",
    _E.ERR_TAG_NAME_MISMATCH: "balise de fin qui ne correspond pas à la balise ouvrante",
    _E.ERR_TAG_NOT_FINISHED: "document interrompu : un élément n'est pas refermé",
    _E.ERR_GT_REQUIRED: "balise non terminée (« > » attendu)",
    _E.ERR_NAME_REQUIRED: "nom d'élément invalide",
    _E.ERR_ATTRIBUTE_NOT_STARTED: "valeur d'attribut sans guillemets",
    _E.ERR_ATTRIBUTE_WITHOUT_VALUE: "attribut sans valeur",
    _E.ERR_ATTRIBUTE_REDEFINED: "attribut répété sur un même élément",
    _E.ERR_LT_IN_ATTRIBUTE: "caractère « < » dans une valeur d'attribut",
    _E.ERR_UNDECLARED_ENTITY: "entité non déclarée (écrivez le texte, ou &amp;amp; pour « & »)",
    _E.ERR_INVALID_CHAR: "caractère interdit en XML",
    _E.ERR_INVALID_ENCODING: "octets invalides pour l'encodage déclaré (UTF-8 attendu)",
    _E.ERR_UNSUPPORTED_ENCODING: "encodage non pris en charge (UTF-8 attendu)",
    _E.ERR_STRING_NOT_CLOSED: "chaîne non refermée",
    _E.ERR_COMMENT_NOT_FINISHED: "commentaire non refermé",
    _E.ERR_CDATA_NOT_FINISHED: "section CDATA non refermée",
}


def _syntax_error(exc: etree.XMLSyntaxError) -> errors.UnsafeXmlError:
    """The refusal for a syntax error: its code, the line, and a French detail (never the
    parser's text, which echoes names and values of the document in English)."""
    lowered = str(exc.msg or exc).lower()
    line = exc.lineno or None
    if "document is empty" in lowered:
        return errors.UnsafeXmlError(errors.EMPTY)
    if "external resource refused" in lowered or "failed to load" in lowered:
        return errors.UnsafeXmlError(errors.EXTERNAL, _where(exc), line=line)
    if "excessive depth" in lowered or "maximum depth" in lowered:
        return errors.UnsafeXmlError(errors.TOO_DEEP, line=line)
    if "huge input lookup" in lowered or "xmlsax2characters: huge text node" in lowered:
        return errors.UnsafeXmlError(errors.TOO_LARGE, line=line)
    if "entity" in lowered and ("not defined" in lowered or "amplification" in lowered
                                or "loop" in lowered):
        return errors.UnsafeXmlError(errors.ENTITY, _where(exc, "entité non déclarée ou imbriquée"),
                                     line=line)
    return errors.UnsafeXmlError(errors.MALFORMED, _where(exc, _SYNTAX_FR.get(exc.code, "")), line=line)


def _where(exc: etree.XMLSyntaxError, what: str = "") -> str:
    """« <what>, colonne N » in French, from the parser's position only."""
    column = exc.position[1] if isinstance(exc.position, tuple) and len(exc.position) == 2 else None
    parts = [what] if what else []
    if column:
        parts.append(f"colonne {column}")
    text = ", ".join(parts)
    return text[:1].upper() + text[1:] + "." if text else ""
