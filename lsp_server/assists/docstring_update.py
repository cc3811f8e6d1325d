"""Add to an existing docstring what it lacks (parameters, Returns, Yields) without touching a word of it.

The docstring's own style is kept (the configured one only for a docstring without sections): a missing
parameter goes after the last one documented, a missing section before Raises (parameters also before
Returns/Yields) or at the end. This is the action a client may apply by default; Regenerate, which
rewrites the docstring, is never preferred and comes after it (docstring_actions).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..syntax.definitions import DefinitionInfo
from ..syntax.docstring_fields import (
    PARAMS,
    RAISES,
    RETURNS,
    YIELDS,
    DocFields,
    literal_lines,
    parse_fields,
)
from ..syntax.documents import Document
from ..syntax.edits import Edit, edit_parses
from .docstring_render import Descriptions, block, facts, param_lines, value_lines

ADD, COMPLETE, REGENERATE = "add", "complete", "regenerate"
TITLES = {RETURNS: "Returns", YIELDS: "Yields"}


@dataclass(frozen=True)
class Completion:
    """What an existing docstring gets (parameter names, "Returns", "Yields") and the edit that adds it."""
    added: tuple[str, ...]
    edit: Edit
    text: str  # the new literal


def well_documented(doc: Document, info: DefinitionInfo) -> bool:
    """True when the definition's docstring spans more than one line or has sections: a person wrote it."""
    if info.docstring is None:
        return False
    literal = doc.text[info.docstring[0]:info.docstring[1]]
    parsed = literal_lines(literal)
    text_lines = [line for line in parsed[1] if line.strip()] if parsed is not None else literal.split("\n")
    return len(text_lines) > 1 or (parsed is not None and bool(parse_fields(parsed[1]).sections))


def docstring_actions(doc: Document, info: DefinitionInfo, completion: Completion | None) -> list[str]:
    """The docstring actions to offer, in order: Add for an undocumented definition; for a documented one,
    Add-to (when something is missing) then Regenerate, which a docstring a person wrote (more than one line,
    or sections) gets only after an Add-to, never first."""
    if info.docstring is None:
        return [ADD]
    actions = [COMPLETE] if completion is not None else []
    if actions or not well_documented(doc, info):
        actions.append(REGENERATE)
    return actions


def _indented(prefix: str, lines: list[str]) -> list[str]:
    return [prefix + line if line else "" for line in lines]


def _start_of(fields: DocFields, kind: str) -> int | None:
    """The first line of the section holding kind (in Sphinx, of its first field of that kind)."""
    section = fields.section(kind)
    if section is None:
        return None
    if section.header >= 0:
        return section.header
    entries = fields.entries(kind)
    return entries[0].start if entries else None


def _block_lines(style: str, kind: str, entries: list[str], indent: str, at: int, lines: list[str]) -> list[str]:
    """A new section at line `at`: at the end of the docstring a blank line before it (unless there is one),
    elsewhere one after it (none inside a Sphinx field list)."""
    new = _indented(indent, block(style, kind, entries))
    if at == len(lines) - 1:
        return new if not lines[at - 1].strip() else [""] + new
    return new if style == "sphinx" else new + [""]


def _insertions(fields: DocFields, info: DefinitionInfo, described: Descriptions, style: str,
                lines: list[str]) -> tuple[list[tuple[int, int, list[str]]], list[str]]:
    """(line index, order, lines to insert there) for everything missing, and the names added."""
    found, inserts, added = facts(info, described), [], []
    end = len(lines) - 1
    documented = fields.params()
    missing = [(p, d) for p, d in found[PARAMS] if p.name.lstrip("*") not in documented]
    starts = {kind: _start_of(fields, kind) for kind in (RETURNS, YIELDS, RAISES)}
    if missing:
        entries = [line for p, d in missing for line in param_lines(style, p, d)]
        section, documented_entries = fields.section(PARAMS), fields.entries(PARAMS) + fields.entries("type")
        if section is not None:
            last = max(e.end for e in documented_entries) if documented_entries else section.end
            inserts.append((last, 0, _indented(section.indent, entries)))
        else:
            at = min([s for s in starts.values() if s is not None] + [end])
            inserts.append((at, 0, _block_lines(style, PARAMS, entries, info.indent, at, lines)))
        added += [p.name for p, _ in missing]
    at = starts[RAISES] if starts[RAISES] is not None else end
    for order, kind in enumerate((RETURNS, YIELDS), start=1):
        if found[kind] and starts[kind] is None:
            new = _block_lines(style, kind, value_lines(style, kind, *found[kind]), info.indent, at, lines)
            inserts.append((at, order, new))
            added.append(TITLES[kind])
    return inserts, added


def complete_docstring(doc: Document, info: DefinitionInfo, described: Descriptions,
                       default_style: str = "google") -> Completion | None:
    """The edit adding what the definition's docstring lacks; None when nothing is missing or it cannot be
    read (not a plain string literal) or the result would not parse."""
    if info.docstring is None or info.body_inline:
        return None
    start, stop = info.docstring
    literal = doc.text[start:stop]
    parsed = literal_lines(literal)
    if parsed is None or len(parsed[0]) != 3:
        return None
    quote, lines = parsed
    fields = parse_fields(lines)
    style = fields.style or default_style
    if lines[-1].strip() or len(lines) == 1:
        lines = lines + [info.indent]  # the closing quotes move to a line of their own
    inserts, added = _insertions(fields, info, described, style, lines)
    if not inserts:
        return None
    for at, _, new in sorted(inserts, key=lambda x: (x[0], x[1]), reverse=True):
        lines[at:at] = new
    text = literal[:literal.index(quote)] + quote + "\n".join(lines) + quote
    edit = Edit(start, stop, text)
    return Completion(tuple(added), edit, text) if edit_parses(doc, edit) else None
