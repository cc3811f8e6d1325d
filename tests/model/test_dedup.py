"""Tests of the corpus's near-duplicate removal, held-out folders, per-package cap and train_hashes.txt."""
from pathlib import Path

import pytest

from lsp_server.bundle_format import content_hash
from model.corpus import SPLITS, TRAIN_HASHES, build_corpus, load_split, split_for
from model.dedup import NearDupIndex, minhash


def write(root: Path, rel: str, text: str, newline: str = "\n") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def where(out: Path) -> dict[str, list[str]]:
    """Relative path -> the splits it landed in."""
    found: dict[str, list[str]] = {}
    for split in SPLITS:
        for record in load_split(out, split):
            found.setdefault(record["path"], []).append(split)
    return found


def edit_lines(text: str, every: int = 100) -> str:
    """A near-copy: a few lines changed (one in `every`), as in a vendored or forked copy."""
    lines = text.splitlines(keepends=True)
    for i in range(5, len(lines), every):
        lines[i] = lines[i].rstrip("\n") + "  # patched\n"
    return "".join(lines)


def name_in_other_split(split: str, stem: str) -> str:
    """A file name whose path-hashed split differs from `split`, so a kept near-copy would leak across."""
    return next(f"{stem}_{i}.py" for i in range(1000) if split_for(f"src/{stem}_{i}.py") != split)


@pytest.fixture(scope="module")
def decoder_text(stdlib_dir) -> str:
    return (stdlib_dir / "json" / "decoder.py").read_text(encoding="utf-8")


def test_near_copy_signatures_collide_and_unrelated_ones_do_not(stdlib_dir, decoder_text):
    index = NearDupIndex()
    index.add("decoder", minhash(decoder_text))
    assert index.find(minhash(edit_lines(decoder_text))) == "decoder"
    assert index.find(minhash((stdlib_dir / "json" / "encoder.py").read_text(encoding="utf-8"))) is None


def test_a_near_copy_is_dropped_and_never_lands_in_a_second_split(tmp_path, stdlib_dir, decoder_text):
    src = tmp_path / "src"
    write(src, "decoder.py", decoder_text)
    copy = name_in_other_split(split_for("src/decoder.py"), "zz_vendored_decoder")
    near = edit_lines(decoder_text)
    assert near != decoder_text and content_hash(near) != content_hash(decoder_text)
    write(src, copy, near)
    for name in ("encoder.py", "scanner.py", "tool.py"):  # unrelated files
        write(src, name, (stdlib_dir / "json" / name).read_text(encoding="utf-8"))
    summary = build_corpus([src], tmp_path / "out")
    assert summary.dropped == {"near_duplicate": 1}
    found = where(tmp_path / "out")
    assert found == {"src/decoder.py": [split_for("src/decoder.py")], "src/encoder.py": [split_for("src/encoder.py")],
                     "src/scanner.py": [split_for("src/scanner.py")], "src/tool.py": [split_for("src/tool.py")]}


@pytest.mark.parametrize("newline, trailing", [("\n", ""), ("\r\n", ""), ("\r\n", "   "), ("\n", "\t ")])
def test_a_file_equal_to_a_held_out_one_is_dropped_whatever_its_line_endings(tmp_path, decoder_text, stdlib_dir,
                                                                             newline, trailing):
    write(tmp_path / "eval", "task.py", decoder_text)
    copy = "".join(line + (trailing if line.strip() else "") + "\n" for line in decoder_text.splitlines())
    write(tmp_path / "src", "copied.py", copy, newline=newline)
    write(tmp_path / "src", "own.py", (stdlib_dir / "json" / "encoder.py").read_text(encoding="utf-8"))
    summary = build_corpus([tmp_path / "src"], tmp_path / "out", holdout=[tmp_path / "eval"])
    assert summary.dropped == {"held_out": 1}
    assert set(where(tmp_path / "out")) == {"src/own.py"}
    assert summary.holdout == [str((tmp_path / "eval").resolve())]


def test_a_near_copy_of_a_held_out_file_is_dropped_too(tmp_path, decoder_text):
    write(tmp_path / "eval", "task.py", decoder_text)
    write(tmp_path / "src", "solution.py", edit_lines(decoder_text))
    summary = build_corpus([tmp_path / "src"], tmp_path / "out", holdout=[tmp_path / "eval"])
    assert summary.dropped == {"held_out": 1}
    assert where(tmp_path / "out") == {}


def test_a_missing_held_out_folder_is_an_error(tmp_path):
    write(tmp_path / "src", "a.py", "x = 1\n")
    with pytest.raises(FileNotFoundError, match="held-out folder"):
        build_corpus([tmp_path / "src"], tmp_path / "out", holdout=[tmp_path / "nowhere"])


def distinct_module(tag: str, n: int, lines: int = 40) -> str:
    """A parsable module unlike any other (no shared 3-line shingle), of the same size for every n < 1000."""
    return "".join(f"def {tag}_{n:03d}_{i:03d}(x):\n    return x * 1{n:03d}{i:03d}\n" for i in range(lines // 2))


def test_the_package_cap_keeps_each_package_under_its_cap(tmp_path):
    src = tmp_path / "src"
    for n in range(30):
        write(src, f"big/mod_{n}.py", distinct_module("big", n))
    for n in range(3):
        write(src, f"small/mod_{n}.py", distinct_module("sml", n))
    size = len(distinct_module("big", 0).encode())
    cap_mb = 8.5 * size / 1e6  # room for 8 files of the big package
    summary = build_corpus([src], tmp_path / "out", max_package_mb=cap_mb)
    kept = {split: load_split(tmp_path / "out", split) for split in SPLITS}
    by_package: dict[str, int] = {}
    for records in kept.values():
        for r in records:
            package = r["path"].split("/")[1]
            by_package[package] = by_package.get(package, 0) + len(r["text"].encode())
    assert by_package["big"] <= cap_mb * 1e6
    assert by_package["big"] == 8 * size
    assert by_package["small"] == 3 * size  # another package is not affected (same size per file)
    assert summary.dropped == {"package_cap": 22}


def test_train_hashes_list_exactly_the_train_split(tmp_path, stdlib_dir):
    src = tmp_path / "src"
    for n in range(40):
        write(src, f"pkg/mod_{n}.py", distinct_module("m", n, lines=6))
    write(src, "pkg/copy.py", distinct_module("m", 0, lines=6))  # an exact duplicate: no second hash
    build_corpus([src], tmp_path / "out", val_pct=20, test_pct=20)
    lines = (tmp_path / "out" / TRAIN_HASHES).read_text().splitlines()
    train = load_split(tmp_path / "out", "train")
    assert lines == sorted(content_hash(r["text"]) for r in train)
    others = {content_hash(r["text"]) for s in ("val", "test") for r in load_split(tmp_path / "out", s)}
    assert others and not others & set(lines)
