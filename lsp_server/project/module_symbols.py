"""What one module defines, read from its tree-sitter tree as plain strings (for lsp_server.project.symbols).

Top-level names and kinds, each class's methods, class-body fields, `self.x` attributes and bases, and the
module's imports; nothing here keeps a tree or a text, so an entry costs about what its names do.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tree_sitter

from ..errors import InputTooComplex
from ..syntax.limits import check_errors
from ..syntax.queries import captures

_COMPOUND = frozenset({"if_statement", "elif_clause", "else_clause", "try_statement", "except_clause",
                       "finally_clause", "block", "ERROR"})


@dataclass(frozen=True)
class ClassInfo:
    methods: tuple[str, ...]
    fields: tuple[str, ...]      # assigned in the class body
    attributes: tuple[str, ...]  # assigned on the instance in its methods (`self.x = ...`)
    bases: tuple[str, ...]       # as written: `Base`, `pkg.Base`


@dataclass(frozen=True)
class ModuleInfo:
    kinds: dict[str, str]                         # top-level name -> function | class | variable | constant
    classes: dict[str, ClassInfo]
    imports: dict[str, tuple[int, str, bool]]     # local name -> (leading dots, dotted path, from-import)
    package: bool                                 # an __init__.py: relative imports start at the module itself


def _text(node: tree_sitter.Node) -> str:
    return node.text.decode("utf-8", "replace")


def _name(node: tree_sitter.Node) -> str | None:
    ident = node.child_by_field_name("name")
    return _text(ident) if ident is not None else None


def _statements(node: tree_sitter.Node, depth: int = 0):
    """Module-level statements, those inside top-level if/try blocks and error-recovery nodes included."""
    for child in node.named_children:
        if child.type in _COMPOUND and depth < 4:
            yield from _statements(child, depth + 1)
        else:
            yield child


def _assigned(stmt: tree_sitter.Node) -> list[str]:
    """Names a statement `x = ...`, `x: int = ...`, `x: int`, `a = b = ...`, `x, y = ...` binds."""
    if stmt.type != "expression_statement" or stmt.named_child_count != 1:
        return []
    node, names = stmt.named_children[0], []
    while node is not None and node.type == "assignment":  # `a = b = 1` nests to the right
        left = node.child_by_field_name("left")
        if left is not None and left.type == "identifier":
            names.append(_text(left))
        elif left is not None and left.type in ("pattern_list", "tuple_pattern"):
            names += [_text(c) for c in left.named_children if c.type == "identifier"]
        node = node.child_by_field_name("right")
    return names


def _imports(stmt: tree_sitter.Node) -> dict[str, tuple[int, str, bool]]:
    """{local name: (leading dots, dotted path, from-import)} that an import statement binds."""
    found = {}
    if stmt.type == "import_statement":
        for name in stmt.children_by_field_name("name"):
            if name.type == "aliased_import":
                found[_text(name.child_by_field_name("alias"))] = (0, _text(name.child_by_field_name("name")), False)
            else:  # `import a.b` binds `a`
                head = _text(name).split(".")[0]
                found[head] = (0, head, False)
        return found
    module = stmt.child_by_field_name("module_name")
    if stmt.type != "import_from_statement" or module is None:
        return found
    text = "".join(_text(module).split())
    level, path = len(text) - len(text.lstrip(".")), text.lstrip(".")
    for name in stmt.children_by_field_name("name"):
        alias = name.child_by_field_name("alias") if name.type == "aliased_import" else None
        target = _text(name.child_by_field_name("name") if alias is not None else name)
        found[_text(alias if alias is not None else name)] = (level, f"{path}.{target}" if path else target, True)
    return found


def _self_attributes(method: tree_sitter.Node) -> list[str]:
    """Attributes the method assigns on its first parameter (`self.x = ...`)."""
    params = method.child_by_field_name("parameters")
    first = params.named_children[0] if params is not None and params.named_child_count else None
    if first is not None and first.type == "typed_parameter":
        first = first.named_children[0]
    if first is None or first.type != "identifier":
        return []
    me, found = _text(first), []
    for node in captures("symbols", method, (method.start_byte, method.end_byte)).get("target", []):
        obj, attr = node.child_by_field_name("object"), node.child_by_field_name("attribute")
        if obj is not None and attr is not None and obj.type == "identifier" and _text(obj) == me:
            found.append(_text(attr))
    return found


def class_info(node: tree_sitter.Node, attributes: bool = True) -> ClassInfo:
    """Methods, class-body fields, instance attributes (when asked) and bases of a class_definition."""
    methods, fields, attrs = [], [], []
    body = node.child_by_field_name("body")
    for child in body.named_children if body is not None else ():
        item = child.child_by_field_name("definition") if child.type == "decorated_definition" else child
        if item is not None and item.type == "function_definition" and (name := _name(item)) is not None:
            methods.append(name)
            attrs += _self_attributes(item) if attributes else []
        elif item is not None:
            fields += _assigned(item)
    supers = node.child_by_field_name("superclasses")
    bases = [_text(b) for b in supers.named_children if b.type in ("identifier", "attribute")] if supers else []
    return ClassInfo(*(tuple(dict.fromkeys(part)) for part in (methods, fields, attrs, bases)))


def module_info(tree: tree_sitter.Tree, package: bool, attributes: bool = True) -> ModuleInfo:
    """What a module defines at top level, from its tree (whatever parsed, when it has syntax errors)."""
    try:
        if attributes:
            check_errors(tree)
    except InputTooComplex:
        attributes = False  # queries over a huge error node are quadratic: keep the names, skip `self.x`
    kinds, classes, imports = {}, {}, {}
    for stmt in _statements(tree.root_node):
        item = stmt.child_by_field_name("definition") if stmt.type == "decorated_definition" else stmt
        if item is None:
            continue
        if item.type in ("function_definition", "class_definition") and (name := _name(item)) is not None:
            kinds[name] = "class" if item.type == "class_definition" else "function"
            if item.type == "class_definition":
                classes[name] = class_info(item, attributes)
        elif item.type in ("import_statement", "import_from_statement"):
            imports.update(_imports(item))
        else:
            for name in _assigned(item):
                kinds.setdefault(name, "constant" if name.isupper() and len(name) > 1 else "variable")
    return ModuleInfo(kinds, classes, imports, package)


def module_names_of(key: str, root: Path) -> tuple[tuple[str, ...], bool]:
    """(dotted module names of the file, is a package): relative to root/src first (src layout), then root."""
    path, names = Path(key), []
    package = path.name == "__init__.py"
    for base in (root / "src", root):
        if base in path.parents:
            parts = list(path.relative_to(base).with_suffix("").parts)
            if package:
                parts.pop()
            if parts and all(part.isidentifier() for part in parts):
                names.append(".".join(parts))
    return tuple(names), package


def absolute(level: int, path: str, module: str, package: bool) -> str | None:
    """The absolute dotted name of an import written in `module` (`..x` has level 2); None past the top."""
    if level == 0:
        return path or None
    parts = module.split(".") if module else []
    keep = len(parts) - (0 if package else 1) - (level - 1)
    if not module or keep <= 0:
        return None
    base = ".".join(parts[:keep])
    return f"{base}.{path}" if path else base
