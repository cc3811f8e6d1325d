"""The application layer: the `quill` command (corpus, tokenizer, train, export, serve, complete, demo,
eval) and `quill eval`. The only package that imports all the others (lsp_server, model, export)."""

import lsp_server.runtime  # noqa: F401,E402  (first: it turns onnxruntime's telemetry off before anything loads it)
