"""textDocument/completion: the inline suggestion as one item, for clients without ghost text."""
from __future__ import annotations

from lsprotocol import types

from ..server import QuillServer
from .inline import run_suggest


def word_start(line_before: str) -> int:
    """Index in line_before where the identifier being typed starts."""
    i = len(line_before)
    while i > 0 and (line_before[i - 1].isalnum() or line_before[i - 1] == "_"):
        i -= 1
    return i


def register(server: QuillServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=["."]))
    async def completion(ls: QuillServer, params: types.CompletionParams):
        if not ls.config.completion.enabled:
            return types.CompletionList(is_incomplete=False, items=[])
        found = await run_suggest(ls, params.text_document.uri, params.position)
        if found is None:
            return types.CompletionList(is_incomplete=True, items=[])
        suggestion, snapshot = found
        line_start = snapshot.text.rfind("\n", 0, suggestion.offset) + 1
        start = line_start + word_start(snapshot.text[line_start:suggestion.offset])
        typed = snapshot.text[start:suggestion.offset]
        new_text = typed + suggestion.text
        edit_range = types.Range(snapshot.position_at(start, ls.encoding),
                                 snapshot.position_at(suggestion.offset, ls.encoding))
        item = types.CompletionItem(
            label=new_text.strip().splitlines()[0] if new_text.strip() else new_text,
            kind=types.CompletionItemKind.Text,
            detail="Quill (local model)",
            filter_text=new_text,
            text_edit=types.TextEdit(edit_range, new_text),
            insert_text_format=types.InsertTextFormat.PlainText,
            sort_text="0",
        )
        # Incomplete: typing on changes the model's answer, so the client must ask again.
        return types.CompletionList(is_incomplete=True, items=[item])
