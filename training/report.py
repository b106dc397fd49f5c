"""PNG plots (loss curves, CMC) and the evaluation table."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from training.evaluation import EvalResult


def _save(figure, axis, out: Path, xlabel: str, ylabel: str) -> Path:
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)
    return out


def plot_losses(history: list[dict], out: Path) -> Path:
    figure, axis = plt.subplots(figsize=(6, 4))
    epochs = [row["epoch"] for row in history]
    for key in ("total", "ce", "aux", "video", "part"):
        values = [row.get(key, 0.0) for row in history]
        if any(values):
            axis.plot(epochs, values, marker="o", label=key)
    return _save(figure, axis, out, "epoch", "mean loss")


def plot_cmc(results: dict[str, EvalResult], out: Path) -> Path:
    figure, axis = plt.subplots(figsize=(6, 4))
    for label, result in results.items():
        ranks = range(1, len(result.cmc) + 1)
        axis.plot(ranks, 100 * result.cmc, marker=".", label=f"{label} (R1 {100 * result.cmc[0]:.1f})")
    axis.set_ylim(0, 100)
    return _save(figure, axis, out, "rank", "matching rate (%)")


def results_table(results: dict[str, EvalResult]) -> str:
    lines = ["| split | mAP | R1 | R5 | R10 | R20 | queries | AP convention |", "|---|---|---|---|---|---|---|---|"]
    for label, r in results.items():
        ranks = " | ".join(f"{100 * r.per_rank.get(k, float('nan')):.1f}" for k in (1, 5, 10, 20))
        lines.append(f"| {label} | {100 * r.mean_ap:.1f} | {ranks} | {r.queries} | {r.ap_convention} |")
    return "\n".join(lines)
