"""Python only where LSP allows it: features the client registers dynamically leave the static capabilities and
come back as registrations with a Python documentSelector; other clients keep the static entries."""
from __future__ import annotations

from lsprotocol import types

from lsp_server.server.capabilities import (
    DOCUMENT_FEATURES,
    PYTHON_SELECTOR,
    python_only_registrations,
)


def _server_caps() -> types.ServerCapabilities:
    return types.ServerCapabilities(
        inline_completion_provider=types.InlineCompletionOptions(),
        completion_provider=types.CompletionOptions(trigger_characters=["."]),
        hover_provider=True,
        code_action_provider=types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.RefactorRewrite]))


def _client(dynamic: bool) -> types.ClientCapabilities:
    return types.ClientCapabilities(text_document=types.TextDocumentClientCapabilities(
        inline_completion=types.InlineCompletionClientCapabilities(dynamic_registration=dynamic),
        completion=types.CompletionClientCapabilities(dynamic_registration=dynamic),
        hover=types.HoverClientCapabilities(dynamic_registration=dynamic),
        code_action=types.CodeActionClientCapabilities(dynamic_registration=dynamic)))


def test_a_client_that_registers_dynamically_gets_every_document_feature_for_python_only():
    caps = _server_caps()
    registrations = {r.method: r for r in python_only_registrations(caps, _client(True))}
    assert set(registrations) == set(DOCUMENT_FEATURES)
    assert caps.inline_completion_provider is None and caps.completion_provider is None
    assert caps.hover_provider is None and caps.code_action_provider is None
    for registration in registrations.values():
        assert registration.register_options.document_selector == PYTHON_SELECTOR
    # The static options travel with the registration.
    assert registrations[types.TEXT_DOCUMENT_COMPLETION].register_options.trigger_characters == ["."]
    assert registrations[types.TEXT_DOCUMENT_CODE_ACTION].register_options.code_action_kinds == [
        types.CodeActionKind.RefactorRewrite]


def test_a_client_without_dynamic_registration_keeps_the_static_capabilities():
    for client in (_client(False), types.ClientCapabilities(), None):
        caps = _server_caps()
        assert python_only_registrations(caps, client) == []
        assert caps == _server_caps()


def test_only_the_features_the_client_registers_dynamically_move():
    caps = _server_caps()
    client = types.ClientCapabilities(text_document=types.TextDocumentClientCapabilities(
        hover=types.HoverClientCapabilities(dynamic_registration=True)))
    assert [r.method for r in python_only_registrations(caps, client)] == [types.TEXT_DOCUMENT_HOVER]
    assert caps.hover_provider is None and caps.completion_provider is not None
