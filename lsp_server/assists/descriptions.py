"""Where a docstring's parameter, Returns and Yields descriptions come from, in order:

1. own: the definition's current docstring (Regenerate keeps what a person wrote);
2. project: the same parameter name documented elsewhere in the workspace (lsp_server.project.param_docs:
   the nearest module first, its most frequent wording), or the Returns/Yields text of a function of the
   same name (an override, a sibling implementation);
3. a placeholder (`_description_`) an editor fills; the line still says the type and default it reads
   from the signature.

The summary line has a project source too (project_summary): the summary of a documented definition of the
same name elsewhere in the workspace, nearest first (an override, a sibling implementation, a copy); it comes
before the docstring model's sentence (assists.docstrings.summarize), which on held-out projects scores far
lower (BENCHMARKS.md "Summaries from the project").

A wording that only restates the name or its type ("The seq.") is skipped at every step (assists.filler).
No model: the docstring model writes summaries only, and the code LM prompted with `Args:` and the name wrote
wrong sentences for most parameters the project does not document (README "Docstrings and code generation").
"""
from __future__ import annotations

from dataclasses import dataclass

from ..project.param_docs import FileDocs, ParamDocs, param_key, summary_key, summary_of
from ..syntax.definitions import DefinitionInfo
from ..syntax.docstring_fields import (
    RETURNS,
    YIELDS,
    DocFields,
    literal_lines,
    parse_fields,
)
from ..syntax.documents import Document
from .docstring_render import Described, Descriptions
from .filler import is_filler, is_placeholder

OWN, PROJECT, PLACEHOLDER = "own", "project", "placeholder"


@dataclass(frozen=True)
class ProjectDocs:
    """The workspace's documented names and the key of the document asked about (its entry in the table is
    replaced by `local` when given: the document as the request sees it)."""
    table: ParamDocs | None = None
    key: str | None = None
    local: FileDocs | None = None

    def candidates(self, entry: str) -> list[str]:
        if self.table is None:
            return list(self.local.get(entry, ())) if self.local is not None else []
        return self.table.candidates(entry, self.key, self.local)


def own_fields(doc: Document, info: DefinitionInfo) -> DocFields | None:
    """The sections of the definition's current docstring; None without one."""
    if info.docstring is None:
        return None
    parsed = literal_lines(doc.text[info.docstring[0]:info.docstring[1]])
    return parse_fields(parsed[1]) if parsed is not None else None


def _usable(text: str | None, names: list[str]) -> bool:
    return bool(text) and not is_placeholder(text) and not is_filler(text, names)


def _first(candidates: list[str], names: list[str]) -> str | None:
    return next((c for c in candidates if _usable(c, names)), None)


def describe_one(entry: str, names: list[str], own: str | None, project: ProjectDocs | None) -> Described:
    """The first usable description of one entry: own, then the project's, else the placeholder."""
    if _usable(own, names):
        return Described(" ".join(own.split()), OWN)
    found = _first(project.candidates(entry), names) if project is not None else None
    return Described(found, PROJECT) if found is not None else Described()


def describe(info: DefinitionInfo, own: DocFields | None = None, project: ProjectDocs | None = None) -> Descriptions:
    """Descriptions of every parameter of info and of its return value and yields."""
    own_params = own.params() if own is not None else {}
    params = {p.name: describe_one(param_key(p.name), [p.name, p.annotation or ""], own_params.get(p.name.lstrip("*")),
                                   project)
              for p in info.params}
    # The type words count as names: "config (ConfigDict): The configuration dictionary." says nothing new.
    values = {kind: describe_one(f"{kind}:{info.name}", [info.name, info.returns or ""],
                                 own.text_of(kind) if own else None, project)
              for kind in (RETURNS, YIELDS)}
    return Descriptions(params, values[RETURNS], values[YIELDS])


def project_summary(doc: Document, info: DefinitionInfo, project: ProjectDocs | None) -> str | None:
    """The summary of the nearest documented definition of the same name in the project (most frequent wording
    first), never the definition's own (Regenerate asks for another); None when there is none that says more
    than the names."""
    if project is None:
        return None
    own = summary_of(doc.text[info.docstring[0]:info.docstring[1]]) if info.docstring is not None else None
    names = [info.name] + [p.name for p in info.params]
    return next((c for c in project.candidates(summary_key(info.name)) if c != own and _usable(c, names)), None)
