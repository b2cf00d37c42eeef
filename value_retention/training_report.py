"""What the training runs logged: one summary file and a figure of training curves.

Rule ``training_report`` reads the ``training_log.json`` of every model the workflow trained (the
tiny world's pre-trained roots included) and writes:

- ``training/summary.json`` (docs/contracts.md): per run its condition, seed, stage, steps,
  final loss, best checkpoint, learning-check warnings and logged history; and ``warnings``,
  every run's warnings labelled with its run, which the statistics carry into their own
  ``warnings`` and ``training_warnings`` and so into the paper;
- ``figures/training_curves.{pdf,png}``: one row per condition, one column per metric (training
  and eval loss, mean reward, the reward's standard deviation over the batch, gradient norm), one line style per seed,
  readable in black and white. A run its learning checks flagged says so in its row.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import DataError
from .jsonl import read_json

SUMMARY_KEYS = ("stage", "method", "steps", "epochs", "final_loss", "best_checkpoint", "wall_time_s", "warnings")
# (column title with units, [(history key, series label, line style)])
METRICS = (
    ("loss", [("loss", "training", "-"), ("eval_loss", "eval", "--")]),
    ("mean reward", [("reward", "reward", "-")]),
    ("reward std (over the batch)", [("reward_std", "reward std", "-")]),
    ("gradient norm (L2)", [("grad_norm", "gradient norm", "-")]),
)
SEED_MARKERS = ("o", "s", "^", "D", "v", "x")
SEED_GREYS = ("black", "0.45", "0.25", "0.6", "0.15", "0.7")


def summarise(runs: Sequence[Mapping[str, Any]], model_dirs: Sequence[str | os.PathLike]) -> dict[str, Any]:
    """The summary of ``runs`` (``{condition, seed}`` each) from their model directories' training logs."""
    if len(runs) != len(model_dirs):
        raise DataError(f"{len(model_dirs)} model directories for {len(runs)} training runs", "training_report")
    summary_runs, warnings = [], []
    for run, model_dir in zip(runs, model_dirs, strict=True):
        path = Path(model_dir) / "training_log.json"
        if not path.is_file():
            raise DataError("no training_log.json: not a model directory this workflow trained", model_dir)
        log = read_json(path)
        entry = {"condition": run["condition"], "seed": int(run["seed"]),
                 **{key: log.get(key) for key in SUMMARY_KEYS}, "history": log.get("loss_history") or []}
        entry["warnings"] = entry["warnings"] or []
        summary_runs.append(entry)
        warnings += [f"{run_label(entry)}: {warning}" for warning in entry["warnings"]]
    return {"runs": summary_runs, "warnings": warnings}


def run_label(run: Mapping[str, Any]) -> str:
    return f"{run['condition']} seed {run['seed']} ({run['stage']})"


def carry_warnings(stats: dict[str, Any], summary: Mapping[str, Any]) -> dict[str, Any]:
    """Statistics that also report what the training runs' learning checks found."""
    stats["training_warnings"] = list(summary["warnings"])
    stats["warnings"] = [*stats.get("warnings", []), *(f"training: {w}" for w in summary["warnings"])]
    return stats


def plot_training_curves(summary: Mapping[str, Any], out_stem: str | os.PathLike) -> list[Path]:
    """The training-curves figure (``<stem>.pdf`` and ``<stem>.png``): rows are conditions in
    training order, columns the metrics, seeds told apart by marker and grey level, eval loss by a
    dashed line with open markers."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    from .figures import STYLE, TEXT_WIDTH_IN, save_figure

    conditions = list(dict.fromkeys(run["condition"] for run in summary["runs"]))
    if not conditions:
        raise DataError("no training runs to plot", "training_report")
    seeds = sorted({run["seed"] for run in summary["runs"]})
    seed_style = {seed: {"marker": SEED_MARKERS[i % len(SEED_MARKERS)], "color": SEED_GREYS[i % len(SEED_GREYS)],
                         "markersize": 2.5, "linewidth": 0.9} for i, seed in enumerate(seeds)}
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(len(conditions), len(METRICS), squeeze=False, layout="constrained",
                                 figsize=(TEXT_WIDTH_IN, 1.2 * len(conditions) + 0.8))
        for row, condition in enumerate(conditions):
            runs = [run for run in summary["runs"] if run["condition"] == condition]
            flagged = any(run["warnings"] for run in runs)
            for column, (title, series) in enumerate(METRICS):
                ax = axes[row][column]
                drawn = False
                for run in runs:
                    style = seed_style[run["seed"]]
                    for key, _, linestyle in series:
                        points = [(entry["step"], entry[key]) for entry in run["history"] if entry.get(key) is not None]
                        if points:
                            steps, values = zip(*points)
                            ax.plot(steps, values, linestyle=linestyle,
                                    markerfacecolor="white" if linestyle == "--" else style["color"], **style)
                            drawn = True
                if row == 0:
                    ax.set_title(title, fontsize=7)
                if column == 0:
                    label = f"{condition}\n({runs[0]['stage']})" + ("\nFLAGGED" if flagged else "")
                    ax.set_ylabel(label, fontsize=7, fontweight="bold" if flagged else "normal")
                if not drawn:
                    ax.set_xticks([])
                    ax.set_yticks([])
                    ax.spines[:].set_visible(False)
                    ax.text(0.5, 0.5, "not logged by this stage", transform=ax.transAxes, ha="center", va="center",
                            fontsize=6, style="italic", color="0.4")
                    continue
                ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
                ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
                ax.tick_params(labelsize=6)
                below = [run for run in summary["runs"] if run["condition"] in conditions[row + 1:]]
                if not any(entry.get(series[0][0]) is not None for run in below for entry in run["history"]):
                    ax.set_xlabel("optimizer step", fontsize=6)  # the lowest panel of its column
        handles = [Line2D([], [], linestyle="-", label=f"seed {seed}", **seed_style[seed]) for seed in seeds]
        handles.append(Line2D([], [], linestyle="--", marker="o", color="black", markerfacecolor="white",
                              markersize=2.5, linewidth=0.9, label="eval loss (validation split)"))
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False, fontsize=6)
        fig.suptitle("Training curves per condition and seed (FLAGGED: the learning checks found a problem)")
        return save_figure(fig, out_stem)
