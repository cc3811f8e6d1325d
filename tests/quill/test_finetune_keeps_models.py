"""Fine-tuning keeps every model: `quill train --init BUNDLE --source DIR` carries the base bundle's docstring
model over, mixes a seeded standard-library sample into the corpus unless --only-source, and warns when the
bundle it writes lacks a section its base had."""
import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from lsp_server.bundle_format import (
    DOC_DECODER_FILE,
    DOC_ENCODER_FILE,
    DOC_REFERENCE_FILE,
)
from lsp_server.runtime.bundles import load_bundle
from model.corpus import load_split, reject_reason, sample_files, source_bytes
from model.finetune import STDLIB_SHARE, source_corpus
from model.train import TrainConfig
from quill.cli import main as quill_main
from quill.finetune import lost_sections, warn_lost
from tests.bundle_fixtures import copy_bundle, edit_manifest

DOC_FILES = (DOC_ENCODER_FILE, DOC_DECODER_FILE, DOC_REFERENCE_FILE)
SIMULATED = "retrieval"  # a section a newer base bundle could have that this fine-tune does not write


def quiet(*_args) -> None:
    pass


def write_project(root: Path, stdlib_dir: Path) -> Path:
    """A user's repository: four real modules (about 30 KB)."""
    (root / "mylib").mkdir(parents=True)
    for name in ("decoder.py", "encoder.py", "scanner.py", "tool.py"):
        shutil.copyfile(stdlib_dir / "json" / name, root / "mylib" / name)
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory, stdlib_dir) -> Path:
    return write_project(tmp_path_factory.mktemp("repo"), stdlib_dir)


def test_the_stdlib_sample_is_seeded_within_its_budget_and_only_of_kept_files(stdlib_dir):
    budget = 40_000
    first, again = sample_files(stdlib_dir, budget, seed=7), sample_files(stdlib_dir, budget, seed=7)
    assert first == again and first != sample_files(stdlib_dir, budget, seed=8)
    taken = sum(p.stat().st_size for p in first)
    assert budget * 0.9 <= taken <= budget  # small files fill what a large one would overshoot
    assert all(reject_reason(p.read_text(encoding="utf-8")) is None for p in first)


def test_a_source_corpus_mixes_in_a_quarter_of_its_bytes_of_stdlib_by_default(project, stdlib_dir, tmp_path):
    cfg = TrainConfig.from_preset("tiny", source=[str(project)], out=str(tmp_path))
    summary = source_corpus(cfg, tmp_path / "corpus", log=quiet)
    stdlib = str(stdlib_dir.resolve())
    assert summary["sources"] == [str(project.resolve()), stdlib]
    budget = source_bytes([project]) * STDLIB_SHARE
    assert 0.5 * budget <= summary["sampled"][stdlib]["bytes"] <= budget
    assert json.loads((tmp_path / "corpus" / "summary.json").read_text())["sampled"] == summary["sampled"]
    keys = [r["path"] for split in ("train", "val", "test") for r in load_split(tmp_path / "corpus", split)]
    assert any(k.startswith(f"{stdlib_dir.resolve().name}/") for k in keys)
    assert any(k.startswith(f"{project.resolve().name}/mylib/") for k in keys)


def test_only_source_leaves_the_stdlib_out_of_the_corpus(project, tmp_path):
    cfg = TrainConfig.from_preset("tiny", source=[str(project)], out=str(tmp_path), only_source=True)
    summary = source_corpus(cfg, tmp_path / "corpus", log=quiet)
    assert summary["sources"] == [str(project.resolve())]
    assert summary["sampled"] == {}
    keys = [r["path"] for split in ("train", "val", "test") for r in load_split(tmp_path / "corpus", split)]
    assert keys and all(k.startswith(f"{project.resolve().name}/mylib/") for k in keys)


