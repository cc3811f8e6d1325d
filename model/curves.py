"""Loss curves of a training run as a PNG (matplotlib's Agg canvas: no display, no global backend switch)."""
from __future__ import annotations

import math
from pathlib import Path

LOSS_CURVES = "loss_curves.png"


def plot_loss_curves(history: list[dict], path: Path, title: str = "") -> Path:
    """Train and val loss against tokens seen, from TrainState.history; written atomically to path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for key, label, style in (("train_loss", "train (mean since the previous point)", "-"), ("val_loss", "val", "o-")):
        points = [(h["tokens"], h[key]) for h in history if _finite(h.get(key))]
        if points:
            ax.plot(*zip(*points), style, label=label, markersize=3)
    ax.set_xlabel("tokens")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_title(title or "loss")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend()
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format="png")
    tmp.replace(path)
    return path


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
