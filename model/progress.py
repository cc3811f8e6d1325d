"""The training progress bar: steps for a step-limited run, the time budget for a time-limited one.

A run with --max-minutes ends on the clock long before the preset's 200,000 steps, so its bar counts
seconds of the budget; a step-count ETA would be wrong by hours. The first step of a compiled model is
mostly torch.compile (25-35 s cold, ~3 s with a warm cache), so the bar says so while it waits.
"""
from __future__ import annotations

import time
from typing import Callable

from tqdm import tqdm

SLOW_FIRST_STEP_S = 5.0  # a first step longer than this is reported with its cause


def clock(seconds: float) -> str:
    """12:34 or 1:02:03."""
    return tqdm.format_interval(max(0.0, seconds))


class TrainProgress:
    """One bar per training run (rank 0 shows it); call step_done after every optimizer step."""

    def __init__(self, cfg, step: int, elapsed_s: float, enabled: bool = True, log: Callable = print,
                 compiling: bool = False, file=None):
        self.budget_s = cfg.max_minutes * 60 if cfg.max_minutes > 0 else 0.0
        self.enabled = enabled
        self.first_step_at: float | None = time.monotonic() if compiling else None
        if self.budget_s:
            self.bar = tqdm(total=self.budget_s, initial=min(elapsed_s, self.budget_s), unit="s",
                            desc=self._budget_text(elapsed_s), mininterval=2.0, disable=not enabled, file=file,
                            bar_format="{desc} |{bar}| {percentage:3.0f}%{postfix}")
            if enabled:
                log(f"time-limited run: stops after {cfg.max_minutes:g} min of training (or at step "
                    f"{cfg.max_steps:,} if that comes first); the learning rate follows the clock")
        else:
            self.bar = tqdm(total=cfg.max_steps, initial=step, desc="train", unit="step", mininterval=2.0,
                            disable=not enabled, file=file)
        if compiling and enabled:
            self.bar.set_postfix_str("compiling the model for the first step (torch.compile)")
            log("the first step compiles the model (torch.compile): 25-35 s the first time, a few seconds with a "
                "warm cache, then much faster steps" + ("; this counts against --max-minutes" if self.budget_s
                                                        else "") + ". --no-compile skips it")

    def _budget_text(self, elapsed_s: float) -> str:
        return f"train {clock(elapsed_s)} of {clock(self.budget_s)}"

    def step_done(self, step: int, elapsed_s: float, loss: float, lr: float, tok_s: float) -> None:
        """Advance the bar after a step: by one step, or to elapsed_s of the time budget."""
        if self.first_step_at is not None:
            took = time.monotonic() - self.first_step_at
            self.first_step_at = None
            if took > SLOW_FIRST_STEP_S and self.enabled:
                tqdm.write(f"first step took {took:.0f} s, most of it compiling the model; "
                           "the following steps run compiled", file=self.bar.fp)
        stats = f"loss={loss:.3f}, lr={lr:.2e}, tok/s={tok_s:.0f}"
        if self.budget_s:  # the texts first: update() draws at most every mininterval
            self.bar.set_description_str(self._budget_text(elapsed_s), refresh=False)
            self.bar.set_postfix_str(f"step {step:,}, {stats}", refresh=False)
            self.bar.update(min(elapsed_s, self.budget_s) - self.bar.n)
        else:
            self.bar.set_postfix_str(stats, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
