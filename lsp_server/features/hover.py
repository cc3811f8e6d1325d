"""textDocument/hover: a suggested docstring for the undocumented function, method or class under the cursor.

Shown only when some line of it says something real (a summary from the model, a description from the
project, a raise condition); a skeleton of placeholders is left to the Add docstring action.
"""
from __future__ import annotations

from lsprotocol import types

from ..assists.descriptions import PROJECT
from ..assists.docstrings import DocstringSuggestion
from ..server.language_server import QuillServer
from .assist_requests import docstring_for

SOURCES = {"project": "summary of the same name in the project",
           "docstring-model": "summary by the local docstring model", "model": "summary by the local model",
           "name": "conventional summary", "own": "summary as written", "placeholder": "no summary: fill in _summary_"}


def hover_markdown(suggestion: DocstringSuggestion) -> str:
    """The hover text: a one-line heading, then the docstring as a Python code block."""
    notes = [f"{suggestion.style} style", SOURCES[suggestion.summary.source]]
    sources = suggestion.described.sources()
    if sources:
        notes.append(f"{sources.count(PROJECT)} of {len(sources)} parameter descriptions from the project")
    heading = f"**Quill: suggested docstring** ({', '.join(notes)})"
    return f"{heading}\n\n```python\n{suggestion.text}\n```"


async def hover(ls: QuillServer, params: types.HoverParams):
    # Documented definitions and every other position get no answer: other servers hover there too.
    found = await docstring_for(ls, params.text_document.uri, params.position, "hover", existing=False)
    if found is None or not found[0].has_content:
        return None
    suggestion, snapshot = found
    info = suggestion.info
    name_range = types.Range(snapshot.position_at(info.name_start, ls.encoding),
                             snapshot.position_at(info.name_end, ls.encoding))
    return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, hover_markdown(suggestion)), name_range)


def register(server: QuillServer) -> None:
    server.feature(types.TEXT_DOCUMENT_HOVER)(hover)
