"""Names a buffer defines and uses, for completion items: collected with queries/names.scm.

At an identifier position the candidates are the names visible from the cursor (definitions, parameters,
assignments, imports); at an attribute position `obj.` they are attribute names, those seen on `obj`
itself first (for `self`: the enclosing class's attributes and methods).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .documents import Document
from .limits import HEADER_BYTES, MAX_WORD_CHARS, around, check_position
from .queries import captures
from .scan import string_or_comment_at

SCOPES = frozenset({"function_definition", "lambda", "class_definition", "list_comprehension",
                    "set_comprehension", "dictionary_comprehension", "generator_expression"})
CAPTURE_KINDS = {"name.definition.function": "function", "name.definition.class": "class",
                 "name.definition.parameter": "parameter", "name.definition.variable": "variable",
                 "name.import": "module"}
_OBJECT = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*\Z")
_DEFINES_NAME = re.compile(r"\b(def|class)\s+\Z")


@dataclass(frozen=True)
class WordAt:
    """The identifier or attribute position at the cursor."""
    start: int       # offset where the partial word starts
    end: int         # offset where the word under the cursor ends (the text edit replaces start..end)
    typed: str       # the partial word up to the cursor
    obj: str | None  # at an attribute position, the object's dotted name (`self`, `os.path`) if it has one
    attribute: bool


@dataclass(frozen=True)
class Name:
    """A completion candidate from the buffer."""
    text: str
    kind: str      # function | method | class | parameter | variable | constant | module | field
    group: int     # 0 ranks first: attributes seen on the object being completed, or any visible name
    distance: int  # bytes from the cursor to where the buffer defines or uses it (a cheap prior)


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def word_at(doc: Document, offset: int) -> WordAt | None:
    """The identifier or attribute position at offset; None elsewhere (strings, comments, numbers, new names).

    Raises InputTooComplex where the position is beyond lsp_server.syntax.limits' limits.
    """
    check_position(doc, offset)
    text = doc.text
    line_start = text.rfind("\n", 0, offset) + 1
    start, end = offset, offset
    while start > line_start and _is_word_char(text[start - 1]) and offset - start <= MAX_WORD_CHARS:
        start -= 1
    while end < len(text) and _is_word_char(text[end]) and end - offset <= MAX_WORD_CHARS:
        end += 1
    if end - start > MAX_WORD_CHARS:
        return None
    typed, before = text[start:offset], text[line_start:start]
    if (typed and typed[0].isdigit()) or string_or_comment_at(doc, offset) is not None:
        return None
    if before.endswith("."):
        head = before[:-1]
        match = _OBJECT.search(head)
        if match and (match.start() == 0 or not _is_word_char(head[match.start() - 1])):
            return WordAt(start, end, typed, match.group(0), True)
        if head.rstrip().endswith((")", "]", "}", "'", '"')):
            return WordAt(start, end, typed, None, True)  # an expression's attribute: any attribute name
        return None  # `1.`, `...`, `from .`: nothing to complete
    if not typed or _DEFINES_NAME.search(before):
        return None
    return WordAt(start, end, typed, None, False)


def _key(node) -> tuple[int, int, str]:
    return node.start_byte, node.end_byte, node.type


def _scope_of(node):
    """The innermost scope node around node (None: the module)."""
    node = node.parent
    while node is not None and node.type not in SCOPES:
        node = node.parent
    return node


def _binding_scope(node, kind: str):
    """Where a captured name is bound: a def or class name binds in the scope around its definition."""
    return _scope_of(node.parent) if kind in ("function", "class") else _scope_of(node)


def _visible(scope, cursor_scopes: list) -> bool:
    """Python's rule: class bodies are not enclosing scopes of their methods."""
    if scope is None:
        return True
    if scope.type == "class_definition":
        return bool(cursor_scopes) and _key(cursor_scopes[0]) == _key(scope)
    return any(_key(s) == _key(scope) for s in cursor_scopes)


def _cursor_scopes(doc: Document, byte: int) -> list:
    """Scopes around the cursor, innermost first."""
    # The character before the word: at the end of a node (`self.|` before a newline) the node still counts.
    node = doc.tree.root_node.descendant_for_byte_range(max(byte - 1, 0), byte)
    scopes = []
    while node is not None:
        if node.type in SCOPES and node.start_byte < byte:
            scopes.append(node)
        node = node.parent
    return scopes


