"""Which names a generated body uses that nothing defines: the scope check of code generation.

A name is defined when it is a parameter, a local assigned before its use, a name of an enclosing function,
a module-level name (assigned, imported, a def or class, or declared `global` and assigned anywhere), a
builtin or a module attribute such as `__file__`. Attributes (`self.x`) are never names. Python's own
`symtable` resolves the scopes (comprehensions, lambdas, `global`, `nonlocal`, class bodies); an `ast` walk
orders each function's bindings and loads. A module with a star import defines names we cannot list: no
global is called undefined there.

The check runs on the top-level statements an edit touches, before and after it, against the module's
names read once per request (ModuleScope.of): only names the edit adds, and the module did not already
read, are reported.
"""
from __future__ import annotations

import ast
import builtins
import re
import symtable
from dataclasses import dataclass

from ..syntax.documents import Document
from ..syntax.edits import Edit

BUILTINS = frozenset(dir(builtins))
MODULE_ATTRIBUTES = frozenset(("__file__", "__name__", "__doc__", "__spec__", "__loader__", "__package__",
                               "__path__", "__builtins__", "__annotations__", "__cached__", "__dict__"))
STAR_IMPORT = re.compile(r"^[ \t]*from[ \t]+[\w.]+[ \t]+import[ \t]+\*", re.MULTILINE)
IDENTIFIER = re.compile(r"[^\W\d]\w*")
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
Position = tuple[int, int]


@dataclass(frozen=True)
class ModuleScope:
    """The names a module defines at its top level, and whether a star import hides some."""
    names: frozenset[str]
    star_import: bool = False

    @classmethod
    def of(cls, doc: Document) -> "ModuleScope":
        """The module names of every top-level statement, and the globals the module already reads without
        defining them (a name set through globals(), say: not the generated code's invention). A statement
        Python cannot read (a syntax error being typed, newer syntax) lends all its identifiers, so that the
        check never blames what it cannot see."""
        names: set[str] = set()
        for start, end in top_level_spans(doc):
            text = doc.text[start:end]
            table = _table(text)
            names |= set(IDENTIFIER.findall(text)) if table is None else _module_names(table) | _globals_read(table)
        return cls(frozenset(names), bool(STAR_IMPORT.search(doc.text)))

    def defines(self, name: str) -> bool:
        return self.star_import or name in self.names or name in BUILTINS or name in MODULE_ATTRIBUTES


def top_level_spans(doc: Document) -> list[tuple[int, int]]:
    """Code-point ranges of the module's top-level statements, each from the start of its first line."""
    if doc.tree is None:
        return [(0, len(doc.text))]
    spans = []
    for node in doc.tree.root_node.named_children:
        start = doc.offset_of_byte(node.start_byte)
        spans.append((doc.text.rfind("\n", 0, start) + 1, doc.offset_of_byte(node.end_byte)))
    return spans


def _table(text: str) -> symtable.SymbolTable | None:
    try:
        return symtable.symtable(text, "<quill>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _tables(table: symtable.SymbolTable):
    yield table
    for child in table.get_children():
        yield from _tables(child)


def _module_names(table: symtable.SymbolTable) -> set[str]:
    names = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}
    names |= {s.get_name() for t in _tables(table) for s in t.get_symbols()
              if s.is_declared_global() and s.is_assigned()}
    return names


def _globals_read(table: symtable.SymbolTable) -> set[str]:
    return {s.get_name() for t in _tables(table) for s in t.get_symbols() if s.is_referenced() and s.is_global()}


def undefined_names(text: str, scope: ModuleScope, lines: tuple[int, int] | None = None) -> set[str] | None:
    """Names text uses that neither it nor scope defines; None when Python rejects text (symtable's errors
    include what the parser lets through: `nonlocal x` without an enclosing x, a duplicate parameter).
    With `lines` (1-based, inclusive), locals read before assignment are looked for only in the functions
    that overlap those lines (the rest of a long class cannot have changed)."""
    table = _table(text)
    if table is None:
        return None
    local = scope.names | _module_names(table)
    found = set()
    for t in _tables(table):
        for sym in t.get_symbols():
            name = sym.get_name()
            # Parameters, locals and free names (an enclosing function's) are never global.
            if sym.is_referenced() and sym.is_global() and name not in local and not scope.defines(name):
                found.add(name)
    return found | _used_before_assignment(text, lines)


def _functions(node: ast.AST, lines: tuple[int, int] | None):
    """The functions and lambdas under node that overlap lines (all of them without lines)."""
    for child in ast.iter_child_nodes(node):
        if lines is not None and hasattr(child, "lineno") and \
                (child.end_lineno < lines[0] or child.lineno > lines[1]):
            continue
        if isinstance(child, FUNCTIONS):
            yield child
        yield from _functions(child, lines)


