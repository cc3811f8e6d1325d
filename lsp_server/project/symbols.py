"""Project symbols: names that other workspace modules define, offered through the current file's imports.

The index thread parses each workspace file when it changes (update) and keeps only strings
(lsp_server.project.module_symbols: top-level names and kinds, classes' members and bases, imports, to follow
re-exports and base classes into other modules). Completion (names_at, in the inference thread)
resolves the cursor's context through the document's own imports: `from pkg.mod import |`, `import pkg.|`,
`mod.|` / `alias.|`, `Cls.|`, and `self.|` in a class whose bases live in workspace modules. An object whose
type it cannot tell from the imports (`obj.|`) gets no names.
"""
from __future__ import annotations

import re
import threading
from pathlib import Path

import tree_sitter

from ..syntax.documents import Document, parse
from ..syntax.identifiers import Name, WordAt
from .module_symbols import (
    ModuleInfo,
    absolute,
    class_info,
    module_info,
    module_names_of,
)

IMPORT_DISTANCE = 0           # `from pkg.mod import |`: the module's names are the answer, before the buffer's
ATTRIBUTE_DISTANCE = 1 << 20  # `mod.|`, `self.|`: after the names the buffer itself uses on that object
MAX_HOPS = 8                  # re-exports and base classes followed at most this far
IMPORT_WINDOW = 4_096         # characters before the word searched for a (parenthesized) `from ... import`
_FROM_IMPORT = re.compile(r"(?m)^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(?:\([\w\s,]*|[\w \t,]*)\Z")
_ALIAS = re.compile(r"\bas[ \t]+\Z")
_MODULE_PATH = re.compile(r"^[ \t]*(?:from[ \t]+|import[ \t]+(?:[\w.][\w. \t]*,[ \t]*)*)(\.*(?:\w+\.)*)\Z")
Pairs = list[tuple[str, str]]  # (name, kind)
Target = tuple[str, "str | None"]  # (module, one of its top-level names, or None for the module itself)


def _offered(pairs: Pairs, typed: str, distance: int) -> list[Name]:
    """Names matching what was typed, one per name; `_private` ones only once `_` was typed."""
    lowered, found = typed.lower(), {}
    for text, kind in pairs:
        if text not in found and text.lower().startswith(lowered) and (typed[:1] == "_" or text[:1] != "_"):
            found[text] = Name(text, kind, 0, distance)
    return sorted(found.values(), key=lambda n: n.text)


class ProjectSymbols:
    """Top-level names of the workspace's modules by dotted name. Thread-safe: one writer (the index thread)
    parses outside the lock; readers resolve under it, on plain dicts of strings, and copy the answer out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, tuple[tuple[str, ...], ModuleInfo]] = {}  # key -> (module names, info)
        self._modules: dict[str, list[str]] = {}          # module name -> keys registering it (the first answers)
        self._children: dict[str, dict[str, int]] = {}   # module ("" = top) -> {submodule: files under it}
        self._roots: set[Path] = set()

    # --- the index thread -----------------------------------------------------------------------------------

    def update(self, key: str, root: Path, text: str) -> None:
        """(Re)read one file's names; a file without a module name, or over the parse budget, has none."""
        names, package = module_names_of(key, root)
        tree = parse(text.encode("utf-8", "replace")) if names else None
        info = module_info(tree, package) if tree is not None else None
        with self._lock:
            self._roots.add(root)
            self._drop(key)
            if info is not None:
                self._files[key] = (names, info)
                for name in names:
                    self._modules.setdefault(name, []).append(key)
                    self._count(name, 1)

    def remove(self, *keys: str) -> None:
        """Forget these files."""
        with self._lock:
            for key in keys:
                self._drop(key)

    def clear(self, keep: set[str] | frozenset[str] = frozenset()) -> None:
        """Forget every file but those in keep (a rebuild: open documents are not read from disk again)."""
        with self._lock:
            for key in [k for k in self._files if k not in keep]:
                self._drop(key)

    def _drop(self, key: str) -> None:
        names, _ = self._files.pop(key, ((), None))
        for name in names:
            owners = self._modules[name]
            owners.remove(key)
            if not owners:
                del self._modules[name]
            self._count(name, -1)

    def _count(self, name: str, delta: int) -> None:
        parts = name.split(".")
        for i in range(len(parts)):
            parent = ".".join(parts[:i])
            kids = self._children.setdefault(parent, {})
            kids[parts[i]] = kids.get(parts[i], 0) + delta
            if kids[parts[i]] <= 0:
                del kids[parts[i]]
            if not kids:
                del self._children[parent]

    # --- readers --------------------------------------------------------------------------------------------

    def module_of(self, key: str | None) -> tuple[str, bool]:
        """(dotted module name, is a package) of a file: as indexed, else under the deepest root ("" if none)."""
        with self._lock:
            indexed = self._files.get(key) if key is not None else None
            roots = sorted(self._roots, key=lambda r: len(r.parts), reverse=True)
        if indexed is not None:
            return indexed[0][0], indexed[1].package
        for root in roots if key is not None else ():
            if root in Path(key).parents:
                names, package = module_names_of(key, root)
                return (names[0] if names else ""), package
        return "", False

    def module_names(self, dotted: str, typed: str = "") -> list[Name]:
        """The names `from <dotted> import |` offers: top-level definitions, re-exports, submodules."""
        with self._lock:
            pairs = _Resolver(self, "", None).module_members(dotted)
        return _offered(pairs, typed, IMPORT_DISTANCE)

    def names_at(self, doc: Document, word: WordAt, key: str | None = None) -> list[Name]:
        """Project names for the word at the cursor, resolved through doc's imports ([] when nothing resolves).

        key is the document's index key (its absolute path): relative imports need its module name.
        """
        if doc.tree is None:
            return []
        own, package = self.module_of(key)
        before = doc.text[max(0, word.start - IMPORT_WINDOW):word.start]
        path = _MODULE_PATH.search(before[before.rfind("\n") + 1:])
        if path is not None:  # `import pkg.|`, `from .pkg.|`, `import p|`: modules only
            written = path.group(1).rstrip(".")
            dots = len(written) - len(written.lstrip("."))
            parent = absolute(dots, written[dots:], own, package) if written else ""
            with self._lock:
                pairs = [(m, "module") for m in self._children.get(parent, ())] if parent is not None else []
            return _offered(pairs, word.typed, IMPORT_DISTANCE)
        if not word.attribute:
            found = _FROM_IMPORT.search(before)
            if found is None or _ALIAS.search(before):
                return []
            written = found.group(1)
            dots = len(written) - len(written.lstrip("."))
            target = absolute(dots, written[dots:], own, package)
            return self.module_names(target, word.typed) if target is not None else []
        if word.obj is None:
            return []
        info = module_info(doc.tree, package, attributes=False)
        cls = _enclosing_class(doc, word) if word.obj in ("self", "cls") else None
        with self._lock:
            resolver = _Resolver(self, own, info)
            pairs = resolver.instance_members(cls) if cls is not None else resolver.object_members(word.obj)
        return _offered(pairs, word.typed, ATTRIBUTE_DISTANCE)


