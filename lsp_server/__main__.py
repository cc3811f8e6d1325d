"""`python -m lsp_server`: run the language server (the editors' fallback when `quill` is not on PATH)."""
import sys

from lsp_server.app import main

if __name__ == "__main__":
    sys.exit(main())
