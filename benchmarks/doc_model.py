"""Latency of the docstring model as the server runs it: DocstringModel.search on standard-library functions.

    python -m benchmarks.doc_model --bundle DIR [--beams 1,4] [--functions 20] [--threads 2]
    python -m benchmarks.doc_model --random small      # a random Seq2Seq of train_doc's preset, int8

The functions are the first --functions training-style pairs (model/docpairs.py: docstring removed,
dedented) of a fixed list of standard-library modules. --random adds a random model of the preset's size
to a temporary copy of the shipped bundle: it never emits <eos>, so every search runs to --max-tokens,
an upper bound for a trained model's latency.
"""
from __future__ import annotations

import argparse
import statistics
import sysconfig
import tempfile
import time
from pathlib import Path

MODULES = ("textwrap.py", "shlex.py", "fnmatch.py", "json/decoder.py", "json/encoder.py", "csv.py", "glob.py",
           "posixpath.py", "string.py", "bisect.py")


def stdlib_functions(n: int) -> list[str]:
    """Sources (docstring removed, dedented) of the first n documented functions of MODULES."""
    from model.docpairs import extract_pairs
    root = Path(sysconfig.get_paths()["stdlib"])
    codes: list[str] = []
    for name in MODULES:
        codes += [pair["code"] for pair in extract_pairs((root / name).read_text(encoding="utf-8"), name)]
    return codes[:n]


def random_bundle(preset: str, work: Path) -> Path:
    """A copy of the shipped bundle with a random Seq2Seq of model/train_doc.py's preset added (int8)."""
    import shutil

    import torch

    from export.doc_bundle import add_docstring_model
    from lsp_server.runtime.bundles import default_bundle_path
    from model.seq2seq import Seq2Seq
    from model.train_doc import PRESETS
    from model.transformer import ModelConfig, save_model
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=8192, arch="seq2seq", **PRESETS[preset]["model"])
    save_model(Seq2Seq(cfg), cfg, work / "ckpt")
    shutil.copytree(default_bundle_path(), work / "bundle")
    add_docstring_model(work / "ckpt", work / "bundle", int8=True, log=lambda *_: None)
    return work / "bundle"


def measure(bundle: Path, codes: list[str], beams: list[int], max_tokens: int, threads: int) -> None:
    """Print median and p90 wall time per beam width over the codes, after one warm-up search."""
    from lsp_server.runtime.docstring_model import BeamOptions, DocstringModel
    model = DocstringModel.load(bundle, threads=threads)
    print(f"{len(codes)} functions, {statistics.median(len(model.source_ids(c)) for c in codes):.0f} source tokens "
          f"median, max_tokens {max_tokens}, {threads or 'default'} threads")
    for beam in beams:
        options = BeamOptions(beam=beam, max_tokens=max_tokens)
        model.search(codes[0], options)
        ms, encode, tokens = [], [], []
        for code in codes:
            started = time.perf_counter()
            found = model.search(code, options)
            ms.append((time.perf_counter() - started) * 1000)
            encode.append(found.encode_ms)
            tokens.append(len(found.token_ids))
        p90 = sorted(ms)[int(0.9 * (len(ms) - 1))]
        print(f"beam {beam}: median {statistics.median(ms):.1f} ms, p90 {p90:.1f} ms, encoder "
              f"{statistics.median(encode):.1f} ms, {statistics.median(tokens):.0f} tokens median")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", default=None, help="bundle folder with a docstring model")
    parser.add_argument("--random", default=None, metavar="PRESET", help="a random model of this train_doc preset")
    parser.add_argument("--beams", default="1,4")
    parser.add_argument("--functions", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=40)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    codes = stdlib_functions(args.functions)
    beams = [int(b) for b in args.beams.split(",")]
    if args.random:
        with tempfile.TemporaryDirectory() as tmp:
            measure(random_bundle(args.random, Path(tmp)), codes, beams, args.max_tokens, args.threads)
    else:
        measure(Path(args.bundle), codes, beams, args.max_tokens, args.threads)


if __name__ == "__main__":
    main()
