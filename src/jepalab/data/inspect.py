"""`jepalab inspect DATA`: what an episode store holds, and a contact sheet of its frames.

    jepalab inspect data/reacher                 # summary + data/reacher/contact_sheet.png
    jepalab inspect data/reacher --json s.json   # the summary as JSON too

The summary: the store's metadata, the number of episodes and their lengths, frame size, per
dimension of actions and proprio the range, mean and std (a custom action space shows here: a
dimension stuck at 0 or outside [-1, 1] is worth a look before training), rewards, and which
optional fields (true state, goals) the episodes carry; for push worlds, how much the block turns
(degrees per 25-step window, median and 90th percentile) and how often it moves at all (a step in
which the pusher touches it): a store whose pushes hardly turn the block cannot teach its angle.
Every episode is read and checked, so a damaged file is reported by name here rather than in the
middle of training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .store import OPTIONAL, EpisodeStore


def _stats(rows: np.ndarray) -> list[dict]:
    return [
        {"min": float(c.min()), "max": float(c.max()), "mean": float(c.mean()), "std": float(c.std())} for c in rows.T
    ]


def block_motion(episodes, window: int = 25) -> dict:
    """How much a push world's block turns (proprio: pusher x, y, block x, y, cos, sin): degrees per
    `window` steps (median, 90th percentile), and the share of steps in which it moves (by more than
    1e-4 in place or 0.05 degrees: touched)."""
    turns, moved = [], []
    for ep in episodes:
        p = ep.proprio.astype(np.float64)
        angle = np.unwrap(np.arctan2(p[:, 5], p[:, 4]))
        if len(p) > window:
            turns.append(np.degrees(np.abs(angle[window:] - angle[:-window])))
        step = np.linalg.norm(np.diff(p[:, 2:4], axis=0), axis=1)
        moved.append((step > 1e-4) | (np.degrees(np.abs(np.diff(angle))) > 0.05))
    turns_all = np.concatenate(turns) if turns else np.zeros(1)
    return {
        "turn_deg_per_window": {
            "window": window,
            "median": float(np.median(turns_all)),
            "p90": float(np.percentile(turns_all, 90)),
        },
        "steps_block_moves": float(np.concatenate(moved).mean()),
    }


def summarize(store: EpisodeStore, limit: int | None = None) -> tuple[dict, list]:
    """-> (summary dict, the episodes read)."""
    meta = store.meta()
    episodes = store.load_all(limit)
    lengths = np.array([len(ep) for ep in episodes])
    actions = np.concatenate([ep.actions for ep in episodes])
    proprio = np.concatenate([ep.proprio for ep in episodes])
    summary = {
        "path": str(store.root),
        "meta": meta,
        "episodes": len(episodes),
        "steps": {
            "total": int(lengths.sum()),
            "min": int(lengths.min()),
            "mean": float(lengths.mean()),
            "max": int(lengths.max()),
        },
        "frame_shape": list(episodes[0].pixels.shape[1:]),
        "actions": _stats(actions),
        "proprio": _stats(proprio),
        "optional_fields": {k: sum(getattr(ep, k) is not None for ep in episodes) for k in OPTIONAL},
    }
    if str(meta.get("world")) in ("push", "push-t"):
        summary["block_motion"] = block_motion(episodes)
    if all(ep.rewards is not None for ep in episodes):
        returns = np.array([ep.rewards.sum() for ep in episodes])
        summary["returns"] = {"mean": float(returns.mean()), "min": float(returns.min()), "max": float(returns.max())}
    # a passive store (bounce, videos imported with --passive) holds zero actions on purpose
    passive = str(meta.get("policy", "")).startswith("none (passive")
    still = [] if passive else [i for i, s in enumerate(summary["actions"]) if s["std"] == 0]
    outside = [i for i, s in enumerate(summary["actions"]) if s["min"] < -1 or s["max"] > 1]
    summary["warnings"] = ([f"action dimension(s) {still} never change"] if still else []) + (
        [f"action dimension(s) {outside} leave [-1, 1]: planners search in [-1, 1]; rescale them"] if outside else []
    )
    return summary, episodes


def format_summary(s: dict) -> str:
    m = s["meta"]
    lines = [
        f"{s['path']}: {s['episodes']} episodes of {m.get('world', '?')} (schema {m.get('schema_version')}, "
        f"policy {m.get('policy', '?')})",
        f"  steps per episode {s['steps']['min']}..{s['steps']['max']} (mean {s['steps']['mean']:.1f}, "
        f"{s['steps']['total']} in all); frames {'x'.join(map(str, s['frame_shape']))} uint8",
    ]
    for name in ("actions", "proprio"):
        lines.append(f"  {name} ({len(s[name])} dims):")
        for i, d in enumerate(s[name][:12]):
            lines.append(
                f"    [{i}] min {d['min']:+.3f}  max {d['max']:+.3f}  mean {d['mean']:+.3f}  std {d['std']:.3f}"
            )
        if len(s[name]) > 12:
            lines.append(f"    ... {len(s[name]) - 12} more")
    present = {k: v for k, v in s["optional_fields"].items() if v}
    lines.append("  optional fields: " + (", ".join(f"{k} ({v} episodes)" for k, v in present.items()) or "none"))
    if "returns" in s:
        r = s["returns"]
        lines.append(f"  return per episode: mean {r['mean']:.3f} (min {r['min']:.3f}, max {r['max']:.3f})")
    if "block_motion" in s:
        b, t = s["block_motion"], s["block_motion"]["turn_deg_per_window"]
        lines.append(
            f"  block: turns {t['median']:.1f} deg per {t['window']} steps (median; 90th percentile {t['p90']:.1f}), "
            f"moves in {100 * b['steps_block_moves']:.0f} % of steps"
        )
    lines += [f"  warning: {w}" for w in s["warnings"]]
    return "\n".join(lines)


def contact_sheet(episodes: list, path, rows: int = 8, columns: int = 8, scale: int = 2) -> Path:
    """A grid PNG: `rows` episodes spread over the store, `columns` frames spread over each episode,
    and its goal image in a last column where the episodes carry one."""
    from PIL import Image, ImageDraw

    picks = np.unique(np.linspace(0, len(episodes) - 1, min(rows, len(episodes))).round().astype(int))
    h, w = episodes[0].pixels.shape[1:3]
    goals = all(episodes[i].goal_pixels is not None for i in picks)
    sheet = np.full((len(picks) * (h + 2), (columns + goals) * (w + 2) + (6 if goals else 0), 3), 255, np.uint8)
    for r, i in enumerate(picks):
        px = episodes[i].pixels
        for c, t in enumerate(np.linspace(0, len(px) - 1, columns).round().astype(int)):
            sheet[r * (h + 2) : r * (h + 2) + h, c * (w + 2) : c * (w + 2) + w] = px[t]
        if goals:
            x = columns * (w + 2) + 6
            sheet[r * (h + 2) : r * (h + 2) + h, x : x + w] = episodes[i].goal_pixels
    img = Image.fromarray(sheet).resize((sheet.shape[1] * scale, sheet.shape[0] * scale), Image.NEAREST)
    if goals:
        ImageDraw.Draw(img).text(((columns * (w + 2) + 8) * scale, 2), "goal", fill=(255, 0, 0))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path
