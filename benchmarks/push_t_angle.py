"""Benchmark: is the push-t block's angle in the frames, and can the world model's encoder read it?

    python benchmarks/push_t_angle.py --data runs/levers/data-64px --steps 1000

Two checks behind the Push-T levers table (docs/measurements.md), where no trained latent held the
angle (probe R² below 0 for cos and sin while positions reached 0.99):
1. **The frames show it**: for frames of recorded episodes, the angle whose rendering (at the
   episode's recorded positions) best matches the frame, searched over 5° steps, against the angle
   the episode records. A renderer that drew the block unrotated would show here.
2. **The encoder can carry it**: the push-t preset's encoder (CNN, projector) and a linear head
   trained supervised, frames -> (pusher x, y, block x, y, cos, sin), standardised targets, AdamW 1e-3,
   batch 64, one thread; R² on held-out episodes (batch statistics: running BatchNorm statistics lag a
   net that moves this fast). If this reaches the angle and the JEPA objective does not, the
   objective, not the architecture, leaves it out.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

COLUMNS = ("pusher x", "pusher y", "block x", "block y", "block cos", "block sin")


def render_check(episodes, every: int = 20) -> dict:
    from jepalab.worlds import make

    env = make("push-t", image_size=episodes[0].pixels.shape[1])
    env.reset(seed=0)
    u, errors = env.unwrapped, []
    for ep in episodes:
        for t in range(0, len(ep.pixels), every):
            p = ep.proprio[t]
            recorded = np.arctan2(p[5], p[4])
            candidates = np.deg2rad(np.arange(-180, 180, 5))
            states = [[*p[:2], *p[2:4], a, 0, 0, 0, 0.5, 0.5, 0] for a in candidates]  # push-t draws no target
            diffs = [np.abs(u.render_state(s).astype(int) - ep.pixels[t]).sum() for s in states]
            errors.append(abs(np.angle(np.exp(1j * (candidates[int(np.argmin(diffs))] - recorded)))))
    return {
        "frames": len(errors),
        "median_error_deg": float(np.rad2deg(np.median(errors))),
        "max_error_deg": float(np.rad2deg(np.max(errors))),
    }


def supervised(train_eps, test_eps, steps: int, report_at: list[int]) -> list[dict]:
    from jepalab.config import preset
    from jepalab.models.encoder import Encoder

    def frames(part):
        x = np.concatenate([e.pixels[::2] for e in part])
        y = np.concatenate([e.proprio[::2] for e in part]).astype(np.float32)
        return torch.from_numpy(x), torch.from_numpy(y)

    torch.manual_seed(0)
    cfg = preset("push-t")
    (x, y), (xt, yt) = frames(train_eps), frames(test_eps)
    encoder, head = Encoder(cfg.model), torch.nn.Linear(cfg.model.latent_dim, len(COLUMNS))
    opt = torch.optim.AdamW([*encoder.parameters(), *head.parameters()], lr=1e-3)
    mu, sd = y.mean(0), y.std(0)
    rows, tic = [], time.perf_counter()
    for step in range(1, steps + 1):
        i = torch.randint(0, len(x), (64,))
        loss = ((head(encoder(x[i])) - (y[i] - mu) / sd) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step in report_at:
            with torch.no_grad():
                pred = torch.cat([head(encoder(xt[j : j + 256])) for j in range(0, len(xt), 256)]) * sd + mu
            r2 = 1 - ((yt - pred) ** 2).sum(0) / ((yt - yt.mean(0)) ** 2).sum(0)
            rows.append(
                {
                    "step": step,
                    "seconds": time.perf_counter() - tic,
                    "train_loss": loss.item(),
                    "r2": dict(zip(COLUMNS, r2.tolist())),
                }
            )
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def main() -> None:
    from jepalab.data.store import EpisodeStore

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="a push-t store (e.g. the levers' 1,000 episodes at 64 px)")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--train-episodes", type=int, default=500)
    ap.add_argument("--test-episodes", type=int, default=100)
    args = ap.parse_args()
    torch.set_num_threads(1)
    n, m = args.train_episodes, args.test_episodes
    episodes = EpisodeStore(args.data).load_all(limit=n + m)
    result = {
        "benchmark": "push-t-angle",
        "data": args.data,
        "render_check": render_check(episodes[n : n + 20]),
        "supervised": supervised(episodes[:n], episodes[n : n + m], args.steps, [100, 300, args.steps]),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
