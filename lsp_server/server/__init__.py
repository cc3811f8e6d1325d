"""pygls plumbing: the QuillServer, JSON-RPC hardening, the failure guard, the parent watch, model loading
and the per-document sessions. Features register on the server; the server imports no feature."""
