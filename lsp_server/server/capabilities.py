"""Python documents only, where LSP lets a server say so: document features registered with a documentSelector.

Static capabilities (the `initialize` result) cannot name a language for these features, so for each one the
client can register dynamically (`textDocument.<feature>.dynamicRegistration`), the static entry is left out
and the feature is registered after `initialized` with `client/registerCapability` and the selector
`[{"language": "python"}]`. A client that cannot keeps the static entry, and the handlers answer nothing for
a non-Python document anyway (lsp_server.features.status).
"""
from __future__ import annotations

from typing import Any

import attrs
from lsprotocol import types

PYTHON_SELECTOR = [types.TextDocumentFilterLanguage(language="python")]
REGISTRATION_PREFIX = "quill-python-"

# method: (ClientCapabilities.text_document attribute, ServerCapabilities attribute, registration options)
DOCUMENT_FEATURES: dict[str, tuple[str, str, type]] = {
    types.TEXT_DOCUMENT_INLINE_COMPLETION: ("inline_completion", "inline_completion_provider",
                                            types.InlineCompletionRegistrationOptions),
    types.TEXT_DOCUMENT_COMPLETION: ("completion", "completion_provider", types.CompletionRegistrationOptions),
    types.TEXT_DOCUMENT_HOVER: ("hover", "hover_provider", types.HoverRegistrationOptions),
    types.TEXT_DOCUMENT_CODE_ACTION: ("code_action", "code_action_provider", types.CodeActionRegistrationOptions),
}


def _registers_dynamically(client: types.ClientCapabilities | None, attribute: str) -> bool:
    feature = getattr(getattr(client, "text_document", None), attribute, None)
    return bool(getattr(feature, "dynamic_registration", False))


def _options(kind: type, static: Any) -> Any:
    """kind's registration options: the static options' fields (none for `true`) and the Python selector."""
    fields = attrs.fields_dict(kind)
    values = {k: v for k, v in attrs.asdict(static, recurse=False).items() if k in fields} \
        if attrs.has(type(static)) else {}
    return kind(**{**values, "document_selector": PYTHON_SELECTOR})


def python_only_registrations(server: types.ServerCapabilities,
                              client: types.ClientCapabilities | None) -> list[types.Registration]:
    """Registrations for the features the client registers dynamically; their static entries are removed
    from `server` (else the client would use those for every language)."""
    registrations = []
    for method, (client_attr, server_attr, kind) in DOCUMENT_FEATURES.items():
        static = getattr(server, server_attr, None)
        if static is None or static is False or not _registers_dynamically(client, client_attr):
            continue
        setattr(server, server_attr, None)
        registrations.append(types.Registration(id=REGISTRATION_PREFIX + method, method=method,
                                                register_options=_options(kind, static)))
    return registrations
