"""The architecture, checked: one-way layers (import-linter), no import cycles, no private names across modules.

The layers are pyproject.toml's import-linter contracts; `make test` also runs `lint-imports` itself. The
scan here reads every import statement of the project's packages with `ast`, lazy ones inside functions
included (import-linter sees those too, but this test also names any cycle between two modules of one
layer, which layers alone allow).
"""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("quill", "export", "model", "lsp_server")
MAX_SERVER_TOP_LEVEL_MODULES = 12


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> list[tuple[str, str]]:
    """(imported project module, imported name or '') of every import statement in the file."""
    found = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names if alias.name.split(".")[0] in PACKAGES]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.append((submodule, "") if submodule in known else (target, alias.name))
    return found


def import_graph() -> tuple[dict[str, set[str]], list[str]]:
    """({module: project modules it imports}, ["a imports b._private", ...])."""
    modules = project_modules()
    known = set(modules)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    private = []
    for name, path in modules.items():
        for target, imported in imports_of(name, path, known):
            while target not in known and "." in target:
                target = target.rpartition(".")[0]
            if target in known and target != name:
                graph[name].add(target)
            if imported.startswith("_") and not (imported.startswith("__") and imported.endswith("__")):
                private.append(f"{name} imports {target}.{imported}")
    return graph, private


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_scanner_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_the_projects_packages():
    graph, _ = import_graph()
    assert sum(len(v) for v in graph.values()) > 100  # the scan sees the real imports
    assert cycles(graph) == []


def test_no_module_imports_a_private_name_from_another():
    _, private = import_graph()
    assert private == []


def test_lsp_server_keeps_few_top_level_modules():
    top = sorted(p.name for p in (ROOT / "lsp_server").glob("*.py"))
    assert len(top) <= MAX_SERVER_TOP_LEVEL_MODULES, top


def test_lsp_server_never_imports_model_export_or_quill():
    graph, _ = import_graph()
    wrong = {m: sorted(t for t in targets if t.split(".")[0] != "lsp_server")
             for m, targets in graph.items() if m.startswith("lsp_server")}
    assert {m: t for m, t in wrong.items() if t} == {}


def test_import_linter_contracts_are_kept():
    """The layer and forbidden-import contracts of pyproject.toml (a wrong-way import names both modules)."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.fail("lint-imports is not installed: pip install -e '.[dev]' (import-linter)")
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
