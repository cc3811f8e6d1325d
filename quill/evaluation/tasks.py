"""The engine-side stages of `quill eval`: next-token accuracy, line completion and body generation.

Everything runs the served ONNX model through lsp_server's Engine and pipelines, so the numbers are
what an editor gets. No torch.
"""
from __future__ import annotations

import dataclasses
import random
import sys
import textwrap
import time
from dataclasses import dataclass

import numpy as np

from lsp_server.assists.bodies import (
    FUNCTION_BODY,
    BodyOptions,
    body_edit,
    find_body_target,
    generate_body,
)
from lsp_server.assists.body_checks import has_repeat, undefined_in
from lsp_server.config import CodegenConfig, InlineConfig
from lsp_server.errors import QuillError
from lsp_server.inline.options import SuggestOptions
from lsp_server.inline.pipeline import suggest
from lsp_server.project.index import ProjectIndex
from lsp_server.project.mixing import (
    LocalText,
    MixRule,
    ProjectContext,
    mix,
    nested_match,
)
from lsp_server.runtime.engine import Engine
from lsp_server.runtime.ort_session import log_softmax
from lsp_server.syntax.documents import Document, parse
from lsp_server.syntax.limits import error_count
from quill.evaluation.metrics import (
    edit_similarity,
    exact_match,
    mean_or_none,
    median_ms,
)
from quill.evaluation.projects import ProjectSetup, project_of
from quill.evaluation.samples import (
    FunctionSample,
    LineCut,
    SourceFile,
    cut_document,
    without_body,
)

# The server's 400 ms deadline guards typing latency; on a machine shared with other work it would cut
# generations short at random and make the numbers depend on the load, so eval waits longer.
EVAL_TIMEOUT_MS = 10_000


class Progress:
    """Progress of one stage on stderr: done/total, elapsed and ETA, at most one line every `every_s`."""

    def __init__(self, stage: str, total: int, stream=None, every_s: float = 5.0):
        self.stage, self.total, self.done = stage, total, 0
        self.stream = stream if stream is not None else sys.stderr
        self.every_s = every_s
        self.start = self.last = time.monotonic()
        self._print()

    def _print(self) -> None:
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        eta_text = f", ETA {eta:.0f}s" if self.done and self.done < self.total else ""
        print(f"quill eval: {self.stage} {self.done}/{self.total} ({elapsed:.0f}s{eta_text})",
              file=self.stream, flush=True)

    def advance(self, n: int = 1) -> None:
        """Count n more done; prints when every_s has passed or the stage is complete."""
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.every_s or self.done >= self.total:
            self.last = now
            self._print()


# --- next-token accuracy under teacher forcing -------------------------------------------------------------

@dataclass(frozen=True)
class TokenOptions:
    max_tokens: int = 60_000  # scored positions in all
    window: int = 512         # each window starts with an empty cache, as in model.evaluate
    windows_per_file: int = 2
    batch: int = 8            # windows stepped together: ~0.4 ms per token instead of ~0.5 at batch 1


def token_windows(lengths: list[int], rng: random.Random, options: TokenOptions) -> list[tuple[int, int, int]]:
    """(sequence index, start, scored positions) of random windows, at most windows_per_file a sequence,
    max_tokens scored positions in all. A window feeds seq[start:start+n] and predicts seq[start+1:start+n+1]."""
    windows = []
    for i, length in enumerate(lengths):
        starts = list(range(0, length - 1, options.window))
        windows += [(i, s) for s in rng.sample(starts, min(options.windows_per_file, len(starts)))]
    rng.shuffle(windows)
    chosen, total = [], 0
    for i, start in windows:
        n = min(options.window, lengths[i] - 1 - start, options.max_tokens - total)
        if n <= 0:
            break
        chosen.append((i, start, n))
        total += n
    return chosen


@dataclass
class RowContext:
    """Project context of one teacher-forced row: its file's own tokens and its project's index."""
    seq: list[int]      # the whole file, <eos> first
    start: int          # the row is seq[start:start + n + 1]
    local: LocalText
    index: ProjectIndex | None
    exclude: str


