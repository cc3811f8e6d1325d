"""The sections of a docstring: which parameters it documents and how, in Google, NumPy or Sphinx style.

Works on the docstring's lines as written (indentation kept, quotes removed), so that line numbers point into
the source: lsp_server.assists.docstring_update inserts entries after the ones a person wrote, and
lsp_server.project.param_docs reads the descriptions other functions give their parameters.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

GOOGLE, NUMPY, SPHINX = "google", "numpy", "sphinx"
PARAMS, RETURNS, YIELDS, RAISES, OTHER = "params", "returns", "yields", "raises", "other"
_GOOGLE_KINDS = {
    "args": PARAMS, "arguments": PARAMS, "parameters": PARAMS, "params": PARAMS, "keyword args": PARAMS,
    "keyword arguments": PARAMS, "kwargs": PARAMS, "other parameters": PARAMS, "other arguments": PARAMS,
    "returns": RETURNS, "return": RETURNS, "yields": YIELDS, "yield": YIELDS, "raises": RAISES,
    "raise": RAISES, "exceptions": RAISES, "except": RAISES,
    "attributes": OTHER, "example": OTHER, "examples": OTHER, "note": OTHER, "notes": OTHER, "see also": OTHER,
    "warning": OTHER, "warnings": OTHER, "todo": OTHER, "references": OTHER, "methods": OTHER,
    "warns": OTHER, "receives": OTHER,
}
_GOOGLE_HEADER = re.compile(r"([A-Za-z][A-Za-z ]*?)\s*:\s*$")
_NUMPY_RULE = re.compile(r"-{3,}\s*$")
_GOOGLE_ENTRY = re.compile(r"(\*{0,2}\w+)\s*(?:\(([^()]*(?:\([^()]*\)[^()]*)*)\))?\s*:(?:\s+(.*)|$)")
_NUMPY_ENTRY = re.compile(r"(\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::\s*(.*))?$")
_SPHINX_FIELD = re.compile(r":(\w+)((?:\s+[^:\s]+)*)\s*:(?:\s+(.*)|\s*$)")
_SPHINX_KINDS = {"param": PARAMS, "parameter": PARAMS, "arg": PARAMS, "argument": PARAMS, "key": PARAMS,
                 "keyword": PARAMS, "return": RETURNS, "returns": RETURNS, "yield": YIELDS, "yields": YIELDS,
                 "raise": RAISES, "raises": RAISES, "except": RAISES, "exception": RAISES}
_TYPE_PREFIX = re.compile(r"([\w.]+(?:\[[^\]]*\])?(?:\s*\|\s*[\w.]+(?:\[[^\]]*\])?)*)\s*:\s+(\S.*)")


@dataclass
class Entry:
    """One documented name (a parameter, an exception; '' for a Returns block) and its description.

    `start`/`end` are line numbers (end exclusive) of the entry, its continuation lines included."""
    name: str
    description: str
    type: str | None = None
    start: int = 0
    end: int = 0
    kind: str = PARAMS


@dataclass
class Section:
    """A block of the docstring: Args/Parameters/Returns/... (`kind`), its style, where it is and its entries.

    `header` is the header line (-1 for Sphinx field lists, which have none); `end` is the line after its
    last non-blank line; `indent` is the indentation of its entries."""
    kind: str
    style: str
    header: int
    end: int
    indent: str
    entries: list[Entry] = field(default_factory=list)


@dataclass
class DocFields:
    """Everything read from one docstring."""
    sections: list[Section]

    @property
    def style(self) -> str | None:
        """The style of the first section (None: a docstring without sections)."""
        return self.sections[0].style if self.sections else None

    def section(self, kind: str) -> Section | None:
        """The first section holding entries of this kind (a Sphinx field list holds several kinds)."""
        return next((s for s in self.sections if s.kind == kind or any(e.kind == kind for e in s.entries)), None)

    def entries(self, kind: str) -> list[Entry]:
        return [e for s in self.sections for e in s.entries if e.kind == kind]

    def params(self) -> dict[str, str]:
        """Documented parameter names (stars stripped) -> description ('' when undescribed)."""
        found: dict[str, str] = {}
        for entry in self.entries(PARAMS):
            found.setdefault(entry.name.lstrip("*"), entry.description)
        return found

    def text_of(self, kind: str) -> str | None:
        """The description of the first Returns or Yields entry; None without one."""
        found = self.entries(kind)
        return found[0].description if found else None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _join(lines: list[str]) -> str:
    """The first paragraph of lines, as one line."""
    words: list[str] = []
    for line in lines:
        if not line.strip():
            if words:
                break
            continue
        words.extend(line.split())
    return " ".join(words)


def _block_end(lines: list[str], start: int, limit: int, indent: int) -> int:
    """The line after the last non-blank line, from start on, indented deeper than indent (up to limit)."""
    end = last = start
    while end < limit and (not lines[end].strip() or _indent(lines[end]) > indent):
        if lines[end].strip():
            last = end + 1
        end += 1
    return last


def _numpy_header(lines: list[str], i: int) -> str | None:
    words = lines[i].strip().lower()
    if i + 1 < len(lines) and _NUMPY_RULE.match(lines[i + 1].strip()) and words and not words.endswith(":"):
        return _GOOGLE_KINDS.get(words, OTHER)
    return None


def _google_header(line: str) -> str | None:
    m = _GOOGLE_HEADER.match(line.strip())
    return _GOOGLE_KINDS.get(m.group(1).lower()) if m else None


def _google_section(lines: list[str], i: int, kind: str) -> Section:
    indent = _indent(lines[i])
    end = _block_end(lines, i + 1, len(lines), indent)
    body = [j for j in range(i + 1, end) if lines[j].strip()]
    entry_indent = min((_indent(lines[j]) for j in body), default=indent + 4)
    section = Section(kind, GOOGLE, i, max(end, i + 1), " " * entry_indent)
    starts = [j for j in body if _indent(lines[j]) == entry_indent]
    if kind in (RETURNS, YIELDS) and starts:
        text = _join([line.strip() for line in lines[starts[0]:end]])
        m = _TYPE_PREFIX.fullmatch(text)
        kind_text, text = (m.group(1), m.group(2)) if m else (None, text)
        section.entries.append(Entry("", text, kind_text, starts[0], end, kind))
        return section
    for n, j in enumerate(starts):
        stop = starts[n + 1] if n + 1 < len(starts) else end
        m = _GOOGLE_ENTRY.match(lines[j].strip())
        if m is None:
            continue
        rest = [m.group(3) or ""] + [line.strip() for line in lines[j + 1:stop]]
        section.entries.append(Entry(m.group(1), _join(rest), m.group(2), j,
                                     _block_end(lines, j + 1, stop, entry_indent), kind))
    return section


def _numpy_section(lines: list[str], i: int, kind: str) -> Section:
    indent = _indent(lines[i])
    end = i + 2
    while end < len(lines) and _numpy_header(lines, end) is None and \
            (not lines[end].strip() or _indent(lines[end]) >= indent):
        end += 1
    while end > i + 2 and not lines[end - 1].strip():
        end -= 1
    section = Section(kind, NUMPY, i, end, " " * indent)
    starts = [j for j in range(i + 2, end) if lines[j].strip() and _indent(lines[j]) == indent]
    for n, j in enumerate(starts):
        stop = starts[n + 1] if n + 1 < len(starts) else end
        text, head = _join([line.strip() for line in lines[j + 1:stop]]), lines[j].strip()
        if kind in (RETURNS, YIELDS):  # `int` or `name : int`
            name, sep, kind_text = head.partition(" : ")
            section.entries.append(Entry(name.strip() if sep else "", text, (kind_text if sep else head).strip(), j,
                                         stop, kind))
        elif (m := _NUMPY_ENTRY.match(head)) is not None:
            for name in m.group(1).split(","):
                section.entries.append(Entry(name.strip(), text, m.group(2), j, stop, kind))
    return section


def _sphinx_fields(lines: list[str], i: int) -> Section:
    """A run of Sphinx field lines (`:param x: ...`) from line i; kind is that of its first field."""
    indent = _indent(lines[i])
    section = Section(OTHER, SPHINX, -1, i, " " * indent)
    j = i
    while j < len(lines):
        m = _SPHINX_FIELD.match(lines[j].strip()) if _indent(lines[j]) == indent else None
        if m is None:
            break
        end = _block_end(lines, j + 1, len(lines), indent)
        kind = _SPHINX_KINDS.get(m.group(1).lower(), m.group(1).lower())
        words = m.group(2).split()
        if kind in _SPHINX_KINDS.values() or kind == "type":
            if section.kind == OTHER and kind != "type":
                section.kind = kind
            name = words[-1] if words and kind in (PARAMS, RAISES, "type") else ""
            kind_text = " ".join(words[:-1]) or None if kind == PARAMS else None
            text = _join([m.group(3) or ""] + [line.strip() for line in lines[j + 1:end]])
            section.entries.append(Entry(name, text, kind_text, j, end, kind))
        section.end = end
        j = end
        while j < len(lines) and not lines[j].strip():
            j += 1
    return section


def parse_fields(lines: list[str]) -> DocFields:
    """The sections of a docstring given as its lines (the text between the quotes, split at newlines)."""
    sections: list[Section] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        kind = _numpy_header(lines, i)
        if kind is not None:
            sections.append(_numpy_section(lines, i, kind))
        elif (kind := _google_header(lines[i])) is not None:
            sections.append(_google_section(lines, i, kind))
        elif _SPHINX_FIELD.match(stripped):
            sections.append(_sphinx_fields(lines, i))
        else:
            i += 1
            continue
        i = max(sections[-1].end, i + 1)
    return DocFields(sections)


def literal_lines(literal: str) -> tuple[str, list[str]] | None:
    """(quote, lines between the quotes) of a docstring literal as written; None if it is not a plain one."""
    m = re.match(r"(?i)([rbuf]{0,2})('''|\"\"\"|'|\")", literal)
    if m is None or "b" in m.group(1).lower() or "f" in m.group(1).lower():
        return None
    quote = m.group(2)
    if not literal.endswith(quote) or len(literal) < m.end() + len(quote):
        return None
    return quote, literal[m.end():len(literal) - len(quote)].split("\n")
