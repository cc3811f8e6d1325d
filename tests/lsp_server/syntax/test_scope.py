"""`self`/`cls` only where an enclosing function has that parameter (issue 15: `self` in a plain function)."""
from __future__ import annotations

from lsp_server.inline.pipeline import suggest
from lsp_server.syntax.scope import (
    enclosing_parameters,
    header_parameters,
    unbound_receiver,
)
from tests.lsp_server.inline.test_pipeline_stages import FakeEngine, at

STORE = "class Store:\n    def get(self, key):\n        return self.items.get(key)\n\n\n"


def test_header_parameters_read_annotations_defaults_stars_and_several_lines():
    lines = ["def f(", "    a: int = (1, 2),", "    *args: str,", "    b=max(1, 2),", "    **kw,", "):"]
    assert header_parameters(lines, 0) == {"a", "args", "b", "kw"}


def test_enclosing_parameters_include_outer_functions_and_stop_at_module_level():
    text = STORE + "def outer(store):\n    def inner(key):\n        if key:\n            return "
    assert enclosing_parameters(text) == {"store", "key"}
    assert enclosing_parameters(STORE + "value = ") == set()
    assert enclosing_parameters("class A:\n    def m(self):\n        x = 1\n\n        ") == {"self"}


def test_self_is_unbound_in_a_plain_function_at_module_and_class_level():
    plain = STORE + "def lookup(store, key):\n    value = "
    assert unbound_receiver(plain, "self.items.get(key)") == "self"
    assert unbound_receiver(plain + "se", "lf.items") == "self"  # the word being typed counts
    assert unbound_receiver(STORE + "x = ", "cls()") == "cls"
    assert unbound_receiver("class A:\n    ", "x = self.y") == "self"
    assert unbound_receiver(plain, "store.self_check() or myself") is None  # other names, attributes


def test_self_is_bound_in_methods_closures_and_defs_the_suggestion_writes():
    assert unbound_receiver("class A:\n    def m(self):\n        return ", "self.x") is None
    assert unbound_receiver("class A:\n    @classmethod\n    def make(cls):\n        return ", "cls()") is None
    assert unbound_receiver("class A:\n    def m(self):\n        def f():\n            return ", "self.x") is None
    assert unbound_receiver("class A:\n    ", "def get(self, key):\n        return self.items[key]") is None


def test_the_pipeline_drops_a_suggestion_that_uses_self_outside_any_method():
    # The typed space is healed: the engine writes it again, the suggestion goes without it.
    doc, offset = at(STORE + "def lookup(store, key):\n    value = ‸\n")
    assert suggest(doc, offset, FakeEngine(" self.items.get(key)")) is None
    assert suggest(doc, offset, FakeEngine(" store.get(key)")).text == "store.get(key)"
    doc, offset = at("class Store:\n    def get(self, key):\n        value = ‸\n")
    assert suggest(doc, offset, FakeEngine(" self.items.get(key)")).text == "self.items.get(key)"


def test_a_multi_line_header_and_a_def_typed_on_this_line_bind_their_parameters():
    text = "class Q:\n    def put(\n        self, item, block=True,\n    ) -> None:\n        while self._fu"
    assert "self" in enclosing_parameters(text) and unbound_receiver(text, "ll():") is None
    assert unbound_receiver("class A:\n    def visit(se", "lf, type_, **kw):") is None
    assert unbound_receiver("class A:\n    def a", "utoflush(self):") is None
