"""`python -m quill`: the `quill` command (torchrun needs a module: `torchrun ... -m quill train`)."""
import sys

from quill.cli import main

if __name__ == "__main__":
    sys.exit(main())
