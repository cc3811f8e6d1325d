"""Functions whose empty body is the point: `@overload` variants, `@abstractmethod`s, Protocol members and
everything in a `.pyi` stub file. Generating a body there would replace a declaration with made-up code."""
from __future__ import annotations

import tree_sitter

from ..syntax.definitions import DefinitionInfo, decorators, enclosing_class
from ..syntax.documents import Document

STUB_DECORATORS = frozenset(("overload", "abstractmethod", "abstractproperty", "abstractclassmethod",
                             "abstractstaticmethod"))
PROTOCOL = "Protocol"


def _last_name(expression: str) -> str:
    """`typing.overload` -> overload, `typing_extensions.Protocol[T]` -> Protocol, `f(x)` -> f."""
    head = expression.split("(", 1)[0].split("[", 1)[0]
    return head.strip().lstrip("@").rsplit(".", 1)[-1].strip()


def _text(node: tree_sitter.Node) -> str:
    return node.text.decode("utf-8", "replace")


def _definition(doc: Document, info: DefinitionInfo) -> tree_sitter.Node | None:
    name = doc.node_at_offset(info.name_start)
    node = name.parent if name is not None else None
    return node if node is not None and node.type == "function_definition" else None


def _is_protocol(cls: tree_sitter.Node) -> bool:
    bases = cls.child_by_field_name("superclasses")
    return bases is not None and any(_last_name(_text(b)) == PROTOCOL for b in bases.named_children
                                     if b.type != "keyword_argument")


def is_stub(doc: Document, info: DefinitionInfo) -> bool:
    """True for a function whose body must stay empty: in a .pyi file, decorated with `@overload` or
    `@abstractmethod` (any module prefix), or a method of a class that derives from Protocol."""
    if doc.uri.lower().endswith(".pyi"):
        return True
    definition = _definition(doc, info)
    if definition is None:
        return False
    if STUB_DECORATORS.intersection(_last_name(d) for d in decorators(definition)):
        return True
    cls = enclosing_class(definition)
    return cls is not None and _is_protocol(cls)
