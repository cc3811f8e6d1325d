"""Server configuration: a tree of dataclasses built from the client's JSON, with defaults.

Invalid values are reported (one message) and replaced by defaults; they never crash the server.
Model paths are deliberately absent: a workspace must not be able to point the server at a model.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .prompt import PromptBudget
from .suggest import SuggestOptions


@dataclass
class InlineConfig:
    enabled: bool = True
    max_new_tokens: int = 24
    max_lines: int = 6
    prefix_tokens: int = 256
    suffix_tokens: int = 64
    timeout_ms: int = 400

    def limits(self) -> dict[str, tuple[int, int]]:
        return {"max_new_tokens": (1, 256), "max_lines": (1, 50), "prefix_tokens": (16, 1536),
                "suffix_tokens": (0, 512), "timeout_ms": (10, 10_000)}

    def suggest_options(self) -> SuggestOptions:
        return SuggestOptions(self.max_new_tokens, self.max_lines,
                              PromptBudget(self.prefix_tokens, self.suffix_tokens), self.timeout_ms)


@dataclass
class CompletionConfig:
    enabled: bool = True

    def limits(self) -> dict[str, tuple[int, int]]:
        return {}


@dataclass
class DocstringConfig:
    enabled: bool = True  # hover suggestions and the Add/Regenerate docstring actions
    style: str = "google"  # google | numpy | sphinx
    max_new_tokens: int = 48

    def limits(self) -> dict[str, tuple[int, int]]:
        return {"max_new_tokens": (4, 256)}

    def choices(self) -> dict[str, tuple[str, ...]]:
        return {"style": ("google", "numpy", "sphinx")}


@dataclass
class CodegenConfig:
    enabled: bool = True  # the Generate body action and quill.generateBody
    max_new_tokens: int = 128
    max_lines: int = 30

    def limits(self) -> dict[str, tuple[int, int]]:
        return {"max_new_tokens": (8, 512), "max_lines": (1, 200)}


@dataclass
class QuillConfig:
    inline: InlineConfig = field(default_factory=InlineConfig)
    completion: CompletionConfig = field(default_factory=CompletionConfig)
    docstring: DocstringConfig = field(default_factory=DocstringConfig)
    codegen: CodegenConfig = field(default_factory=CodegenConfig)


def _coerce(section: Any, key: str, value: Any, problems: list[str], path: str) -> None:
    current = getattr(section, key)
    expected = type(current)
    if expected is bool:
        ok = isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, expected)
    if not ok:
        problems.append(f"{path}{key}: expected {expected.__name__}, got {value!r}")
        return
    choices = section.choices().get(key) if hasattr(section, "choices") else None
    if choices and value not in choices:
        problems.append(f"{path}{key}: {value!r} is not one of {', '.join(choices)}")
        return
    lo_hi = section.limits().get(key)
    if lo_hi and not lo_hi[0] <= value <= lo_hi[1]:
        problems.append(f"{path}{key}: {value} is outside {lo_hi[0]}..{lo_hi[1]}")
        return
    setattr(section, key, value)


def parse_config(data: Any, base: QuillConfig | None = None) -> tuple[QuillConfig, list[str]]:
    """Apply client JSON (initializationOptions or a `quill` settings section) over base/defaults."""
    config = dataclasses.replace(base) if base else QuillConfig()
    for f in dataclasses.fields(config):
        setattr(config, f.name, dataclasses.replace(getattr(config, f.name)))
    problems: list[str] = []
    if data is None:
        return config, problems
    if not isinstance(data, dict):
        return config, [f"settings must be an object, got {type(data).__name__}"]
    if isinstance(data.get("quill"), dict):
        data = data["quill"]
    sections = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    for name, values in data.items():
        section = sections.get(name)
        if section is None:
            problems.append(f"unknown setting {name!r}")
            continue
        if not isinstance(values, dict):
            problems.append(f"{name}: expected an object, got {values!r}")
            continue
        known = {f.name for f in dataclasses.fields(section)}
        for key, value in values.items():
            if key not in known:
                problems.append(f"unknown setting {name}.{key}")
            else:
                _coerce(section, key, value, problems, f"{name}.")
    return config, problems