def _mixed(logprobs: np.ndarray, ctx: RowContext, t: int, rule: MixRule) -> np.ndarray:
    """The row's distribution at step t mixed with its caches (only the file's text before the target)."""
    pos = ctx.start + t  # seq index of the token fed at this step
    ctx.local.before = pos + 2  # the local table's position of seq[pos + 1] (after its leading separator)
    context = ctx.seq[max(0, pos + 1 - rule.max_order):pos + 1]
    return mix(logprobs, nested_match(context, rule, ctx.local, ctx.index, ctx.exclude), rule)


def _hits(logprobs: np.ndarray, targets: np.ndarray) -> tuple[int, int]:
    target_lp = logprobs[np.arange(len(targets)), targets]
    return (int((logprobs.argmax(axis=1) == targets).sum()),
            int(((logprobs > target_lp[:, None]).sum(axis=1) < 5).sum()))


def score_rows(engine: Engine, rows: list[list[int]], special: np.ndarray, step_ms: list[float],
               contexts: list[RowContext] | None = None, rule: MixRule | None = None) -> dict[str, int]:
    """top1/top5/scored (and top1_project/top5_project with contexts) for rows stepped together.

    The exported model returns the last position's logits only, so teacher forcing feeds one token per
    step through the KV cache. Targets that are special tokens are not scored; finished rows get <pad>.
    """
    pad = engine.special.get("<pad>", engine.eos_id)
    steps = max(len(r) - 1 for r in rows)
    past = engine.empty_past(len(rows))
    counts = dict.fromkeys(("top1", "top5", "scored", "top1_project", "top5_project"), 0)
    for t in range(steps):
        live = [b for b, r in enumerate(rows) if t < len(r) - 1]
        ids = np.array([[r[t] if t < len(r) - 1 else pad] for r in rows], dtype=np.int64)
        started = time.perf_counter()
        logits, past = engine.step(ids, past)
        step_ms.append((time.perf_counter() - started) * 1000 / len(live))
        targets = np.array([rows[b][t + 1] for b in live])
        keep = ~np.isin(targets, special)
        kept_rows = [b for b, k in zip(live, keep) if k]
        logprobs = log_softmax(logits[kept_rows]) if kept_rows else np.zeros((0, logits.shape[1]))
        hits1, hits5 = _hits(logprobs, targets[keep])
        counts["top1"] += hits1
        counts["top5"] += hits5
        counts["scored"] += len(kept_rows)
        if contexts is not None and kept_rows:
            mixed = np.stack([_mixed(lp, contexts[b], t, rule) for lp, b in zip(logprobs, kept_rows)])
            hits1, hits5 = _hits(mixed, targets[keep])
            counts["top1_project"] += hits1
            counts["top5_project"] += hits5
    return counts


def _ratio(hits: int, scored: int) -> float | None:
    return round(hits / scored, 4) if scored else None


def eval_tokens(engine: Engine, files: list[SourceFile], seed: int, options: TokenOptions = TokenOptions(),
                project: ProjectSetup | None = None) -> dict:
    """token_accuracy and token_top5 over random windows of the files (each file starts after <eos>); with
    `project`, those with project context and token_accuracy_no_project / token_top5_no_project without."""
    seqs = [[engine.eos_id] + ids for ids in engine.encode_batch([f.text for f in files])]
    windows = token_windows([len(s) for s in seqs], random.Random(f"{seed}:tokens"), options)
    windows.sort(key=lambda w: -w[2])  # similar lengths share a batch: fewer <pad> steps
    special = np.array(sorted(engine.special.values()))
    progress = Progress("next-token accuracy (tokens)", sum(n for _, _, n in windows))
    total = dict.fromkeys(("top1", "top5", "scored", "top1_project", "top5_project"), 0)
    step_ms: list[float] = []
    for k in range(0, len(windows), options.batch):
        chosen = windows[k:k + options.batch]
        rows = [seqs[i][start:start + n + 1] for i, start, n in chosen]
        contexts = None
        if project is not None:
            contexts = [RowContext(seqs[i], start, LocalText.of(seqs[i], project.rule.max_order),
                                   project.index_for(files[i]), files[i].uri) for i, start, _ in chosen]
        counts = score_rows(engine, rows, special, step_ms, contexts, project.rule if project else None)
        total = {key: total[key] + counts[key] for key in total}
        progress.advance(sum(len(r) - 1 for r in rows))
    scored = total["scored"]
    result = {"token_accuracy": _ratio(total["top1"], scored), "token_top5": _ratio(total["top5"], scored),
              "n_tokens": scored, "latency_ms_token_median": median_ms(step_ms)}
    if project is not None:
        result.update(token_accuracy_no_project=result["token_accuracy"], token_top5_no_project=result["token_top5"],
                      token_accuracy=_ratio(total["top1_project"], scored),
                      token_top5=_ratio(total["top5_project"], scored))
    return result