def _scope_names(doc: Document, found: dict, byte: int) -> list[Name]:
    cursor_scopes = _cursor_scopes(doc, byte)
    names = []
    for capture, nodes in found.items():
        kind = CAPTURE_KINDS.get(capture)
        for node in nodes if kind else ():
            if node.start_byte == byte or not _visible(_binding_scope(node, kind), cursor_scopes):
                continue
            text = node.text.decode("utf-8", "replace")
            scope = _binding_scope(node, kind)
            if kind == "function" and scope is not None and scope.type == "class_definition":
                kind_here = "method"
            elif kind == "variable" and text.isupper() and len(text) > 1:
                kind_here = "constant"
            else:
                kind_here = kind
            names.append(Name(text, kind_here, 0, abs(node.start_byte - byte)))
    return names


def _class_members(cls_node, byte: int) -> list[Name]:
    """Methods and class-level assignments directly in a class body (what `self.` reaches besides fields)."""
    body = cls_node.child_by_field_name("body")
    names = []
    for child in body.named_children if body is not None else ():
        node = child.child_by_field_name("definition") if child.type == "decorated_definition" else child
        if node is not None and node.type == "function_definition":
            ident = node.child_by_field_name("name")
            names.append(Name(ident.text.decode("utf-8", "replace"), "method", 0, abs(ident.start_byte - byte)))
        elif node is not None and node.type == "expression_statement" and node.named_child_count == 1:
            target = node.named_children[0].child_by_field_name("left")
            if node.named_children[0].type == "assignment" and target is not None and target.type == "identifier":
                names.append(Name(target.text.decode("utf-8", "replace"), "field", 0, abs(target.start_byte - byte)))
    return names


def _enclosing_class(doc: Document, byte: int):
    return next((s for s in _cursor_scopes(doc, byte) if s.type == "class_definition"), None)


def _attribute_names(doc: Document, word: WordAt, nodes: list, byte: int) -> list[Name]:
    own_class = _enclosing_class(doc, byte) if word.obj in ("self", "cls") else None
    names = [] if own_class is None else _class_members(own_class, byte)
    for node in nodes:
        obj, attr = node.child_by_field_name("object"), node.child_by_field_name("attribute")
        if obj is None or attr is None or attr.start_byte == byte:
            continue
        parent = node.parent
        called = parent is not None and parent.type == "call" and \
            _key(parent.child_by_field_name("function") or parent) == _key(node)
        same = word.obj is not None and obj.text.decode("utf-8", "replace") == word.obj
        if same and own_class is not None:  # `self` means this class's instance only
            same = own_class.start_byte <= node.start_byte < own_class.end_byte
        names.append(Name(attr.text.decode("utf-8", "replace"), "method" if called else "field",
                          0 if same else 1, abs(node.start_byte - byte)))
    return names


def _window_captures(doc: Document, offset: int) -> dict[str, list]:
    """names.scm captures at the top of the file (imports) and around offset (lsp_server.syntax.limits windows)."""
    lo, hi = around(doc, offset)
    found = captures("names", doc.tree.root_node, (lo, hi))
    if lo > 0:
        for name, nodes in captures("names", doc.tree.root_node, (0, min(HEADER_BYTES, lo))).items():
            found[name] = nodes + found.get(name, [])
    return found


def collect_names(doc: Document, word: WordAt) -> list[Name]:
    """Candidates for word from the buffer, matching what was typed, best prior first, one per name."""
    if doc.tree is None:
        return []
    found = _window_captures(doc, word.start)
    byte = doc.byte_at(word.start)
    if word.attribute:
        names = _attribute_names(doc, word, found.get("attribute", []), byte)
    else:
        names = _scope_names(doc, found, byte)
    typed = word.typed.lower()
    best: dict[str, Name] = {}
    for name in names:
        if not name.text.lower().startswith(typed):
            continue
        kept = best.get(name.text)
        if kept is None or (name.group, name.distance) < (kept.group, kept.distance):
            best[name.text] = name
    return sorted(best.values(), key=lambda n: (n.group, n.distance, n.text))
