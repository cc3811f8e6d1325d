"""What `quill train` and `quill export` tell a person: a time-limited run's bar counts its time budget, a
compiled first step says why it is slow, and the parity lines say whether a difference is fine."""
import io
from types import SimpleNamespace

import numpy as np

from export.parity_note import fp32_line, int8_line
from model.progress import TrainProgress


def run_bar(max_minutes: float, steps: int, compiling: bool = False, first_step_s: float = 0.0):
    out, logs = io.StringIO(), []
    bar = TrainProgress(SimpleNamespace(max_minutes=max_minutes, max_steps=200_000), 0, 0.0, log=logs.append,
                        compiling=compiling, file=out)
    if bar.first_step_at is not None:
        bar.first_step_at -= first_step_s  # as if the first step had taken that long
    for step in range(1, steps + 1):
        bar.step_done(step, step * 6.0, 2.5, 1e-3, 1000.0)
    bar.close()
    return out.getvalue(), logs


def test_a_time_limited_bar_counts_the_time_budget_not_200000_steps():
    shown, logs = run_bar(max_minutes=1, steps=5)
    last = shown.rsplit("\r", 1)[-1]
    assert "train 00:30 of 01:00" in last and " 50%" in last and "step 5," in last
    assert "200000" not in shown and "200,000" not in shown.replace(logs[0], "")
    assert logs == ["time-limited run: stops after 1 min of training (or at step 200,000 if that comes first); "
                    "the learning rate follows the clock"]


def test_a_step_limited_bar_counts_steps():
    shown, logs = run_bar(max_minutes=0, steps=3)
    assert "3/200000" in shown and logs == []


def test_a_compiled_first_step_says_it_is_compiling_and_how_long_it_took():
    shown, logs = run_bar(max_minutes=30, steps=2, compiling=True, first_step_s=31)
    assert "compiling the model for the first step (torch.compile)" in shown
    assert "first step took 31 s, most of it compiling the model" in shown
    assert "torch.compile" in logs[-1] and "counts against --max-minutes" in logs[-1] and "--no-compile" in logs[-1]
    quick, _ = run_bar(max_minutes=0, steps=2, compiling=True, first_step_s=0)
    assert "first step took" not in quick


def test_the_parity_lines_say_what_a_difference_means_and_whether_it_is_fine():
    logits = [np.array([[-10.0, 9.8]])]
    assert int8_line("", 0.39, logits, "logits") == (
        "int8 ONNX vs PyTorch: logits differ by at most 0.39 (2.0% of their range 19.8): int8 weight rounding, "
        "fine (up to 5% is normal)")
    assert "larger than usual: compare suggestions with an --fp32 export" in int8_line("", 2.0, logits)
    assert "fine: float rounding" in fp32_line("", 8.6e-6) and "TOO LARGE" in fp32_line("", 0.01)