def _used_before_assignment(text: str, lines: tuple[int, int] | None = None) -> set[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    found: set[str] = set()
    for function in _functions(tree, lines):
        found |= unbound_loads(function)
    return found


def _end(node: ast.AST) -> Position:
    return node.end_lineno, node.end_col_offset


def _start(node: ast.AST) -> Position:
    return node.lineno, node.col_offset


class _OrderScan:
    """Bindings (where each takes effect) and loads of one function's own scope, nested scopes left out."""

    def __init__(self, function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        args = function.args
        self.params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        self.params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        self.declared: set[str] = set()
        self.bindings: dict[str, list[Position]] = {}
        self.loads: list[tuple[str, Position]] = []
        body = function.body if isinstance(function.body, list) else [function.body]
        for node in body:
            self.visit(node, None)

    def bind(self, name: str, at: Position) -> None:
        self.bindings.setdefault(name, []).append(at)

    def visit(self, node: ast.AST, at: Position | None) -> None:
        """at: where a name stored under node takes effect (None: at the end of its statement)."""
        if isinstance(node, ast.stmt):
            self._statement(node)
        elif isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                self.loads.append((node.id, _start(node)))
            elif isinstance(node.ctx, ast.Store):
                self.bind(node.id, at)
        elif isinstance(node, ast.NamedExpr):
            self.visit(node.value, at)
            self.visit(node.target, _end(node))
        elif isinstance(node, ast.Lambda):
            self._children(node.args, at)  # defaults are evaluated here; the body is its own scope
        elif isinstance(node, COMPREHENSIONS):
            self.visit(node.generators[0].iter, at)  # the only part evaluated in the enclosing scope
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            self.bind(node.name, _end(node))
            self._children(node, at)
        else:
            self._children(node, at)

    def _children(self, node: ast.AST, at: Position | None) -> None:
        for child in ast.iter_child_nodes(node):
            self.visit(child, at)

    def _statement(self, node: ast.stmt) -> None:
        end = _end(node)
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            self.declared.update(node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            outer = node.decorator_list + (node.bases + node.keywords if isinstance(node, ast.ClassDef)
                                           else [node.args] + ([node.returns] if node.returns else []))
            for part in outer:
                self.visit(part, end)
            self.bind(node.name, end)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    self.bind(alias.asname or alias.name.split(".")[0], end)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.visit(node.iter, end)
            self.visit(node.target, _end(node.iter))
            for child in node.body + node.orelse:
                self.visit(child, None)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.visit(item.context_expr, end)
                if item.optional_vars is not None:
                    self.visit(item.optional_vars, _end(item.optional_vars))
            for child in node.body:
                self.visit(child, None)
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name):
                self.loads.append((node.target.id, _start(node.target)))
            self._children(node, end)
        elif isinstance(node, ast.AnnAssign) and node.value is None:
            self.visit(node.annotation, end)  # `x: int` binds nothing
        else:
            self._except_names(node)
            self._children(node, end)

    def _except_names(self, node: ast.stmt) -> None:
        for handler in getattr(node, "handlers", ()):
            if handler.name:
                self.bind(handler.name, _start(handler.body[0]))


def unbound_loads(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """Locals of the function read before any assignment to them takes effect (in source order)."""
    scan = _OrderScan(function)
    return {name for name, at in scan.loads
            if name in scan.bindings and name not in scan.params and name not in scan.declared
            and not any(b is not None and b < at for b in scan.bindings[name])}


def affected_span(doc: Document, edit: Edit) -> tuple[int, int]:
    """The range of the top-level statements the edit touches, from the last one starting before it (a
    body inserted after a statement belongs to it when indented)."""
    spans = top_level_spans(doc)
    lo = max([s for s, _ in spans if s <= edit.start], default=edit.start)
    hi = max([edit.end] + [e for s, e in spans if s <= edit.end and edit.start <= e])
    return doc.text.rfind("\n", 0, lo) + 1, hi


def added_undefined_names(doc: Document, edit: Edit, scope: ModuleScope) -> set[str] | None:
    """Names the edit makes the code use without a definition; None when Python rejects the edited code.

    Names the touched statements already used undefined (a dynamic global, say) are not the edit's fault.
    Where the statements around the edit do not compile on their own (tree-sitter split a broken function),
    the whole document is judged; where it did not compile before the edit either, nothing is reported.
    """
    whole_before = None
    for lo, hi in (affected_span(doc, edit), (0, len(doc.text))):
        before = doc.text[lo:hi]
        after = before[:edit.start - lo] + edit.new_text + before[edit.end - lo:]
        first = before.count("\n", 0, edit.start - lo) + 1  # the edit's lines, 1-based, in before and after
        found = undefined_names(after, scope, (first, first + edit.new_text.count("\n")))
        old = undefined_names(before, scope, (first, first + before.count("\n", edit.start - lo, edit.end - lo)))
        if found is not None:
            return found - (old or set())
        whole_before = old
    return None if whole_before is not None else set()
