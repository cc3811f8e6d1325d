"""Function and class definitions under the cursor, read from the tree-sitter tree with queries.

The queries live in lsp_server/queries/*.scm and are compiled once per process (ts_queries.py).
Everything returned here is plain data (code-point offsets and strings), so it outlives the tree.
"""
from __future__ import annotations

from dataclasses import dataclass

import tree_sitter

from .documents import Document
from .limits import WINDOW_BYTES, check_position
from .queries import captures

FUNCTION, METHOD, CLASS = "function", "method", "class"
SCOPES = ("function_definition", "class_definition", "lambda")


def _captures(name: str, node: tree_sitter.Node, byte_range: tuple[int, int] | None = None) -> dict:
    """{capture name: nodes in document order} of query `name` under node (bounded: ts_queries.captures)."""
    return {key: sorted(nodes, key=lambda n: n.start_byte) for key, nodes in captures(name, node, byte_range).items()}


@dataclass(frozen=True)
class Param:
    """One documented parameter: its name (with * or ** for splats), type hint and default as written."""
    name: str
    annotation: str | None = None
    default: str | None = None


@dataclass(frozen=True)
class Raise:
    """An exception the body raises, with the `if` condition that guards it when there is one."""
    exception: str
    condition: str | None = None


@dataclass(frozen=True)
class DefinitionInfo:
    """A function, method or class definition; offsets are code points into the document text."""
    kind: str
    name: str
    name_start: int
    name_end: int
    start: int                # the `def`/`class` keyword (or `async`), decorators excluded
    end: int
    header_end: int           # just after the ':' that opens the body
    header_indent: str
    indent: str               # indentation of the body's statements
    body_inline: bool         # the body starts on the header line (`def f(): ...`)
    body_start: int           # the body's first statement
    params: tuple[Param, ...] = ()
    returns: str | None = None
    raises: tuple[Raise, ...] = ()
    yields: bool = False
    returns_value: bool = False
    docstring: tuple[int, int] | None = None  # the docstring statement
    placeholders: tuple[int, int] | None = None  # `pass`/`...` statements of an otherwise empty body
    empty_body: bool = False  # nothing but a docstring, `pass` and `...`


def _text(node: tree_sitter.Node | None) -> str | None:
    return None if node is None else node.text.decode("utf-8", "replace")


def docstring_node(block: tree_sitter.Node) -> tree_sitter.Node | None:
    """The block's first statement when it is a plain string literal (not an f-string)."""
    first = next((c for c in block.named_children if c.type != "comment"), None)
    if first is None or first.type != "expression_statement" or first.named_child_count != 1:
        return None
    string = first.named_children[0]
    if string.type not in ("string", "concatenated_string"):
        return None
    if any(c.type == "interpolation" for c in string.named_children):
        return None
    return first


def _is_placeholder(stmt: tree_sitter.Node) -> bool:
    if stmt.type == "pass_statement":
        return True
    return stmt.type == "expression_statement" and stmt.named_child_count == 1 \
        and stmt.named_children[0].type == "ellipsis"


def _param(node: tree_sitter.Node) -> Param | None:
    """A Param from one parameter node; None for `self`-like positions handled by the caller."""
    kind = node.type
    if kind == "identifier":
        return Param(_text(node))
    if kind in ("list_splat_pattern", "dictionary_splat_pattern"):
        return Param(_text(node))
    if kind == "typed_parameter":
        target = node.named_children[0]
        return Param(_text(target), _text(node.child_by_field_name("type")))
    if kind in ("default_parameter", "typed_default_parameter"):
        return Param(_text(node.child_by_field_name("name")), _text(node.child_by_field_name("type")),
                     _text(node.child_by_field_name("value")))
    return None


def decorators(definition: tree_sitter.Node) -> list[str]:
    """The decorator expressions of a definition, without the `@`."""
    parent = definition.parent
    if parent is None or parent.type != "decorated_definition":
        return []
    return [_text(d).lstrip("@").strip() for d in parent.named_children if d.type == "decorator"]


def enclosing_class(definition: tree_sitter.Node) -> tree_sitter.Node | None:
    """The class whose body holds the definition (directly), or None."""
    node = definition.parent
    if node is not None and node.type == "decorated_definition":
        node = node.parent
    if node is not None and node.type == "block" and node.parent is not None \
            and node.parent.type == "class_definition":
        return node.parent
    return None


def _params(definition: tree_sitter.Node, is_method: bool) -> tuple[Param, ...]:
    parameters = definition.child_by_field_name("parameters")
    if parameters is None:
        return ()
    nodes = _captures("parameters", parameters).get("parameter", [])
    params = [p for p in (_param(n) for n in nodes if n.parent == parameters) if p is not None]
    if is_method and params and "staticmethod" not in decorators(definition) \
            and not params[0].name.startswith("*"):
        params = params[1:]  # self / cls
    return tuple(params)


def _own(node: tree_sitter.Node, definition: tree_sitter.Node) -> bool:
    """True when node's nearest enclosing function, class or lambda is definition."""
    parent = node.parent
    while parent is not None and parent.type not in SCOPES:
        parent = parent.parent
    return parent == definition


def _raise(node: tree_sitter.Node) -> Raise | None:
    """The raised exception's name (call or name, dotted allowed); None for a bare or variable raise."""
    exc = node.named_children[0] if node.named_child_count else None
    if exc is not None and exc.type == "call":
        exc = exc.child_by_field_name("function")
    name = _text(exc)
    if name is None or not name.replace(".", "").replace("_", "").isalnum() or not name.split(".")[-1][:1].isupper():
        return None
    block = node.parent
    guard = block.parent if block is not None and block.type == "block" else None
    condition = None
    if guard is not None and guard.type in ("if_statement", "elif_clause") \
            and guard.child_by_field_name("consequence") == block:
        condition = " ".join((_text(guard.child_by_field_name("condition")) or "").split()) or None
    return Raise(name, condition)


