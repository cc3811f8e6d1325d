"""ONNX runtime: verified bundles, onnxruntime sessions, the code LM engine (KV cache, greedy branches,
scoring), cancellation, token healing's index and the docstring model's beam search. No feature code."""
