"""The parameter half of the docstring stage of `quill eval`: descriptions proposed for documented parameters.

Each top-level folder of the corpus is a project (quill.evaluation.projects.project_of). For a sampled
function, the server's description sources (lsp_server.assists.descriptions) see its project as indexed, with
the function's own file replaced by that file without the function's docstring: the rest of the project,
never the answer. The reference is each parameter's description in the hidden docstring. The same tables hold
each project's documented functions (lsp_server.project.doc_summaries), the neighbours a docstring model trained
with context reads: the sampled file is read from its text without the hidden docstring, never from the table.

Keys: docstring_param_coverage (share of documented parameters given a description that is not a placeholder),
the same where the rest of the project documents that name (docstring_param_coverage_known), docstring_param_bleu4
(smoothed BLEU-4 against the real descriptions; a placeholder scores as an empty hypothesis) and
docstring_filler_lines (lines of the proposed docstrings that only restate a name; must be 0).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lsp_server.assists.descriptions import PLACEHOLDER, ProjectDocs, describe
from lsp_server.assists.docstring_render import Descriptions, render_docstring
from lsp_server.assists.filler import filler_lines
from lsp_server.project.doc_summaries import DocSummaries, ProjectSummaries
from lsp_server.project.param_docs import (
    ParamDocs,
    clean_description,
    file_docs,
    param_key,
)
from lsp_server.syntax.definitions import DefinitionInfo
from lsp_server.syntax.docstring_fields import literal_lines, parse_fields
from lsp_server.syntax.documents import Document
from quill.evaluation.bleu import smoothed_bleu4
from quill.evaluation.metrics import mean_or_none
from quill.evaluation.projects import project_of
from quill.evaluation.samples import (
    FunctionSample,
    SourceFile,
    python_files,
    read_source,
)


@dataclass
class ProjectTables:
    """One ParamDocs and one DocSummaries table per project of the corpus, keyed like SourceFile.uri."""
    tables: dict[str, ParamDocs] = field(default_factory=dict)
    summaries: dict[str, DocSummaries] = field(default_factory=dict)

    @classmethod
    def build(cls, root: Path) -> "ProjectTables":
        tables: dict[str, ParamDocs] = {}
        summaries: dict[str, DocSummaries] = {}
        for path in python_files(root):
            text, _ = read_source(path)
            if text is not None:
                rel = path.relative_to(root).as_posix()
                tables.setdefault(project_of(rel), ParamDocs()).update(SourceFile(rel, "").uri, text)
                summaries.setdefault(project_of(rel), DocSummaries()).update(SourceFile(rel, "").uri, text)
        return cls(tables, summaries)

    def summaries_for(self, source: SourceFile) -> ProjectSummaries:
        """The project's documented functions as a request in source sees them (its own file left out)."""
        return ProjectSummaries(self.summaries.get(project_of(source.rel), DocSummaries()), source.uri)

    def docs_for(self, source: SourceFile, doc: Document) -> ProjectDocs:
        """The sources a request in doc (source's text without the sampled docstring) sees."""
        return ProjectDocs(self.tables.get(project_of(source.rel)), source.uri, file_docs(doc.text, doc.tree))


def references(sample: FunctionSample) -> dict[str, str]:
    """Parameter name as in the signature -> its description in the function's real docstring."""
    literal = sample.source.text[sample.info.docstring[0]:sample.info.docstring[1]]
    parsed = literal_lines(literal)
    documented = parse_fields(parsed[1]).params() if parsed is not None else {}
    found = {}
    for p in sample.info.params:
        text = clean_description(documented.get(p.name.lstrip("*"), ""))
        if text is not None:
            found[p.name] = text
    return found


@dataclass
class ParamScores:
    """Running totals of the parameter metrics over the samples."""
    refs: list[str] = field(default_factory=list)
    hyps: list[str] = field(default_factory=list)
    covered: list[float] = field(default_factory=list)
    known: list[float] = field(default_factory=list)  # covered, where the rest of the project documents the name
    filler: list[str] = field(default_factory=list)

    def add(self, sample: FunctionSample, info: DefinitionInfo, summary: str, style: str,
            project: ProjectDocs | None) -> Descriptions:
        """Score one function (info: as found in the file without its docstring); returns its descriptions."""
        described = describe(info, None, project)
        self.filler += filler_lines(render_docstring(info, summary, style, described), info)
        for name, reference in references(sample).items():
            proposed = described.params.get(name)
            hit = proposed is not None and proposed.source != PLACEHOLDER
            self.refs.append(reference)
            self.hyps.append(proposed.text if hit else "")
            self.covered.append(float(hit))
            if project is not None and project.candidates(param_key(name)):
                self.known.append(float(hit))
        return described

    def result(self) -> dict:
        return {"docstring_param_coverage": mean_or_none(self.covered),
                "docstring_param_coverage_known": mean_or_none(self.known),
                "docstring_param_bleu4": round(smoothed_bleu4(self.refs, self.hyps), 2) if self.refs else None,
                "docstring_filler_lines": len(self.filler), "n_docstring_params": len(self.refs),
                "n_docstring_params_known": len(self.known), "docstring_filler_examples": self.filler[:5]}