def _facts(definition: tree_sitter.Node, body: tree_sitter.Node) -> tuple[tuple[Raise, ...], bool, bool]:
    """(raises, yields, returns a value) of the body's own statements (nested scopes excluded)."""
    # The first WINDOW_BYTES of a body are searched: enough for a real function, bounded for a hostile one.
    found = _captures("body_facts", body, (body.start_byte, min(body.end_byte, body.start_byte + WINDOW_BYTES)))
    raises: list[Raise] = []
    for node in found.get("raise", []):
        found_raise = _raise(node) if _own(node, definition) else None
        if found_raise is not None and found_raise.exception not in [r.exception for r in raises]:
            raises.append(found_raise)
    yields = any(_own(n, definition) for n in found.get("yield", []))
    returns_value = any(_own(n, definition) for n in found.get("return.value", []))
    return tuple(raises), yields, returns_value


def _init_params(class_body: tree_sitter.Node) -> tuple[Param, ...]:
    """The parameters of a class's own __init__, which its docstring documents."""
    for stmt in class_body.named_children:
        node = stmt.child_by_field_name("definition") if stmt.type == "decorated_definition" else stmt
        if node is not None and node.type == "function_definition" \
                and _text(node.child_by_field_name("name")) == "__init__":
            return _params(node, is_method=True)
    return ()


def _line_indent(doc: Document, offset: int) -> str:
    line = doc.line_at(offset)
    return line[:len(line) - len(line.lstrip(" \t"))]


def _layout(doc: Document, definition: tree_sitter.Node, body: tree_sitter.Node) -> dict | None:
    """Header end, indentation and docstring/placeholder ranges of a definition's body."""
    statements = [c for c in body.named_children if c.type != "comment"]
    colon = next((c for c in definition.children if c.type == ":"), None)
    if not statements or colon is None:
        return None  # an error-recovered tree: nothing sensible to edit
    start = doc.offset_of_byte(definition.start_byte)
    header_indent = _line_indent(doc, start)
    inline = statements[0].start_point[0] == colon.end_point[0]
    indent = header_indent + ("\t" if "\t" in header_indent else "    ") if inline \
        else _line_indent(doc, doc.offset_of_byte(statements[0].start_byte))
    doc_node = docstring_node(body)
    rest = statements[1:] if doc_node is not None else statements
    empty = all(_is_placeholder(s) for s in rest)
    span = (doc.offset_of_byte(rest[0].start_byte), doc.offset_of_byte(rest[-1].end_byte)) if empty and rest else None
    return {"start": start, "end": doc.offset_of_byte(definition.end_byte),
            "header_end": doc.offset_of_byte(colon.end_byte), "header_indent": header_indent, "indent": indent,
            "body_inline": inline, "body_start": doc.offset_of_byte(statements[0].start_byte),
            "empty_body": empty, "placeholders": span,
            "docstring": None if doc_node is None else (doc.offset_of_byte(doc_node.start_byte),
                                                        doc.offset_of_byte(doc_node.end_byte))}


def definition_info(doc: Document, definition: tree_sitter.Node) -> DefinitionInfo | None:
    """Plain-data description of a function_definition or class_definition node."""
    name, body = definition.child_by_field_name("name"), definition.child_by_field_name("body")
    if name is None or body is None or (layout := _layout(doc, definition, body)) is None:
        return None
    name_range = {"name": _text(name), "name_start": doc.offset_of_byte(name.start_byte),
                  "name_end": doc.offset_of_byte(name.end_byte)}
    if definition.type == "class_definition":
        return DefinitionInfo(kind=CLASS, params=_init_params(body), **name_range, **layout)
    is_method = enclosing_class(definition) is not None
    raises, yields, returns_value = _facts(definition, body)
    return DefinitionInfo(kind=METHOD if is_method else FUNCTION, params=_params(definition, is_method),
                          returns=_text(definition.child_by_field_name("return_type")), raises=raises,
                          yields=yields, returns_value=returns_value, **name_range, **layout)


def _window(doc: Document, offset: int) -> tuple[int, int]:
    byte = doc.byte_at(offset)
    return max(byte - 1, 0), byte + 1


def find_definition(doc: Document, offset: int) -> DefinitionInfo | None:
    """The function, method or class whose name the offset is on (or just after); None elsewhere.

    Raises InputTooComplex where the position is beyond lsp_server.syntax.limits' limits.
    """
    if doc.tree is None:
        return None
    check_position(doc, offset)
    byte = doc.byte_at(offset)
    for key, nodes in _captures("definitions", doc.tree.root_node, _window(doc, offset)).items():
        if not key.startswith("name."):
            continue
        for name in nodes:
            if name.start_byte <= byte <= name.end_byte and name.parent is not None:
                return definition_info(doc, name.parent)
    return None


def find_function(doc: Document, offset: int) -> DefinitionInfo | None:
    """The innermost function or method containing the offset; None outside every function."""
    if doc.tree is None:
        return None
    check_position(doc, offset)
    byte = doc.byte_at(offset)
    found = _captures("definitions", doc.tree.root_node, _window(doc, offset)).get("definition.function", [])
    inside = [n for n in found if n.start_byte <= byte <= n.end_byte]
    if not inside:
        return None
    return definition_info(doc, min(inside, key=lambda n: n.end_byte - n.start_byte))