def _enclosing_class(doc: Document, word: WordAt) -> tree_sitter.Node | None:
    byte = doc.byte_at(word.start)
    node = doc.tree.root_node.descendant_for_byte_range(max(byte - 1, 0), byte)
    while node is not None and node.type != "class_definition":
        node = node.parent
    return node


class _Resolver:
    """Lookups in one state of the store (the caller holds its lock); the open document's own module is
    read from its tree (`own`, `own_info`) rather than from the index, which may be a keystroke behind."""

    def __init__(self, store: ProjectSymbols, own: str, own_info: ModuleInfo | None) -> None:
        self.store, self.own, self.own_info = store, own, own_info

    def info(self, module: str) -> ModuleInfo | None:
        if module == self.own and self.own_info is not None:
            return self.own_info
        owners = self.store._modules.get(module)
        return self.store._files[owners[0]][1] if owners else None

    def find(self, dotted: str, hops: int = 0) -> Target | None:
        """The module, or a module's top-level name, that dotted names (following re-exports)."""
        parts = dotted.split(".")
        for i in range(len(parts), 0, -1):
            module = ".".join(parts[:i])
            if module in self.store._modules or module in self.store._children or module == self.own:
                break
        else:
            return None
        rest = parts[i:]
        info = self.info(module)
        if not rest:
            return module, None
        return self.find_in(module, info, ".".join(rest), hops) if info is not None else None

    def find_in(self, module: str, info: ModuleInfo, expr: str, hops: int = 0) -> Target | None:
        """What `expr` (`Base`, `mod.Base`) names inside module: its own definition or an import's target."""
        head, _, rest = expr.partition(".")
        if head in info.kinds:
            return (module, head) if not rest else None
        imported = info.imports.get(head)
        target = absolute(imported[0], imported[1], module, info.package) if imported is not None else None
        if target is None or hops >= MAX_HOPS:
            return None
        return self.find(f"{target}.{rest}" if rest else target, hops + 1)

    def kind_of(self, target: Target | None) -> str:
        if target is None:
            return "variable"
        info = self.info(target[0])
        return "module" if target[1] is None else info.kinds.get(target[1], "variable")

    def module_members(self, module: str) -> Pairs:
        info = self.info(module)
        pairs = list(info.kinds.items()) if info is not None else []
        for local, (level, path, from_import) in info.imports.items() if info is not None and info.package else ():
            if from_import:  # a package's `from .core import Engine` re-exports Engine
                target = absolute(level, path, module, True)
                pairs.append((local, self.kind_of(self.find(target) if target else None)))
        return pairs + [(m, "module") for m in self.store._children.get(module, ())]

    def class_members(self, module: str, cls: str, instance: bool, seen: set[Target]) -> Pairs:
        """Methods and fields of a class and its bases (instance attributes too when instance)."""
        info = self.info(module)
        found = info.classes.get(cls) if info is not None else None
        if found is None or (module, cls) in seen or len(seen) >= MAX_HOPS:
            return []
        seen.add((module, cls))
        pairs = [(m, "method") for m in found.methods]
        pairs += [(f, "field") for f in found.fields + (found.attributes if instance else ())]
        return pairs + self.bases_members(module, info, found.bases, instance, seen)

    def bases_members(self, module: str, info: ModuleInfo, bases: tuple[str, ...], instance: bool,
                      seen: set[Target]) -> Pairs:
        pairs = []
        for base in bases:
            target = self.find_in(module, info, base)
            if target is not None and target[1] is not None:
                pairs += self.class_members(target[0], target[1], instance, seen)
        return pairs

    def object_members(self, obj: str) -> Pairs:
        """`mod.|`, `alias.|`, `pkg.mod.|`, `Cls.|`, with obj resolved through the document's imports."""
        target = self.find_in(self.own, self.own_info, obj)
        if target is None:
            return []
        if target[1] is None:
            return self.module_members(target[0])
        return self.class_members(target[0], target[1], False, set())

    def instance_members(self, cls: tree_sitter.Node) -> Pairs:
        """`self.|` in cls: what its bases define (cls's own members are the buffer's)."""
        return self.bases_members(self.own, self.own_info, class_info(cls, False).bases, True, set())
