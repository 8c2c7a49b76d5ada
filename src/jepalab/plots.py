"""The plotting module: training curves and planned vs executed trajectories on the world's map, and
`pyplot()`, the one way every other plot in jepalab gets matplotlib.

Matplotlib with the Agg backend: works on machines without a screen.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def pyplot():
    """matplotlib.pyplot on the Agg backend (imported on first use: jepalab's start stays fast)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_training(metrics: list[dict], path: Path) -> Path:
    """The curves of metrics.jsonl: a world model's (prediction, anti-collapse, collapse watch), or any
    other run's numbers, one panel each (a pretraining run logs other losses)."""
    if not all(k in metrics[0] for k in ("pred_loss", "val_pred_loss", "reg_loss")):
        keys = [
            k
            for k, v in metrics[0].items()
            if k not in ("step", "train_seconds", "skipped_files", "lr") and isinstance(v, (int, float))
        ][:6]
        return plot_curves(metrics, keys, path)
    plt = pyplot()
    steps = [m["step"] for m in metrics]
    probes = sorted({k for m in metrics for k in m if k.startswith("probe/")})
    fig, ax = plt.subplots(1, 4 + bool(probes), figsize=(16 + 4 * bool(probes), 3.4))
    ax[0].semilogy(steps, [m["pred_loss"] for m in metrics], label="prediction (train)")
    ax[0].semilogy(steps, [m["val_pred_loss"] for m in metrics], label="prediction (held-out)")
    if "rollout_loss" in metrics[0]:
        ax[0].semilogy(steps, [m["rollout_loss"] for m in metrics], label="multi-step rollout (train)")
    ax[0].set_title("prediction loss")
    ax[0].legend()
    ax[1].plot(steps, [m["reg_loss"] for m in metrics])
    ax[1].set_title("anti-collapse term")
    ax[2].plot(steps, [m["latent_std"] for m in metrics])
    ax[2].set_title("latent per-dim std (collapse -> 0)")
    ax[3].plot(steps, [m["effective_rank"] for m in metrics])
    ax[3].set_title("latent effective rank (collapse -> 1)")
    if probes:  # what the latent holds, as it learns: each variable's held-out R² (train.probe_minutes)
        for k in probes:
            at = [(m["step"], m[k]) for m in metrics if m.get(k) is not None]
            ax[4].plot([s for s, _ in at], [v for _, v in at], marker="o", ms=3, label=k[len("probe/") :])
        ax[4].axhline(0, color="grey", lw=0.8)
        ax[4].set_ylim(-0.5, 1.05)
        ax[4].set_ylabel("held-out R² (linear probe)")
        ax[4].set_title("what the latent holds")
        ax[4].legend(fontsize=7, ncol=2)
    for a in ax:
        a.set_xlabel("step")
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_curves(metrics: list[dict], keys: list[str], path: Path) -> Path:
    """One panel per key of metrics.jsonl's records, against the step."""
    plt = pyplot()
    fig, axes = plt.subplots(1, max(1, len(keys)), figsize=(3.6 * max(1, len(keys)), 3.2), squeeze=False)
    for ax, k in zip(axes[0], keys):
        ax.plot([m["step"] for m in metrics], [m.get(k, float("nan")) for m in metrics])
        ax.set_title(k)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _draw_block(ax, parts, pose, style: dict, label: str | None) -> None:
    """A block (rectangles in its own frame, as worlds/push.py's) at pose (x, y, cos, sin)."""
    from matplotlib.patches import Polygon

    x, y, c, s = pose
    turn = np.array([[c, -s], [s, c]]) / max(np.hypot(c, s), 1e-9)
    for i, (x0, y0, x1, y1) in enumerate(parts):
        corners = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]) @ turn.T + (x, y)
        ax.add_patch(Polygon(corners, closed=True, label=label if i == 0 else None, **style))


def plot_trajectories(
    background: np.ndarray,
    results: list,
    path: Path,
    episodes: int = 6,
    plan_positions: list | None = None,
    goal_radius: float = 0.08,
    block_parts: list | None = None,
) -> Path:
    """One panel per episode: the map, the start, the goal, each policy's executed path and
    (dashed) the first plan the model imagined, read out through a position probe. With
    `block_parts` (a push world's block, proprio[2:6] its pose): the block at its start, at its goal
    and where the first policy left it, drawn as the shape it is, the goal's pusher place as the star."""
    plt = pyplot()
    if block_parts is not None:
        goal_radius = 0.0  # the goal is a pose, drawn as one
    colors = {"planner": "tab:blue", "untrained": "tab:orange", "random": "tab:gray", "noop": "tab:brown"}
    n = min(episodes, len(results[0].paths))
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.4))
    axes = np.atleast_1d(axes)
    for e, ax in enumerate(axes):
        ax.imshow(background, extent=(0, 1, 1, 0))
        goal, start = results[0].goals[e][:2], results[0].paths[e][0][:2]  # places: proprio's first two numbers
        if goal_radius > 0:
            ax.add_patch(plt.Circle(goal, goal_radius, color="tab:green", alpha=0.35))
        ax.plot(
            *goal,
            marker="*",
            color="tab:green",
            ms=14,
            ls="none",
            label="goal" if block_parts is None else "pusher goal",
        )
        ax.plot(*start, marker="o", color="black", ms=6, ls="none", label="start")
        if block_parts is not None:
            styles = {
                "goal": {"facecolor": "none", "edgecolor": "tab:green", "lw": 2.0, "ls": "--"},
                "start": {"facecolor": "tab:gray", "alpha": 0.35, "edgecolor": "black", "lw": 0.8},
                f"{results[0].policy} end": {"facecolor": "tab:blue", "alpha": 0.45, "edgecolor": "navy", "lw": 0.8},
            }
            poses = [results[0].goals[e][2:6], results[0].paths[e][0][2:6], results[0].paths[e][-1][2:6]]
            for (label, style), pose in zip(styles.items(), poses):
                _draw_block(ax, block_parts, pose, style, f"block {label}")
        for r in results:
            p = r.paths[e]
            mark = "✓" if r.success[e] else "✗"
            ax.plot(p[:, 0], p[:, 1], color=colors.get(r.policy, "tab:red"), lw=1.6, label=f"{r.policy} {mark}")
        if plan_positions is not None:
            q = np.vstack([start, plan_positions[e]])
            ax.plot(q[:, 0], q[:, 1], "--", color="tab:purple", lw=1.4, label="imagined plan")
        ax.set_xlim(0, 1)
        ax.set_ylim(1, 0)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"episode {e}")
    axes[0].legend(loc="lower left", fontsize=7, framealpha=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
