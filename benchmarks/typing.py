"""Typing replay through the real server, beside jedi-language-server, in the same run.

    python -m benchmarks.typing --file F [--function NAME] [--cadence-ms 80] [--max-keys N] [--workspace DIR]
                                [--out benchmarks/results] [--no-jedi]

Opens F (a real Python file of at least 1,000 lines) in `quill serve`, deletes the body of a function
and types it back one keystroke every --cadence-ms (Enter inserts the next line's indentation with the
newline, as editors do), asking for an inline completion after each keystroke and cancelling the
previous request if it is still unanswered. Then the same replay runs against jedi-language-server with
textDocument/completion at the same positions. Prints both side by side, and writes
typing.json and typing_latency.png under --out.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path

from lsprotocol import types

from lsp_server.syntax.documents import Document
from lsp_server.syntax.positions import LineIndex, PositionEncoding

from .lsp_replay import Keystroke, Replay, replay

MIN_LINES = 1000


def find_function(doc: Document, name: str | None, min_chars: int, max_chars: int) -> tuple[int, int]:
    """(offset after the header's ':' or the docstring, end of the body) of the function to retype.

    By name, else the function whose body has min..max characters nearest the middle of the file.
    """
    found = []
    stack = [doc.tree.root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        body = node.child_by_field_name("body") if node.type == "function_definition" else None
        if body is None or body.prev_sibling is None or body.prev_sibling.type != ":":
            continue
        first = body.named_children[0] if body.named_children else None
        keep = first if first is not None and first.type == "expression_statement" \
            and first.named_children[0].type == "string" else body.prev_sibling  # keep a docstring
        start, end = doc.offset_of_byte(keep.end_byte), doc.offset_of_byte(body.end_byte)
        fname = node.child_by_field_name("name").text.decode()
        if (name is None and min_chars <= end - start <= max_chars) or fname == name:
            found.append((abs(start - len(doc.text) // 2), start, end, fname))
    if not found:
        raise SystemExit(f"no function {'named ' + name if name else f'with a {min_chars}..{max_chars}-char body'}")
    _, start, end, fname = min(found)
    print(f"retyping the body of {fname}(): {end - start} characters")
    return start, end


def chunks(body: str) -> list[str]:
    """Keystrokes that type body: one character, or a newline with the next line's indentation."""
    out, i = [], 0
    while i < len(body):
        j = i + 1
        if body[i] == "\n":
            while j < len(body) and body[j] in " \t":
                j += 1
        out.append(body[i:j])
        i = j
    return out


def plan(text: str, start: int, end: int, max_keys: int | None) -> tuple[str, Keystroke, list[Keystroke]]:
    """The deleting keystroke and the typing ones, in UTF-16 positions, precomputed."""
    utf16 = PositionEncoding.UTF16
    index = LineIndex(text)
    at = index.offset_to_position(start, utf16)
    opening = Keystroke((start, end), tuple(at), tuple(index.offset_to_position(end, utf16)), "", tuple(at))
    current, offset, keys = text[:start] + text[end:], start, []
    for chunk in chunks(text[start:end])[:max_keys]:
        pos = tuple(LineIndex(current).offset_to_position(offset, utf16))
        current, offset = current[:offset] + chunk + current[offset:], offset + len(chunk)
        cursor = tuple(LineIndex(current).offset_to_position(offset, utf16))
        keys.append(Keystroke((offset - len(chunk),) * 2, pos, pos, chunk, cursor))
    return text, opening, keys


def first_line(suggestion: str) -> str:
    """What a user accepts first: the suggestion's first line (its second, when it starts a new line)."""
    if suggestion.startswith("\n"):
        return "\n" + suggestion[1:].split("\n")[0]
    return suggestion.split("\n")[0]


def quality(run: Replay, body: str, keys: list[Keystroke]) -> dict:
    """Useful keystrokes: answered ones whose suggestion's first line is exactly what is typed next."""
    typed = answered = shown = useful = 0
    lengths = []
    for request, key in zip(run.requests[1:], keys):
        typed += len(key.text)
        if request.outcome != "answered":
            continue
        answered += 1
        first = first_line(request.first)
        if not first.strip():
            continue
        shown += 1
        if body[typed:].startswith(first):
            useful += 1
            lengths.append(len(first.strip()))
    return {"keys": len(keys), "answered": answered, "shown_share": round(shown / max(answered, 1), 4),
            "precision_shown": round(useful / max(shown, 1), 4), "useful_keystrokes": round(useful / max(answered, 1), 4),
            "useful_chars_mean": round(sum(lengths) / max(len(lengths), 1), 2)}


def quality_table(rows: dict[str, dict]) -> str:
    lines = ["| run | answered | shown | precision of shown | useful keystrokes | mean useful length |",
             "|---|---|---|---|---|---|"]
    for name, q in rows.items():
        lines.append(f"| {name} | {q['answered']}/{q['keys']} | {q['shown_share']:.1%} | {q['precision_shown']:.1%} | "
                     f"{q['useful_keystrokes']:.1%} | {q['useful_chars_mean']:.1f} chars |")
    return "\n".join(lines)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def latency_row(label: str, values: list[float]) -> str:
    if not values:
        return f"| {label} | 0 | – | – | – |"
    return (f"| {label} | {len(values)} | {statistics.median(values):.1f} | {percentile(values, 0.95):.1f} | "
            f"{percentile(values, 0.99):.1f} |")


def split_quill(run: Replay) -> dict[str, list[float]]:
    """Latencies of answered quill requests by where the server says the answer came from."""
    sources = {a["version"]: a["source"] for a in run.stats.get("answers", [])}
    groups: dict[str, list[float]] = {"typed": [], "model": [], "none": []}
    for r in run.requests[1:]:  # the first request measures start-up
        if r.outcome == "answered":
            groups.setdefault(sources.get(r.version, "none"), []).append(r.ms)
    return groups


def name_positions(text: str, opening: Keystroke, keys: list[Keystroke]) -> list[bool]:
    """Per request (the opening one first): is the cursor at a name, where completion items rank names
    (elsewhere the server offers the inline suggestion as one item)?"""
    from lsp_server.syntax.identifiers import word_at
    out = []
    for key in [opening, *keys]:
        text = text[:key.offsets[0]] + key.text + text[key.offsets[1]:]
        out.append(word_at(Document("file:///t.py", text), key.offsets[0] + len(key.text)) is not None)
    return out


def items_rows(items: Replay, at_name: list[bool]) -> list[str]:
    answered = [(r.ms, name) for r, name in zip(items.requests[1:], at_name[1:]) if r.outcome == "answered"]
    return [latency_row("Quill completion items at a name (ranked names)", [ms for ms, name in answered if name]),
            latency_row("Quill completion items elsewhere (the inline suggestion)", [ms for ms, name in answered
                                                                                     if not name])]


def report(quill: Replay, jedi: Replay | None, keys: int, cadence_ms: int) -> str:
    """Markdown tables: latency side by side, then start-up, cache share and memory."""
    groups = split_quill(quill)
    answered = [r.ms for r in quill.requests[1:] if r.outcome == "answered"]
    lines = [f"{keys} keystrokes, one every {cadence_ms} ms; a request after each, the previous one cancelled",
             "", "| requests answered | n | p50 ms | p95 ms | p99 ms |", "|---|---|---|---|---|",
             latency_row("Quill inline completion, all", answered),
             latency_row("  of which answered by the model", groups["model"]),
             latency_row("  of which typed through a suggestion", groups["typed"]),
             latency_row("  of which empty (nothing to suggest here)", groups["none"])]
    if jedi is not None:
        lines.append(latency_row("jedi-language-server completion", [r.ms for r in jedi.requests[1:]
                                                                       if r.outcome == "answered"]))
    lines += ["", "| | Quill | jedi-language-server |", "|---|---|---|"]
    j = jedi or Replay("-", "-")
    cancelled = lambda run: sum(r.outcome == "error" for r in run.requests[1:])  # noqa: E731
    lines += [f"| process start to initialize answered | {quill.initialize_s * 1000:.0f} ms | "
              f"{(j.initialize_s or 0) * 1000:.0f} ms |",
              f"| process start to first completion answer | {quill.first_answer_s * 1000:.0f} ms | "
              f"{(j.first_answer_s or 0) * 1000:.0f} ms |",
              f"| requests cancelled (a newer keystroke came first) | {cancelled(quill)} | {cancelled(j) if jedi else '–'} |",
              f"| answered from a cache (typed through) | {len(groups['typed'])}/{len(answered)} "
              f"({len(groups['typed']) / max(len(answered), 1):.0%}) | – |",
              f"| server RSS at the end (peak) | {quill.rss_mb:.0f} MB ({quill.peak_rss_mb:.0f} MB) | "
              f"{j.rss_mb:.0f} MB ({j.peak_rss_mb:.0f} MB) |"]
    reused = [a for a in quill.stats.get("answers", []) if a["prompt_tokens"]]  # the model ran
    if reused:
        share = sum(a["reused_tokens"] for a in reused) / max(sum(a["prompt_tokens"] for a in reused), 1)
        lines.append(f"| prompt tokens reused from the previous request's KV cache | {share:.0%} | – |")
    return "\n".join(lines)


def plot(quill: Replay, jedi: Replay | None, path: Path) -> None:
    """Latency histogram (log-spaced bins), Quill by answer source beside jedi."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    groups = split_quill(quill)
    series = [("Quill inline: a suggestion from the model", groups["model"]),
              ("Quill inline: empty (nothing to suggest)", groups["none"]),
              ("Quill inline: typed through a suggestion", groups["typed"])]
    if jedi is not None:
        series.append(("jedi-language-server completion", [r.ms for r in jedi.requests[1:] if r.outcome == "answered"]))
    every = [v for _, values in series for v in values]
    bins = np.logspace(np.log10(max(min(every), 0.05)), np.log10(max(every) * 1.05), 40)
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=80)
    for label, values in series:
        if values:
            ax.hist(values, bins=bins, alpha=0.6, label=f"{label} (n={len(values)})")
    ax.set_xscale("log")
    ax.set_xlabel("client-side latency (ms, log scale)")
    ax.set_ylabel("requests")
    ax.set_title("Latency while typing (answered requests)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


async def run(args) -> tuple[Replay, Replay | None, int, dict]:
    path = Path(args.file).resolve()
    text = path.read_text(encoding="utf-8")
    if text.count("\n") < MIN_LINES:
        raise SystemExit(f"{path} has {text.count(chr(10))} lines; the benchmark wants at least {MIN_LINES}")
    start, end = find_function(Document(path.as_uri(), text), args.function, args.min_chars, args.max_chars)
    body = text[start:end]
    text, opening, keys = plan(text, start, end, args.max_keys)
    root = Path(args.workspace).resolve() if args.workspace else path.parent
    bindir = Path(sys.executable).parent
    quill_cmd = [sys.executable, "-m", "lsp_server", "serve"] + (["--bundle", args.bundle] if args.bundle else []) \
        + (["--threads", str(args.threads)] if args.threads else [])
    quill = await replay("quill", quill_cmd, types.TEXT_DOCUMENT_INLINE_COMPLETION, path, text, opening, keys,
                         args.cadence_ms / 1000, stats_method="quill/stats", root=root, settle_s=args.settle_s,
                         options=json.loads(args.settings) if args.settings else None)
    qualities = {"Quill, workspace index": quality(quill, body, keys)}
    if not args.no_baseline:
        alone = await replay("quill-no-index", quill_cmd, types.TEXT_DOCUMENT_INLINE_COMPLETION, path, text, opening,
                             keys, args.cadence_ms / 1000, options={"project": {"index": False}}, root=root)
        qualities["Quill, no index"] = quality(alone, body, keys)
    jedi = None
    if not args.no_jedi:
        jedi = await replay("jedi", [str(bindir / "jedi-language-server")], types.TEXT_DOCUMENT_COMPLETION, path,
                            text, opening, keys, args.cadence_ms / 1000)
    if args.items:
        items = await replay("quill-items", quill_cmd, types.TEXT_DOCUMENT_COMPLETION, path, text, opening, keys,
                             args.cadence_ms / 1000, root=root, settle_s=args.settle_s,
                             options=json.loads(args.settings) if args.settings else None)
        qualities["items"] = items_rows(items, name_positions(text, opening, keys))
    return quill, jedi, len(keys), qualities


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", required=True, help="a real Python file of at least 1,000 lines")
    parser.add_argument("--function", default=None, help="the function to retype (default: one near the middle)")
    parser.add_argument("--min-chars", type=int, default=250)
    parser.add_argument("--max-chars", type=int, default=700)
    parser.add_argument("--cadence-ms", type=int, default=80)
    parser.add_argument("--max-keys", type=int, default=None)
    parser.add_argument("--bundle", default=None)
    parser.add_argument("--threads", type=int, default=0, help="quill serve --threads (default: the server's)")
    parser.add_argument("--no-jedi", action="store_true")
    parser.add_argument("--workspace", default=None, help="workspace folder sent as rootUri (default: the file's)")
    parser.add_argument("--settle-s", type=float, default=0.0, help="wait after the first answer before typing")
    parser.add_argument("--no-baseline", action="store_true", help="skip the second Quill run without the index")
    parser.add_argument("--settings", default=None, help="Quill settings (JSON) of the first run")
    parser.add_argument("--items", action="store_true", help="also replay Quill's completion items (textDocument/completion)")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args(argv)
    quill, jedi, keys, qualities = asyncio.run(run(args))
    items = qualities.pop("items", None)
    table = report(quill, jedi, keys, args.cadence_ms) + "\n\n" + quality_table(qualities)
    if items:
        table += "\n\n| completion items | n | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|\n" + "\n".join(items)
    print(table)
    out = Path(args.out)
    plot(quill, jedi, out / "typing_latency.png")
    record = {"file": str(Path(args.file).resolve()), "keys": keys, "cadence_ms": args.cadence_ms, "table": table,
              "quality": qualities, "workspace": args.workspace,
              "runs": {r.name: {"initialize_s": r.initialize_s, "first_answer_s": r.first_answer_s, "rss_mb": r.rss_mb, "peak_rss_mb": r.peak_rss_mb,
                                "latency_ms": [round(q.ms, 3) for q in r.requests if q.outcome == "answered"]}
                       for r in (quill, jedi) if r is not None}}
    (out / "typing.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {out / 'typing_latency.png'} and {out / 'typing.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
