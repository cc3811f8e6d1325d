"""Each feature module's handlers called directly, as plain functions of a server that was never started.

The server comes from lsp_server.app.create_server (every feature registered) with no client: whatever it
would send (window/showMessage) is only logged. Without a loaded engine (`ls.engine` None and no loading
task), `ls.wait_engine()` answers None at once: docstring summaries are placeholders and completion items
from the buffer. The inline test sets the shared shipped engine on the server.
"""
import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from lsp_server.app import create_server
from lsp_server.features import (
    actions,
    assist_requests,
    commands,
    completion,
    debug,
    hover,
    inline,
    lifecycle,
    sync,
)
from lsp_server.server.language_server import QuillServer
from lsp_server.syntax import edits

URI = "file:///w/shop.py"
SHOP = ("def total_price(items, tax):\n"
        "    subtotal = sum(item.price for item in items)\n"
        "    return subtotal * (1 + tax)\n"
        "\n"
        "\n"
        "def documented():\n"
        '    """Already says what it does."""\n'
        "    return 1\n")


@pytest.fixture
def ls():
    server = create_server(threads=1)
    yield server
    server.inference.shutdown(wait=True)


def open_document(ls: QuillServer, text: str = SHOP, uri: str = URI, version: int = 1) -> None:
    item = types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)
    sync.did_open(ls, types.DidOpenTextDocumentParams(text_document=item))


def at(text: str, needle: str, after: int = 0) -> types.Position:
    """The UTF-16 position of needle's first occurrence in text (plus `after` characters); ASCII text."""
    offset = text.index(needle) + after
    line = text.count("\n", 0, offset)
    return types.Position(line=line, character=offset - (text.rfind("\n", 0, offset) + 1))


def document(uri: str = URI) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


def span(start: types.Position, end: types.Position) -> types.Range:
    return types.Range(start=start, end=end)


def points(r: types.Range) -> tuple[tuple[int, int], tuple[int, int]]:
    """(line, character) of both ends: the server's positions are its own NamedTuple, not lsprotocol's."""
    return (r.start.line, r.start.character), (r.end.line, r.end.character)


def changed(version: int, *changes) -> types.DidChangeTextDocumentParams:
    return types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version), content_changes=list(changes))


def hover_at(position: types.Position) -> types.HoverParams:
    return types.HoverParams(text_document=document(), position=position)


def actions_at(position: types.Position, context: types.CodeActionContext) -> types.CodeActionParams:
    return types.CodeActionParams(text_document=document(), range=span(position, position), context=context)


def completion_at(position: types.Position) -> types.CompletionParams:
    return types.CompletionParams(text_document=document(), position=position)


def inline_at(position: types.Position, trigger: types.InlineCompletionTriggerKind) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(text_document=document(), position=position,
                                        context=types.InlineCompletionContext(trigger_kind=trigger))


# --- sync ----------------------------------------------------------------------------------------------

def test_did_open_did_change_did_close_keep_the_store_and_then_nothing(ls):
    open_document(ls, "x = 1\n")
    assert ls.store.get(URI).text == "x = 1\n" and ls.store.get(URI).version == 1
    change = types.TextDocumentContentChangePartial(range=span(types.Position(0, 4), types.Position(0, 5)), text="42")
    sync.did_change(ls, changed(2, change))
    assert ls.store.get(URI).text == "x = 42\n" and ls.store.get(URI).version == 2
    assert ls.per_document_state()["documents"] == 1
    sync.did_close(ls, types.DidCloseTextDocumentParams(text_document=document()))
    assert ls.store.get(URI) is None
    assert set(ls.per_document_state().values()) == {0}


def test_a_change_for_a_document_never_opened_is_ignored(ls):
    sync.did_change(ls, changed(2, types.TextDocumentContentChangeWholeDocument(text="y = 2\n")))
    assert ls.store.get(URI) is None


# --- hover ---------------------------------------------------------------------------------------------

CART = ('def checkout(items, tax):\n'
        '    """Pay for everything.\n\n    Args:\n        items: The products in the cart.\n'
        '        tax (float): The tax rate, as a fraction.\n    """\n    return 0\n')


def index_open_documents(ls: QuillServer) -> None:
    """Wait until the index thread has read the open documents (it waits DOCUMENT_DELAY_S for more typing)."""
    ls.project.executor.submit(lambda: None).result(timeout=10)


