"""A scripted stand-in for lsp_server.runtime.engine.Engine, for fast tests of the docstring and codegen cores: a
LanguageModel (the protocol those cores take) whose methods accept exactly the parameters of Engine's."""
from __future__ import annotations

from lsp_server.runtime.engine import Generation


class FakeEngine:
    """Byte-level "tokenizer"; generate() replays a fixed text, honouring the stop rule as tokens arrive."""

    special = {"<fim_prefix>": 256, "<fim_suffix>": 257, "<fim_middle>": 258, "<eos>": 259}

    def __init__(self, script: str):
        self.script = script
        self.prompts: list[str] = []
        self.max_new_tokens: list[int] = []

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: list[int]) -> str:
        return bytes(i for i in ids if i < 256).decode("utf-8", "replace")

    def generate(self, prompt_ids, max_new_tokens=24, stop=None, deadline=None, cancel=None) -> Generation:
        self.prompts.append(self.decode(prompt_ids))
        self.max_new_tokens.append(max_new_tokens)
        if cancel is not None and cancel.cancelled:
            return Generation("", [], [], "cancelled", len(prompt_ids))
        for i in range(1, len(self.script) + 1):  # one character per "token"
            cut = stop(self.script[:i]) if stop else None
            if cut is not None:
                return Generation(self.script[:i][:cut], [], [], "stop", len(prompt_ids))
        return Generation(self.script, [], [], "eos", len(prompt_ids))

    def generate_alternatives(self, prompt_ids, n, max_new_tokens=24, stop=None, deadline=None, cancel=None,
                              cache=None, skip=0, heal="", bias=None, draft=None, halt=None) -> list[Generation]:
        """A script has one answer: the greedy one (skip=0), no branches beyond it. Records the bias."""
        self.biases = getattr(self, "biases", []) + [bias]
        return [self.generate(prompt_ids, max_new_tokens, stop, deadline, cancel)] if n >= 1 and skip == 0 else []