def test_a_lost_docstring_model_is_named_but_the_bases_own_history_is_not():
    base = {"name": "b", "docstring": {}, "upgraded_from": {}, "files": {"model.onnx": {}, DOC_ENCODER_FILE: {}}}
    assert lost_sections(base, {"name": "c", "files": {"model.onnx": {}}}) == ["docstring", f"file {DOC_ENCODER_FILE}"]
    assert lost_sections(base, {"name": "c", "docstring": {}, "files": {"model.onnx": {}, DOC_ENCODER_FILE: {}}}) == []


def test_the_lost_section_warning_goes_to_stderr_and_the_log(capsys):
    logged = []
    warnings = warn_lost(Path("base"), {"docstring": {}, "files": {}}, {"files": {}}, log=logged.append)
    assert warnings == logged and "docstring" in warnings[0]
    assert capsys.readouterr().err.strip() == warnings[0]
    assert warn_lost(Path("base"), {"files": {}}, {"files": {}}, log=logged.append) == [] and len(logged) == 1


def test_doc_is_refused_with_the_reason_and_the_way_to_retrain_it(project, tmp_path):
    with pytest.raises(SystemExit) as exc:  # a UserError: `quill train: ...` on stderr, exit status 1
        quill_main(["train", "--init", "lsp_server/bundle", "--source", str(project), "--doc",
                    "--out", str(tmp_path / "out")])
    message = str(exc.value.code)
    assert message.startswith("quill train: --doc: fine-tuning the docstring model is not supported")
    assert "carried over unchanged" in message and "quill export-doc" in message
    assert not (tmp_path / "out").exists()


def test_only_source_without_source_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="--only-source applies to a corpus built with --source"):
        quill_main(["train", "--init", "lsp_server/bundle", "--only-source", "--out", str(tmp_path / "out")])


@pytest.fixture(scope="module")
def finetuned(tmp_path_factory, project):
    """The shipped bundle, given a section this fine-tune does not know, fine-tuned for 2 steps: (exit status,
    base, new bundle, stdout, stderr)."""
    import torch
    root = tmp_path_factory.mktemp("finetune")
    base = copy_bundle(root / "base")
    edit_manifest(base, lambda m: m.update({SIMULATED: {"note": "a model the fine-tune cannot carry"}}))
    threads, out, err = torch.get_num_threads(), io.StringIO(), io.StringIO()
    torch.set_num_threads(1)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = quill_main(["train", "--init", str(base), "--source", str(project), "--preset", "tiny",
                                 "--out", str(root / "mine"), "--max-steps", "2", "--eval-interval", "2",
                                 "--threads", "1", "--no-bf16", "--no-compile"])
    finally:
        torch.set_num_threads(threads)
    return status, base, root / "mine" / "bundle", out.getvalue(), err.getvalue()


@pytest.mark.slow
def test_a_bundle_fine_tuned_from_the_shipped_one_keeps_its_docstring_model(finetuned):
    status, base, bundle, _, _ = finetuned
    assert status == 0
    loaded = load_bundle(bundle)  # every file's sha256, the docstring graphs' too
    assert loaded.docstring is not None
    before = json.loads((base / "manifest.json").read_text())
    assert loaded.manifest["docstring"] == before["docstring"]
    for name in DOC_FILES:
        assert (bundle / name).read_bytes() == (base / name).read_bytes()
    assert loaded.manifest["corpus"]["sampled"]  # the default mixed the stdlib in


@pytest.mark.slow
def test_fine_tuning_warns_on_stderr_and_in_the_log_about_a_section_its_base_had(finetuned):
    _, _, bundle, out, err = finetuned
    assert SIMULATED not in load_bundle(bundle).manifest
    printed = [line for line in err.splitlines() if line.startswith("warning:")]
    logged = [line for line in out.splitlines() if line.startswith("warning:")]
    assert printed == logged and len(printed) == 1
    assert SIMULATED in printed[0] and "docstring" not in printed[0]
    assert printed[0] in out[out.index("{"):]  # the summary's "warnings" too