# --- line completion ------------------------------------------------------------------------------------------

def line_options(config: InlineConfig | None = None) -> SuggestOptions:
    """The inline-completion options of a server configuration (default: the defaults), eval deadline."""
    return dataclasses.replace((config or InlineConfig()).suggest_options(), timeout_ms=EVAL_TIMEOUT_MS)


def complete_line(engine: Engine, source: SourceFile, cut: LineCut, options: SuggestOptions,
                  project: ProjectSetup | None = None) -> tuple[str, float]:
    """What the server suggests for the rest of the cut line (the first line of its suggestion, '' if none)
    and its calibrated confidence (lsp_server.inline.confidence; 0 for none)."""
    doc = cut_document(source, cut)
    context = project.context_for(source, source.text[:cut.offset], engine.encode) if project is not None else None
    try:
        found = suggest(doc, cut.offset, engine, options, project=context)
    except QuillError:  # InputTooComplex: the server answers nothing there either
        return "", 0.0
    return (found.text.split("\n")[0], found.confidence) if found is not None else ("", 0.0)


def _line_pass(engine: Engine, cuts: list[tuple[SourceFile, LineCut]], options: SuggestOptions,
               project: ProjectSetup | None, stage: str) -> dict:
    """Exact match and edit similarity of every suggestion the pipeline makes (the confidence gate off), then
    the gate applied to the same suggestions: the share shown, the precision of shown ones (exactly the rest
    of the line) and the share of cuts with a useful one (a non-empty start of the rest of the line)."""
    matches, similarities, ms, shown, useful, empty = [], [], [], [], [], 0
    progress = Progress(stage, len(cuts))
    ungated = dataclasses.replace(options, min_confidence=0.0)
    for source, cut in cuts:
        started = time.perf_counter()
        prediction, confidence = complete_line(engine, source, cut, ungated, project)
        prediction = prediction.strip()
        empty += not prediction
        ms.append((time.perf_counter() - started) * 1000)
        shown.append(bool(prediction) and confidence >= options.min_confidence)
        matches.append(float(exact_match(prediction, cut.target)))
        useful.append(shown[-1] and cut.target.strip().startswith(prediction))
        similarities.append(float(edit_similarity(prediction, cut.target.strip())))
        progress.advance()
    shown_matches = [m for m, s in zip(matches, shown) if s]
    return {"line_exact_match": mean_or_none(matches), "line_edit_similarity": mean_or_none(similarities, digits=2),
            "line_precision_shown": mean_or_none(shown_matches), "line_shown_share": mean_or_none(shown),
            "line_useful_share": mean_or_none(useful), "n_lines": len(cuts),
            "n_lines_withheld": empty,
            "latency_ms_line_median": median_ms(ms), "per_project": _per_project(cuts, matches, similarities, shown)}


def _per_project(cuts, matches, similarities, shown) -> dict:
    out: dict[str, dict] = {}
    for (source, _), m, sim, s in zip(cuts, matches, similarities, shown):
        row = out.setdefault(project_of(source.rel), {"m": [], "sim": [], "shown": []})
        row["m"].append(m)
        row["sim"].append(sim)
        row["shown"].append(s)
    return {name: {"line_exact_match": mean_or_none(r["m"]), "line_edit_similarity": mean_or_none(r["sim"], digits=2),
                   "line_shown_share": mean_or_none(r["shown"]), "n_lines": len(r["m"])} for name, r in out.items()}


