"""Server configuration: a tree of dataclasses built from the client's JSON, with defaults.

Invalid values are reported (one message) and replaced by defaults; they never crash the server.
`model.bundle_path` and `model.threads` are honoured only from user-level configuration
(initializationOptions): a workspace must not be able to point the server at a model of its choosing, nor
make it reload one (a burst of thread-count changes once queued gigabytes of reloads).
"""
from __future__ import annotations

import dataclasses
import math
import os
import typing
from dataclasses import dataclass, field
from typing import Any

from .assists.options import BodyOptions
from .inline.options import (
    DEFAULT_CONFIDENCE_THRESHOLD,
    DEFAULT_CUT_LOGPROB,
    DEFAULT_MIN_CONFIDENCE,
    SuggestOptions,
)
from .inline.prompt import PromptBudget
from .project.exclusion import glob_problem
from .project.index import IndexLimits
from .project.mixing import CONTEXT, MixRule


@dataclass
class InlineConfig:
    enabled: bool = True
    max_new_tokens: int = 24
    max_lines: int = 6
    prefix_tokens: int = 256
    suffix_tokens: int = 64
    timeout_ms: int = 400
    multiline: bool = True  # off: one line, even where a block could follow
    alternatives: int = 1  # inline items per request, best first
    confidence_threshold: float = DEFAULT_CONFIDENCE_THRESHOLD  # minimum mean token log-probability
    cut_logprob: float = DEFAULT_CUT_LOGPROB  # a suggestion ends before a token less likely than this
    min_confidence: float = DEFAULT_MIN_CONFIDENCE  # withhold below this calibrated chance of being right
    debounce_ms: int = 0  # wait this long for a newer edit before running the model
    cross_file_context: bool = True  # imports and signatures of other open documents in the prompt
    # gitignore-style globs of documents that get no suggestions at all (relative to their workspace folder)
    exclude: list[str] = field(default_factory=list)
    speculate: bool = True  # prompt-lookup decoding: check the project caches' drafts several tokens per pass
    snippets: int = 0  # windows of other workspace files put in the prompt (0: none; BENCHMARKS.md "Snippets")

    def limits(self) -> dict[str, tuple[float, float]]:
        """Inclusive (min, max) of the numeric settings."""
        return {"max_new_tokens": (1, 256), "max_lines": (1, 50), "prefix_tokens": (16, 1536),
                "suffix_tokens": (0, 512), "timeout_ms": (10, 10_000), "alternatives": (1, 5),
                "snippets": (0, 8), "confidence_threshold": (-20.0, 0.0), "cut_logprob": (-50.0, 0.0), "min_confidence": (0.0, 1.0), "debounce_ms": (0, 2000)}

    def check(self, key: str, value: Any) -> str | None:
        """What is wrong with a value beyond its type and limits, or None."""
        return glob_problem(value) if key == "exclude" else None

    def suggest_options(self) -> SuggestOptions:
        """The pipeline options these settings stand for."""
        return SuggestOptions(self.max_new_tokens, self.max_lines,
                              PromptBudget(self.prefix_tokens, self.suffix_tokens), self.timeout_ms,
                              self.multiline, self.alternatives, self.confidence_threshold,
                              cut_logprob=self.cut_logprob, min_confidence=self.min_confidence,
                              speculate=self.speculate, snippets=self.snippets)


@dataclass
class CompletionConfig:
    enabled: bool = True
    model_ranking: bool = True  # rank names (and propose more) with the model; off: buffer order only
    max_items: int = 50
    line_suggestion: bool = True  # outside identifier/attribute positions, offer the inline suggestion

    def limits(self) -> dict[str, tuple[float, float]]:
        return {"max_items": (1, 500)}


@dataclass
class DocstringConfig:
    enabled: bool = True  # hover suggestions and the Add/Regenerate docstring actions
    style: str = "google"  # google | numpy | sphinx
    max_new_tokens: int = 48
    beam: int = 4  # beam width of the bundle's docstring model (1: greedy); the code LM always decodes greedily
    # The docstring model's summary is shown when its mean token log-probability reaches this; below it, the
    # `_summary_` placeholder. A lower gate raises only the share, not the quality of what is shown (BENCHMARKS.md
    # "Docstrings with project context, and the gate").
    min_score: float = -1.0

    def limits(self) -> dict[str, tuple[float, float]]:
        return {"max_new_tokens": (4, 256), "beam": (1, 8), "min_score": (-20.0, 0.0)}

    def choices(self) -> dict[str, tuple[str, ...]]:
        return {"style": ("google", "numpy", "sphinx")}


@dataclass
class CodegenConfig:
    enabled: bool = True  # the Generate body action and quill.generateBody
    max_new_tokens: int = 128
    max_lines: int = 30
    suffix_tokens: int = 0  # > 0: the prompt also shows this much code after the function (FIM)

    def limits(self) -> dict[str, tuple[int, int]]:
        return {"max_new_tokens": (8, 512), "max_lines": (1, 200), "suffix_tokens": (0, 512)}

    def body_options(self) -> BodyOptions:
        """The code-generation options these settings stand for."""
        return BodyOptions(self.max_new_tokens, self.max_lines, suffix_tokens=self.suffix_tokens)


