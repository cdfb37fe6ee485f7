"""The lines of a lot's FSE elements in the received document, to place the errors found
after the lot's tree is gone (a lot is read FSE by FSE and each element emptied once read:
``xmlcore.lot.read_lot_each``).

:class:`LotLines` reads them again from the lot's bytes, once, the first time an error must
be placed (most lots have none): nothing is kept per FSE while the lot is read. For each FSE a
:class:`SourceLines`: ``line_at(path)`` is ``document.walk(element, path)[0].sourceline``, the
received line of the deepest element reached by a path of ``document.field_path``.
"""

from __future__ import annotations

from lxml import etree

from amelipro.xmlcore.safe import ParseLimits, iterparse_untrusted, parse_untrusted
from amelipro.xmlcore.schemas import FSE_NS, FSE_TAG, LOT_TAG

F = f"{{{FSE_NS}}}"
_F_LEN = len(F)
_F_ANY = f"{F}*"


class _Shape:
    """The FSE-namespace elements of an FSE (as :func:`walk` reaches them), shared by the FSE
    laid out alike: each element's children by local name, in order."""

    __slots__ = ("children",)

    def __init__(self, key: tuple[tuple[int, str], ...]) -> None:
        children: dict[tuple[int, str], list[int]] = {}
        for index, (parent, name) in enumerate(key):
            if parent >= 0:
                children.setdefault((parent, name), []).append(index)
        self.children = children


class SourceLines:
    """The received lines of an FSE's elements, to locate errors once its tree is released:
    ``line_at(path)`` is ``walk(element, path)[0].sourceline``. A few bytes per FSE: the
    shape and the lines relative to the FSE's own are shared by the FSE laid out alike."""

    __slots__ = ("shape", "offsets", "line")

    def __init__(self, shape: _Shape, offsets: tuple[int | None, ...], line: int | None) -> None:
        self.shape, self.offsets, self.line = shape, offsets, line

    def line_at(self, path: str) -> int | None:
        steps = path.strip("/").split("/")
        node = 0
        if steps and steps[0] == "FSE":
            children = self.shape.children
            for step in steps[1:]:
                name, _, index = step.partition("[")
                found = children.get((node, name), ())
                k = int(index.rstrip("]")) - 1 if index else 0
                if not 0 <= k < len(found):
                    break
                node = found[k]
        offset = self.offsets[node]
        return None if offset is None or self.line is None else self.line + offset


def source_lines(element: etree._Element, memo: dict) -> SourceLines:
    """The :class:`SourceLines` of a received FSE element; ``memo`` (a dict kept for a lot)
    shares the shapes and relative lines of the FSE laid out alike."""
    index = {element: 0}
    key: list[tuple[int, str]] = [(-1, "")]
    nodes = [element]
    for node in element.iterdescendants(_F_ANY):  # in document order: a parent before its children
        parent = index.get(node.getparent())
        if parent is None:  # below an element of another namespace (the signature): out of walk's reach
            continue
        index[node] = len(nodes)
        nodes.append(node)
        key.append((parent, node.tag[_F_LEN:]))
    base = element.sourceline
    offsets = tuple(None if base is None or n.sourceline is None else n.sourceline - base for n in nodes)
    shape_key = tuple(key)
    shape = memo.get(shape_key)
    if shape is None:
        shape = memo[shape_key] = _Shape(shape_key)
    offsets = memo.setdefault(offsets, offsets)
    return SourceLines(shape, offsets, base)


class LotLines:
    """The :class:`SourceLines` of each FSE of a lot (by its rank), read from the lot's bytes
    the first time one is asked for: parsed again as the lot was, each FSE emptied once its
    lines are taken (the tree is never whole)."""

    __slots__ = ("data", "limits", "_lines")

    def __init__(self, data: bytes, limits: ParseLimits) -> None:
        self.data, self.limits = data, limits
        self._lines: list[SourceLines] | None = None

    def of(self, position: int) -> SourceLines | None:
        if self._lines is None:
            self._lines = self._read()
        return self._lines[position - 1] if 0 < position <= len(self._lines) else None

    def _read(self) -> list[SourceLines]:
        memo: dict = {}
        lines: list[SourceLines] = []
        try:
            for _event, el in iterparse_untrusted(self.data, ("end",), (FSE_TAG,)):
                parent = el.getparent()
                if parent is None or (parent.tag == LOT_TAG and parent.getparent() is None):  # the document's or the lot's
                    lines.append(source_lines(el, memo))
                    el.clear(keep_tail=True)
        except etree.XMLSyntaxError:  # read whole by the safe parser, as the lot was (unusual)
            root = parse_untrusted(self.data, self.limits)
            items = [root] if root.tag == FSE_TAG else [c for c in root if c.tag == FSE_TAG]
            lines = [source_lines(el, memo) for el in items]
        return lines


__all__ = ["LotLines", "SourceLines", "source_lines"]
