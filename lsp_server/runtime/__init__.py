"""ONNX runtime: verified bundles, onnxruntime sessions, the code LM engine (KV cache, greedy branches,
scoring), cancellation, token healing's index and the docstring model's beam search. No feature code.

Importing this package turns onnxruntime's telemetry off. Since 1.29 its Linux and macOS wheels write a
device id and an event database under ~/.cache/Microsoft/DeveloperTools and upload them; the opt-out is an
environment variable that onnxruntime reads once, when it initialises, so it is set here, before any module
of this package imports onnxruntime. (ORT_DISABLE_TELEMETRY is the name 1.29-1.32 read; later releases
also honour ORT_TELEMETRY_DISABLED.) tests/e2e/test_no_network_e2e.py checks a whole session under strace.
"""
import os

for _name in ("ORT_DISABLE_TELEMETRY", "ORT_TELEMETRY_DISABLED"):
    os.environ[_name] = "1"
del _name