def eval_lines(engine: Engine, cuts: list[tuple[SourceFile, LineCut]], options: SuggestOptions | None = None,
               project: ProjectSetup | None = None) -> dict:
    """line_exact_match (share), line_edit_similarity (0..100), the precision of shown suggestions and the
    share shown (a withheld suggestion counts as ''); with `project`, the same without it as *_no_project."""
    options = options or line_options()
    result = _line_pass(engine, cuts, options, project, "line completion (cuts)")
    if project is None:
        return result
    alone = _line_pass(engine, cuts, options, None, "line completion without project context (cuts)")
    for key in ("line_exact_match", "line_edit_similarity", "line_precision_shown", "line_shown_share",
                "line_useful_share", "latency_ms_line_median"):
        result[f"{key}_no_project"] = alone[key]
    for name, row in alone["per_project"].items():
        for key, value in row.items():
            if key != "n_lines":
                result["per_project"][name][f"{key}_no_project"] = value
    return result


# --- body generation ------------------------------------------------------------------------------------------

def body_options(config: CodegenConfig | None = None) -> BodyOptions:
    """The body-generation options of a server configuration (default: the defaults)."""
    return (config or CodegenConfig()).body_options()


def parses_cleanly(text: str) -> bool:
    """True when tree-sitter finds no ERROR or MISSING node in the text."""
    tree = parse(text.encode("utf-8", "surrogatepass"))
    return tree is not None and error_count(tree.root_node) == 0


@dataclass(frozen=True)
class BodyResult:
    """One function's generated body as the server would offer it, and what the reviewer checks find in it."""
    code: str          # dedented; '' when withheld
    parses: bool       # the file parses with it
    reference: str     # the real body, dedented
    repeated: bool = False   # a statement repeated more than once in a row
    undefined: tuple[str, ...] = ()  # names nothing defines


def body_context(project: ProjectSetup | None, sample: FunctionSample) -> ProjectContext | None:
    """The project context of a body request in sample's file: its project's other files (the file itself
    left out of the index: it holds the real body); the file's own text comes from the prompt, as served."""
    if project is None:
        return None
    return ProjectContext(project.index_for(sample.source), project.rule, exclude=sample.source.uri)


def generate_for(engine: Engine, sample: FunctionSample, options: BodyOptions,
                 project: ProjectSetup | None = None) -> BodyResult:
    """The generated body for one function (its body removed), checked as body_checks checks candidates."""
    case = without_body(sample, options.max_lines)
    doc = Document(sample.source.uri, case.text)
    code, target = "", None
    try:
        target = find_body_target(doc, sample.info.name_start)
        if target is not None and target.kind == FUNCTION_BODY:
            code = generate_body(engine, doc, target, options, project=body_context(project, sample))
    except QuillError:  # InputTooComplex: the server would withhold too
        code = ""
    if not code:
        return BodyResult("", False, case.reference)
    edit = body_edit(target, code)
    return BodyResult(textwrap.dedent(code).rstrip(), parses_cleanly(edit.apply(case.text)), case.reference,
                      has_repeat(code, target.indent), undefined_in(doc, edit))


def eval_codegen(engine: Engine, samples: list[FunctionSample], options: BodyOptions | None = None,
                 project: ProjectSetup | None = None) -> dict:
    """codegen_syntax_ok (share; withheld fails), codegen_edit_similarity (0..100) to the real bodies, and the
    shares of offered bodies with a repeated statement or an undefined name (null when none was offered)."""
    options = options or body_options()
    results, ms = [], []
    progress = Progress("body generation (functions)", len(samples))
    for sample in samples:
        started = time.perf_counter()
        results.append(generate_for(engine, sample, options, project))
        ms.append((time.perf_counter() - started) * 1000)
        progress.advance()
    offered = [r for r in results if r.code]
    # Whole bodies run past difflib's 200-character autojunk threshold: see edit_similarity.
    similarities = [float(edit_similarity(r.code, r.reference, autojunk=False)) for r in results]
    return {"codegen_syntax_ok": mean_or_none([float(r.parses) for r in results]),
            "codegen_edit_similarity": mean_or_none(similarities, digits=2),
            "codegen_repeat_share": mean_or_none([float(r.repeated) for r in offered]),
            "codegen_undefined_name_share": mean_or_none([float(bool(r.undefined)) for r in offered]),
            "n_codegen": len(samples), "n_codegen_withheld": len(results) - len(offered),
            "latency_ms_codegen_median": median_ms(ms)}