@dataclass
class ProjectConfig:
    index: bool = True  # read the workspace folders' Python files into the project index (in the background)
    cache: bool = True  # mix the index's n-gram counts into every decoding step
    weight: float = 0.5  # the cache's share at a long, often-seen context (BENCHMARKS.md "Project context")
    max_files: int = 5000
    max_file_kb: int = 1000
    max_tokens: int = 1_500_000  # about 115 MB of index (76 bytes a token)

    def limits(self) -> dict[str, tuple[float, float]]:
        return {"weight": (0.0, 1.0), "max_files": (0, 100_000), "max_file_kb": (1, 100_000),
                "max_tokens": (0, 20_000_000)}

    def mix_rule(self) -> MixRule | None:
        """The decoding mix these settings stand for; None when the cache is off."""
        return MixRule(kind=CONTEXT, weight=self.weight) if self.cache and self.weight > 0 else None

    def walk_limits(self):
        """The workspace walk's caps (lsp_server.project.walk.WalkLimits)."""
        from .project.walk import WalkLimits
        return WalkLimits(max_file_bytes=self.max_file_kb * 1000, max_files=self.max_files)

    def index_limits(self) -> IndexLimits:
        return IndexLimits(max_tokens=self.max_tokens)


@dataclass
class ModelSettings:
    bundle_path: str | None = None  # user-level only; None: the shipped model
    threads: int = 0  # onnxruntime threads (at most the machine's cores); 0: min(2, cores); user-level only

    def limits(self) -> dict[str, tuple[float, float]]:
        return {"threads": (0, 64)}


@dataclass
class QuillConfig:
    inline: InlineConfig = field(default_factory=InlineConfig)
    completion: CompletionConfig = field(default_factory=CompletionConfig)
    docstring: DocstringConfig = field(default_factory=DocstringConfig)
    codegen: CodegenConfig = field(default_factory=CodegenConfig)
    project: ProjectConfig = field(default_factory=ProjectConfig)
    model: ModelSettings = field(default_factory=ModelSettings)


def _type_ok(hint: Any, value: Any) -> bool:
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str)
    if typing.get_origin(hint) is list:  # `list[str]`
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_type_ok(item, v) for v in value)
    args = typing.get_args(hint)  # `str | None`
    return value is None or any(_type_ok(a, value) for a in args if a is not type(None))


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) is list:
        return str(hint)  # list[str]
    return getattr(hint, "__name__", None) or str(hint).replace("NoneType", "null")


USER_LEVEL_ONLY = ("bundle_path", "threads")  # model choices: a workspace may not make the server load or reload


def _check_user_level(key: str, value: Any, user_level: bool, current: Any, path: str) -> str | None:
    """Problem with a user-level-only model setting, or None when it may be applied ("skip": nothing to do)."""
    if not user_level:
        if value == current:
            return "skip"  # the same value echoed back by a client: nothing to say, nothing to do
        return (f"{path}{key}: only honoured from user-level settings (initializationOptions), "
                "never from workspace settings; ignored")
    if key == "bundle_path" and value is not None and (not value.strip() or not os.path.isabs(os.path.expanduser(value))):
        return f"{path}{key}: must be an absolute path, got {value!r}"
    return None


def _coerce(section: Any, key: str, value: Any, problems: list[str], path: str, user_level: bool = True) -> None:
    hint = typing.get_type_hints(type(section))[key]
    if not _type_ok(hint, value):
        problems.append(f"{path}{key}: expected {_type_name(hint)}, got {value!r}")
        return
    if hint is float:
        value = float(value)
    if isinstance(value, list):
        value = list(value)  # the section owns its copy
    if isinstance(section, ModelSettings) and key in USER_LEVEL_ONLY:
        problem = _check_user_level(key, value, user_level, getattr(section, key), path)
        if problem is not None:
            if problem != "skip":
                problems.append(problem)
            return
    choices = section.choices().get(key) if hasattr(section, "choices") else None
    if choices and value not in choices:
        problems.append(f"{path}{key}: {value!r} is not one of {', '.join(choices)}")
        return
    lo_hi = section.limits().get(key)
    if lo_hi and not lo_hi[0] <= value <= lo_hi[1]:
        problems.append(f"{path}{key}: {value} is outside {lo_hi[0]}..{lo_hi[1]}")
        return
    problem = section.check(key, value) if hasattr(section, "check") else None
    if problem is not None:
        problems.append(f"{path}{key}: {problem}")
        return
    setattr(section, key, value)


def parse_config(data: Any, base: QuillConfig | None = None,
                 user_level: bool = True) -> tuple[QuillConfig, list[str]]:
    """Apply client JSON (initializationOptions or a `quill` settings section) over base/defaults.

    user_level=False (workspace/didChangeConfiguration) refuses a new model.bundle_path.
    """
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
                _coerce(section, key, value, problems, f"{name}.", user_level)
    return config, problems
