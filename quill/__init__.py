"""The application layer: the `quill` command (corpus, tokenizer, train, export, serve, complete, demo,
eval) and `quill eval`. The only package that imports all the others (lsp_server, model, export)."""