async def test_hover_shows_descriptions_another_open_document_gives_and_nothing_for_placeholders_only(ls):
    open_document(ls)
    index_open_documents(ls)
    assert await hover.hover(ls, hover_at(at(SHOP, "total_price", 3))) is None  # no model: nothing but placeholders
    open_document(ls, CART, "file:///w/cart.py")
    index_open_documents(ls)
    answer = await hover.hover(ls, hover_at(at(SHOP, "total_price", 3)))
    assert isinstance(answer, types.Hover)
    assert points(answer.range) == ((0, 4), (0, 4 + len("total_price")))
    value = answer.contents.value
    assert "items: The products in the cart.\n    tax: The tax rate, as a fraction.\n" in value
    assert "2 of 2 parameter descriptions from the project" in value and hover.SOURCES["placeholder"] in value
    assert ls.engine is None and await ls.wait_engine() is None  # nothing was loaded


async def test_hover_on_a_documented_function_or_elsewhere_is_none(ls):
    open_document(ls)
    assert await hover.hover(ls, hover_at(at(SHOP, "documented", 2))) is None
    assert await hover.hover(ls, hover_at(at(SHOP, "subtotal =", 2))) is None


# --- actions -------------------------------------------------------------------------------------------

async def test_code_action_on_an_undocumented_function_adds_a_docstring_to_this_document(ls):
    open_document(ls)
    here = at(SHOP, "total_price", 1)
    found = await actions.code_action(ls, actions_at(here, types.CodeActionContext(diagnostics=[])))
    assert [a.title for a in found] == [assist_requests.ADD_DOCSTRING]  # no engine: no generated body
    action = found[0]
    assert action.kind == actions.KIND and list(action.edit.changes) == [URI]
    (edit,) = action.edit.changes[URI]
    assert edit.new_text.lstrip().startswith('"""') and edit.range.start.line == 1


WELL = ('def pay(items, tax):\n    """Pay for everything.\n\n    Args:\n        items: What is bought.\n    """\n'
        '    print(items, tax)\n\n\n'
        'def paid(items):\n    """Pay for everything.\n\n    Args:\n        items: What is bought.\n    """\n'
        '    print(items)\n')


async def test_a_well_documented_function_gets_add_to_first_and_regenerate_only_after_it(ls):
    open_document(ls, WELL)
    found = await actions.code_action(ls, actions_at(at(WELL, "pay("), types.CodeActionContext(diagnostics=[])))
    assert [(a.title, a.is_preferred) for a in found] == [("Add to docstring: tax", True),
                                                          (assist_requests.REGENERATE_DOCSTRING, False)]
    (edit,) = found[0].edit.changes[URI]
    assert edit.new_text.startswith('"""Pay for everything.\n\n    Args:\n        items: What is bought.\n'
                                    '        tax: _description_\n')  # every word kept; tax added after items
    # Nothing to add: no Regenerate either (it would be first and replace a person's docstring).
    assert await actions.code_action(ls, actions_at(at(WELL, "paid("), types.CodeActionContext(diagnostics=[]))) \
        is None


async def test_a_one_line_docstring_gets_add_to_then_regenerate_and_only_add_to_is_preferred(ls):
    open_document(ls)
    found = await actions.code_action(ls, actions_at(at(SHOP, "documented"), types.CodeActionContext(diagnostics=[])))
    assert [(a.title, a.is_preferred) for a in found] == [("Add to docstring: Returns", True),
                                                          (assist_requests.REGENERATE_DOCSTRING, False)]


async def test_placeholders_are_tab_stops_for_a_client_that_takes_snippet_edits(ls):
    ls.protocol.client_capabilities = types.ClientCapabilities(workspace=types.WorkspaceClientCapabilities(
        workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True, snippet_edit_support=True)))
    open_document(ls)
    found = await actions.code_action(ls, actions_at(at(SHOP, "total_price"), types.CodeActionContext(diagnostics=[])))
    (change,) = found[0].edit.document_changes[0].edits
    assert isinstance(change, types.SnippetTextEdit)
    assert '"""${1:_summary_}\n\n    Args:\n        items: ${2:_description_}\n' in change.snippet.value


async def test_code_action_filtered_to_other_kinds_is_none(ls):
    open_document(ls)
    here = at(SHOP, "total_price", 1)
    only = types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.QuickFix])
    assert await actions.code_action(ls, actions_at(here, only)) is None


