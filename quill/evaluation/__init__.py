"""`quill eval`: suggestion quality of a bundle on a folder of third-party Python (runner -> samples, tasks,
docstrings, metrics, bleu). Serving code only: torch is never imported."""
