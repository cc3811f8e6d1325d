"""Docstring text in Google, NumPy or Sphinx style from a definition's facts and the descriptions found for it.

Every line says something read from the code or the project, or holds a placeholder an editor fills:
autoDocstring's `_summary_`, `_description_` and `_type_`, turned into snippet tab stops (snippet_text) when
the client takes snippet edits.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..syntax.definitions import CLASS, DefinitionInfo, Param
from ..syntax.docstring_fields import PARAMS, RAISES, RETURNS, YIELDS
from .filler import CONDITION_WORDS, PLACEHOLDERS, is_filler
from .name_phrases import return_type_guess

STYLES = ("google", "numpy", "sphinx")
SUMMARY, DESCRIPTION, TYPE = PLACEHOLDERS
QUOTES = '"""'
HEADERS = {"google": {PARAMS: "Args:", RETURNS: "Returns:", YIELDS: "Yields:", RAISES: "Raises:"},
           "numpy": {PARAMS: "Parameters", RETURNS: "Returns", YIELDS: "Yields", RAISES: "Raises"}}


@dataclass(frozen=True)
class Described:
    """One description and where it came from: own (the docstring being replaced), project, model, or
    placeholder (its text is then DESCRIPTION)."""
    text: str = DESCRIPTION
    source: str = "placeholder"


@dataclass(frozen=True)
class Descriptions:
    """What the docstring says about each parameter (by name as written), the return value and yields."""
    params: dict[str, Described] = field(default_factory=dict)
    returns: Described = Described()
    yields: Described = Described()

    def sources(self) -> list[str]:
        return [d.source for d in self.params.values()]


def yield_type(returns: str | None) -> str | None:
    """The item type of an Iterator/Iterable/Generator annotation: `Generator[int, None, None]` -> `int`."""
    m = re.fullmatch(r"(?:[\w.]+\.)?(?:Async)?(?:Iterator|Iterable|Generator)\[(.*)\]", (returns or "").strip())
    if m is None:
        return None
    depth, inner = 0, m.group(1)
    for i, ch in enumerate(inner):  # Generator[int, None, None]: the first top-level argument
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            return inner[:i].strip()
    return inner.strip()


def facts(info: DefinitionInfo, described: Descriptions) -> dict:
    """What every style renders: params with their descriptions, returns and yields (type, Described), raises."""
    returns = None
    if info.kind != CLASS and not info.yields and info.name != "__init__" \
            and (info.returns_value or (info.returns is not None and info.returns not in ("None", "NoReturn"))):
        returns = (info.returns or return_type_guess(info), described.returns)
    yields = (yield_type(info.returns), described.yields) if info.yields else None
    raises = [(r.exception, _condition(r.exception, r.condition)) for r in info.raises]
    params = [(p, described.params.get(p.name, Described())) for p in info.params]
    return {PARAMS: params, RETURNS: returns, YIELDS: yields, RAISES: raises}


def _condition(exception: str, condition: str | None) -> Described:
    """The `if` that guards a raise, as its description ("If not items."), unless it only restates the
    exception's name (`raise Empty` under `if empty:`)."""
    text = f"If {condition}." if condition else ""
    return Described(text, "code") if text and not is_filler(text, [exception], CONDITION_WORDS) else Described()


def _with_default(p: Param, text: str) -> str:
    if p.default is None or "default" in text.lower():
        return text
    return f"{text} Defaults to {p.default}."


def param_lines(style: str, p: Param, described: Described) -> list[str]:
    """The lines of one parameter's entry (no section header, no indentation beyond the style's own)."""
    if style == "google":
        typed = f" ({p.annotation})" if p.annotation else ""
        return [f"{p.name}{typed}: {_with_default(p, described.text)}"]
    if style == "numpy":
        kind = ", ".join(filter(None, [p.annotation, f"default {p.default}" if p.default is not None else None]))
        return [f"{p.name} : {kind}" if kind else p.name, f"    {described.text}"]
    name = p.name.lstrip("*")  # `:param *args:` would start reST emphasis
    return [f":param {name}: {_with_default(p, described.text)}"] + ([f":type {name}: {p.annotation}"]
                                                                      if p.annotation else [])


def value_lines(style: str, key: str, kind: str | None, described: Described) -> list[str]:
    """The lines of a Returns or Yields entry (no header)."""
    if style == "google":
        return [f"{kind}: {described.text}" if kind else described.text]
    if style == "numpy":
        return [kind or TYPE, f"    {described.text}"]
    field_name, type_field = (":returns:", ":rtype:") if key == RETURNS else (":yields:", ":ytype:")
    return [f"{field_name} {described.text}"] + ([f"{type_field} {kind}"] if kind else [])


def raise_lines(style: str, name: str, described: Described) -> list[str]:
    if style == "google":
        return [f"{name}: {described.text}"]
    if style == "numpy":
        return [name, f"    {described.text}"]
    return [f":raises {name}: {described.text}"]


def block(style: str, key: str, lines: list[str]) -> list[str]:
    """A section: the style's header (none in Sphinx) and its entries, indented as the style wants."""
    if style == "sphinx":
        return lines
    header = HEADERS[style][key]
    if style == "numpy":
        return [header, "-" * len(header)] + lines
    return [header] + ["    " + line for line in lines]


def blocks(info: DefinitionInfo, described: Descriptions, style: str) -> list[list[str]]:
    """The sections of the docstring in order: parameters, returns, yields, raises."""
    found = facts(info, described)
    out = []
    if found[PARAMS]:
        out.append(block(style, PARAMS, [line for p, d in found[PARAMS] for line in param_lines(style, p, d)]))
    for key in (RETURNS, YIELDS):
        if found[key]:
            out.append(block(style, key, value_lines(style, key, *found[key])))
    if found[RAISES]:
        out.append(block(style, RAISES, [line for name, d in found[RAISES] for line in raise_lines(style, name, d)]))
    if style == "sphinx" and out:  # one field list
        return [[line for b in out for line in b]]
    return out


def literal(body: str, multiline: bool) -> str:
    """The docstring literal around body: raw when it holds a backslash, closing quotes on their own line
    when multiline."""
    body = body.replace(QUOTES, "'''")  # a default value such as '\"\"\"' must not end the literal
    prefix = "r" if "\\" in body else ""  # defaults like '\\d' stay exactly as written
    return f"{prefix}{QUOTES}{body}\n{QUOTES}" if multiline else f"{prefix}{QUOTES}{body}{QUOTES}"


def render_docstring(info: DefinitionInfo, summary: str, style: str = "google",
                     described: Descriptions | None = None) -> str:
    """The docstring literal (quotes included, no indentation) for the definition in the given style."""
    if style not in STYLES:
        raise ValueError(f"unknown docstring style {style!r}; expected one of {', '.join(STYLES)}")
    found = blocks(info, described or Descriptions(), style)
    return literal("\n\n".join([summary] + ["\n".join(b) for b in found]), bool(found))


def snippet_text(text: str) -> str:
    """text as an LSP snippet: `$`, `}` and `\\` escaped, each placeholder a numbered tab stop in order."""
    escaped = re.sub(r"([$}\\])", r"\\\1", text)
    counter = iter(range(1, 1 << 30))
    pattern = "|".join(re.escape(m) for m in PLACEHOLDERS)
    return re.sub(pattern, lambda m: f"${{{next(counter)}:{m.group(0)}}}", escaped)