# --- assist_requests (the glue the three modules above share) ---------------------------------------------

async def test_docstring_for_skips_documented_definitions_only_when_asked(ls):
    open_document(ls)
    where = at(SHOP, "documented", 1)
    assert await assist_requests.docstring_for(ls, URI, where, "hover", existing=False) is None
    suggestion, snapshot = await assist_requests.docstring_for(ls, URI, where, "action")
    assert assist_requests.docstring_title(suggestion) == assist_requests.REGENERATE_DOCSTRING
    assert snapshot.text == SHOP
    edit = assist_requests.workspace_edit(snapshot, suggestion.edit, ls.encoding)
    assert list(edit.changes) == [URI]


async def test_body_for_without_an_engine_or_a_target_is_none(ls):
    open_document(ls, "def todo():\n    pass\n")
    assert await assist_requests.body_for(ls, URI, types.Position(0, 5), "action") is None  # target, no engine
    assert await assist_requests.body_for(ls, "file:///w/unknown.py", types.Position(0, 0), "action") is None


# --- commands ------------------------------------------------------------------------------------------

async def test_generate_docstring_when_disabled_applies_nothing_and_says_why(ls):
    open_document(ls)
    ls.config.docstring.enabled = False
    result = await commands.generate_docstring(ls, URI, {"line": 0, "character": 5})
    assert result["applied"] is False and "docstring.enabled" in result["reason"]


async def test_generate_body_when_disabled_applies_nothing_and_a_closed_document_is_invalid(ls):
    open_document(ls)
    ls.config.codegen.enabled = False
    result = await commands.generate_body(ls, {"uri": URI, "position": {"line": 0, "character": 5}})
    assert result["applied"] is False and "codegen.enabled" in result["reason"]
    with pytest.raises(JsonRpcInvalidParams, match="not open"):
        await commands.generate_docstring(ls, "file:///w/closed.py", {"line": 0, "character": 0})


def test_parse_arguments_takes_both_shapes():
    expected = (URI, types.Position(3, 4))
    assert commands.parse_arguments((URI, {"line": 3, "character": 4})) == expected
    assert commands.parse_arguments(({"uri": URI, "position": {"line": 3, "character": 4}},)) == expected
    assert commands.parse_arguments(({"textDocument": {"uri": URI}, "position": {"line": 3, "character": 4}},)) \
        == expected


@pytest.mark.parametrize("args", [
    (),
    (URI,),
    (URI, {"line": 0, "character": 0}, "extra"),
    ("", {"line": 0, "character": 0}),
    (42, {"line": 0, "character": 0}),
    (URI, [0, 0]),
    (URI, {"line": -1, "character": 0}),
    (URI, {"line": 0, "character": True}),
    (URI, {"line": 0, "character": 2**31}),
    (URI, {"line": 0}),
    ({"position": {"line": 0, "character": 0}},),
])
def test_parse_arguments_rejects_bad_arguments_with_the_expected_shape(args):
    with pytest.raises(JsonRpcInvalidParams, match="expected arguments"):
        commands.parse_arguments(args)


# --- completion ----------------------------------------------------------------------------------------

async def test_completion_at_an_identifier_offers_the_buffers_names(ls):
    text = SHOP + "\nprint(total_pr)\n"
    open_document(ls, text)
    ls.config.completion.model_ranking = False
    answer = await completion.completion(ls, completion_at(at(text, "total_pr)", 8)))
    assert isinstance(answer, types.CompletionList)
    assert "total_price" in [item.label for item in answer.items]
    item = next(item for item in answer.items if item.label == "total_price")
    assert item.text_edit.new_text == "total_price"
    assert points(item.text_edit.range) == ((9, 6), (9, 14))  # the whole word at the cursor
    assert ls.engine is None


async def test_completion_for_an_unknown_document_or_when_disabled_is_empty(ls):
    assert (await completion.completion(ls, completion_at(types.Position(0, 0)))).items == []
    open_document(ls)
    ls.config.completion.enabled = False
    assert (await completion.completion(ls, completion_at(at(SHOP, "items", 2)))).items == []


# --- inline --------------------------------------------------------------------------------------------

