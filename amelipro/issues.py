"""The one error shape, from the XML core to the ARL, the stored FSE and the JSON API: a
located, explained error (:class:`Issue`). Pure: no database, no web, no XML.

Its dict form (``as_dict``: stored ``errors_json``, JSON answers, ``LotRefusedError``) keeps
the keys each source always wrote, in their order: the issue's ``layout`` says which, one
name a key written when its value is not None, ``+name`` always, ``~name`` only when not
empty, and ``*`` where the ``extras`` go (those not None).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from dataclasses import field as _field
from typing import Any

from amelipro.codes import ErrorCode

Layout = tuple[str, ...]

#: The XML core (schema, signature, lot envelope); the ARL's ``Erreur``.
XML: Layout = ("+code", "+message", "~hint", "~detail", "path", "line")
#: A billing rule, on the care sheet (its ``line`` is the care sheet's line).
RULE: Layout = ("+code", "+message", "+hint", "+path", "+detail", "line", "*")
#: A billing rule placed in the received lot: XPath ``path``, received ``line``.
RULE_PLACED: Layout = ("+code", "+message", "+hint", "+path", "+detail", "*", "fse_line", "+field", "line")
#: An FSE refused with its lot (signature, schema): which FSE of the lot.
LOT_REFUSAL: Layout = ("+code", "+message", "~hint", "~detail", "+path", "line", "+fse", "+element_id")
#: An invoice number already used: which FSE holds it (``*``).
INVOICE: Layout = ("+code", "+message", "+hint", "+field", "+path", "+detail", "*", "line")
#: A field of the online form.
FORM: Layout = ("+code", "+message", "+hint", "+field", "~detail")
#: A billing rule shown on the online form, at its field.
FORM_RULE: Layout = ("+code", "+message", "+hint", "+detail", "*", "+field")

_OWN = ("code", "message", "hint", "detail", "path", "line", "field", "fse_line", "fse", "element_id")


@dataclass(frozen=True)
class Issue:
    """One located error: what practice software shows its user (``message``, ``hint``),
    where (``path`` in the document, ``line`` received; ``field`` and ``fse_line`` on the care
    sheet; ``fse`` and ``element_id`` in the lot) and what else its source knows (``extras``:
    ``cpam_code``, ``expected``, ``received``, ``original_fse_id``...)."""

    code: str
    message: str  # French
    hint: str = ""
    detail: str = ""
    path: str | None = None
    line: int | None = None
    field: str | None = None
    fse_line: int | None = None
    fse: int | None = None
    element_id: str | None = None
    extras: tuple[tuple[str, Any], ...] = ()
    layout: Layout = _field(default=XML, compare=False, repr=False)

    @classmethod
    def of(cls, error: ErrorCode, detail: str = "", path: str | None = None,
           line: int | None = None, **more: Any) -> Issue:
        return cls(error.code, error.message, error.hint, detail, path, line, **more)

    @classmethod
    def from_error(cls, exc: Any) -> Issue:
        """From an ``amelipro.xmlcore.errors.XmlError`` (its code, detail, path and line)."""
        return cls(exc.code, exc.error.message, exc.error.hint, exc.detail, exc.path, exc.line)

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Issue:
        """From its dict form (stored errors, JSON): the same keys, in the same order."""
        own = {k: value[k] for k in _OWN if k in value}
        line = own.get("line")
        own["line"] = int(line) if line else None
        own.update(code=str(value["code"]), message=str(value.get("message", "")),
                   hint=str(value.get("hint") or ""), detail=str(value.get("detail") or ""))
        extras = tuple((k, v) for k, v in value.items() if k not in _OWN)
        return cls(**own, extras=extras, layout=tuple(f"+{k}" for k in value))

    @classmethod
    def from_any(cls, value: Issue | Mapping[str, Any]) -> Issue:
        return value if isinstance(value, Issue) else cls.from_dict(value)

    def extra(self, name: str, default: Any = None) -> Any:
        return next((v for k, v in self.extras if k == name), default)

    @property
    def cpam_code(self) -> str | None:
        """The real CPAM reject code when one matches (rule errors)."""
        return self.extra("cpam_code")

    def laid_out(self, layout: Layout, **changes: Any) -> Issue:
        return replace(self, layout=layout, **changes)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for entry in self.layout:
            if entry == "*":
                out.update((k, v) for k, v in self.extras if v is not None)
                continue
            name = entry.lstrip("+~")
            value = getattr(self, name) if name in _OWN else self.extra(name)
            if entry[0] == "+" or (value if entry[0] == "~" else value is not None):
                out[name] = value
        return out


def as_dicts(issues: Iterable[Issue]) -> list[dict[str, Any]]:
    """The dict forms of ``issues``, for JSON answers and storage."""
    return [i.as_dict() for i in issues]


__all__ = ["FORM", "FORM_RULE", "INVOICE", "LOT_REFUSAL", "RULE", "RULE_PLACED", "XML", "Issue",
           "Layout", "as_dicts"]
