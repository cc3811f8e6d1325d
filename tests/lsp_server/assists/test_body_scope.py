"""Unit tests of the scope check of generated bodies (lsp_server.assists.body_scope)."""
from __future__ import annotations

import ast

import pytest

from lsp_server.assists.body_scope import (
    ModuleScope,
    added_undefined_names,
    unbound_loads,
    undefined_names,
)
from lsp_server.syntax.documents import Document
from lsp_server.syntax.edits import Edit

MODULE = "import os\nfrom pathlib import Path as P\nLIMIT = 3\n\n\ndef helper():\n    pass\n\n\n"


def undefined(body: str, module: str = MODULE, params: str = "a, *args, b=1, **kw") -> set[str]:
    """Undefined names of `def f(params):` + body (4-space indented lines) placed after module, against
    the names of the module with an empty f (what a request sees before the body is generated)."""
    head = module + f"def f({params}):\n"
    names = undefined_names(head + body, ModuleScope.of(Document("file:///m.py", head + "    ...\n")))
    assert names is not None
    return names


@pytest.mark.parametrize("body", [
    "    return a + len(args) + b + kw['x']\n",               # parameters of every kind, a builtin
    "    return os.sep, P('.'), LIMIT, helper()\n",           # imports, module names, a def
    "    x = 1\n    return x\n",                              # a local assigned before use
    "    for i in range(a):\n        a += i\n    return i\n",  # a loop target
    "    with open(a) as fh:\n        return fh.read()\n",
    "    try:\n        pass\n    except OSError as e:\n        return e\n",
    "    if (n := len(args)) > 1:\n        return n\n",
    "    return self.x.y.z\n".replace("self", "a"),           # attributes are never names
    "    return __file__, __name__\n",
    "    def g():\n        return g, a\n    return g\n",        # a nested def, closures over the function
    "    import json as j\n    return j.dumps(a)\n",
])
def test_defined_names_are_not_reported(body):
    assert undefined(body) == set()


def test_a_name_nothing_defines_is_reported_and_a_local_read_before_assignment_too():
    assert undefined("    if not a:\n        raise ValueError(msg)\n") == {"msg"}
    assert undefined("    total = total + a\n    return total\n") == {"total"}
    assert undefined("    x += 1\n    return x\n") == {"x"}
    assert undefined("    print(y)\n    y = 2\n") == {"y"}


def test_comprehension_variables_stay_inside_the_comprehension():
    assert undefined("    return [i * a for i in args if i]\n") == set()
    assert undefined("    return {k: v for k, v in kw.items()}\n") == set()
    assert undefined("    squares = [i for i in args]\n    return i\n") == {"i"}
    assert undefined("    return [j for i in args]\n") == {"j"}


def test_lambda_parameters_and_closures():
    assert undefined("    key = lambda item: item[a]\n    return sorted(args, key=key)\n") == set()
    assert undefined("    return lambda item: item + offset\n") == {"offset"}
    assert undefined("    return lambda item=a: item\n") == set()


def test_global_and_nonlocal_declarations():
    assert undefined("    global LIMIT\n    LIMIT = a\n") == set()
    assert undefined("    global cache\n    cache = {}\n    return cache\n") == set()  # the function defines it
    assert undefined("    global missing\n    return missing\n") == {"missing"}
    assert undefined("    count = 0\n    def inc():\n        nonlocal count\n        count += 1\n    return inc\n") == set()
    text = MODULE + "def f(a):\n    nonlocal a2\n    return a2\n"
    assert undefined_names(text, ModuleScope.of(Document("file:///m.py", MODULE))) is None  # Python rejects it


def test_a_star_import_defines_every_global_it_might():
    module = "from os.path import *\n\n"
    assert undefined("    return join(a, 'x')\n", module) == set()
    assert undefined("    print(y)\n    y = 2\n", module) == {"y"}  # a local read too early is still wrong


def test_class_attributes_are_not_names_inside_methods():
    module = "class C:\n    size = 3\n\n    def m(self):\n        ...\n"
    scope = ModuleScope.of(Document("file:///m.py", module))
    assert undefined_names(module.replace("...", "return size"), scope) == {"size"}
    assert undefined_names(module.replace("...", "return self.size, C.size"), scope) == set()


def test_globals_the_module_already_reads_count_as_defined():
    module = "def setup():\n    globals()['registry'] = {}\n\n\ndef users():\n    return registry['users']\n\n\n"
    assert undefined("    return registry[a]\n", module) == set()


def test_unbound_loads_orders_bindings_of_one_function():
    func = ast.parse("def f(a):\n    for x in x:\n        pass\n    y = [y for y in a]\n    return y\n").body[0]
    assert unbound_loads(func) == {"x"}


def test_added_undefined_names_reports_only_what_the_edit_adds():
    text = "def old():\n    return legacy\n\n\ndef f(a):\n    ...\n"
    doc = Document("file:///m.py", text)
    scope = ModuleScope.of(doc)
    start = text.index("    ...")
    edit = Edit(start, start + len("    ..."), "    return legacy, other, a")
    assert added_undefined_names(doc, edit, scope) == {"other"}
    edit = Edit(start, start + len("    ..."), "    return a")
    assert added_undefined_names(doc, edit, ModuleScope(frozenset())) == set()  # legacy is old()'s


def test_a_module_with_a_syntax_error_elsewhere_still_gets_checked():
    text = "x = (\n\n\ndef f(a):\n    ...\n"
    doc = Document("file:///m.py", text)
    start = text.index("    ...")
    names = added_undefined_names(doc, Edit(start, start + 7, "    return a + nowhere"), ModuleScope.of(doc))
    assert names == {"nowhere"}