async def test_inline_completion_with_the_shipped_engine_answers_at_the_cursor(ls, engine):
    text = "def add(a, b):\n    return "
    open_document(ls, text)
    ls.engine = engine
    ls.config.inline.min_confidence = 0.0  # the wiring is under test, not the confidence gate
    cursor = types.Position(1, 11)
    answer = await inline.inline_completion(ls, inline_at(cursor, types.InlineCompletionTriggerKind.Automatic))
    assert isinstance(answer, types.InlineCompletionList) and answer.items
    assert all(points(item.range) == ((1, 11), (1, 11)) and item.insert_text for item in answer.items)
    stats = inline.stats(ls, None)
    assert stats["model"] == 1 and stats["answers"][0]["prompt_tokens"] > 0
    # Typing the suggestion's first character is answered from it, without the model.
    shown = answer.items[0].insert_text
    typed = types.TextDocumentContentChangePartial(range=span(cursor, cursor), text=shown[0])
    sync.did_change(ls, changed(2, typed))
    after = types.Position(line=1, character=12)
    rest = await inline.inline_completion(ls, inline_at(after, types.InlineCompletionTriggerKind.Automatic))
    if len(shown) > 1:
        assert shown[1:] in [item.insert_text for item in rest.items]
        assert inline.stats(ls, None)["typed"] == 1


async def test_inline_completion_without_an_engine_answers_nothing(ls):
    open_document(ls, "x = ")
    params = inline_at(types.Position(0, 4), types.InlineCompletionTriggerKind.Invoked)
    assert (await inline.inline_completion(ls, params)).items == []
    assert inline.stats(ls, None)["none"] == 1


# --- lifecycle -----------------------------------------------------------------------------------------

def test_on_configuration_applies_workspace_settings_but_never_a_bundle(ls):
    settings = {"quill": {"inline": {"max_lines": 3}, "docstring": {"style": "numpy"},
                          "model": {"bundle_path": "/somewhere/else"}}}
    lifecycle.on_configuration(ls, types.DidChangeConfigurationParams(settings=settings))
    assert ls.config.inline.max_lines == 3 and ls.config.docstring.style == "numpy"
    assert ls.config.model.bundle_path is None and ls.model_choice() == (None, 1)


def test_on_initialize_applies_the_users_settings(ls):
    params = types.InitializeParams(capabilities=types.ClientCapabilities(), process_id=None,
                                    initialization_options={"completion": {"max_items": 7}})
    lifecycle.on_initialize(ls, params)
    assert ls.config.completion.max_items == 7
    assert ls.engine is None  # the model loads on `initialized`, not here


# --- debug ---------------------------------------------------------------------------------------------

def test_document_text_returns_the_servers_text_version_and_tree_digest(ls):
    open_document(ls, "x = 1\n", version=5)
    found = debug.document_text(ls, URI)
    assert found["text"] == "x = 1\n" and found["version"] == 5
    assert found["tree"] == debug.tree_digest(ls.store.get(URI).tree) and len(found["tree"]) == 64
    assert debug.document_text(ls, "file:///w/unknown.py") is None
    with pytest.raises(JsonRpcInvalidParams):
        debug.document_text(ls, URI, "extra")


def declare_document_changes(ls: QuillServer) -> None:
    """What initialize records for a client that declares workspace.workspaceEdit.documentChanges."""
    ls.protocol.client_capabilities = types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(
            workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True)))


async def test_code_action_edits_carry_the_document_version_when_the_client_takes_document_changes(ls):
    declare_document_changes(ls)
    open_document(ls, version=7)
    found = await actions.code_action(ls, types.CodeActionParams(
        text_document=document(), range=span(at(SHOP, "total_price"), at(SHOP, "total_price")),
        context=types.CodeActionContext(diagnostics=[])))
    edit = found[0].edit
    assert edit.changes is None and len(edit.document_changes) == 1
    change = edit.document_changes[0]
    assert (change.text_document.uri, change.text_document.version) == (URI, 7)
    assert '"""' in change.edits[0].new_text


async def test_an_unversioned_edit_for_an_older_version_is_refused_not_sent(ls):
    open_document(ls)  # the client takes no documentChanges: its applyEdit could not check a version
    snapshot = ls.store.get(URI).snapshot()
    sync.did_change(ls, types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
        content_changes=[types.TextDocumentContentChangePartial(range=span(at(SHOP, "def"), at(SHOP, "def")),
                                                               text="# one\n# two\n")]))
    result = await commands._apply(ls, snapshot, edits.Edit(0, 0, "x"), "Add docstring")
    assert result == {"applied": False, "reason": "the document changed while the edit was computed; ask again"}
