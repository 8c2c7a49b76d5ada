"""What the latent holds, variable by variable: per-column probes of a world's state, from the latent
of a world model, beside its untrained twin and raw pixels, so a variable that never entered the
latent shows as its own column (one averaged R² hid the push-t block's angle behind its positions).

    r2 = variable_probes({"trained": model, "untrained": twin}, train_eps, test_eps, names)
    r2["trained"]["linear"]["block cos"]   # held-out R² of a ridge probe
    r2["raw pixels"]["mlp"]["x velocity"]  # a small MLP on 16 x 16 pixels

Static variables are read from one frame's latent. Velocities (a position column's change over `k`
steps) are read from two latents side by side, (z_t, z_t+k) - never from one pooled frame, which
cannot hold a velocity - and raw pixels likewise from two frames. Probes are fitted on the training
episodes and scored on held-out ones; targets and features are standardised on the training part.
R² ≤ 0 means the variable is not there (no better than its mean; how far below zero is the probe's
overfitting, not information); NaN: the variable never varies in these episodes.
"""

from __future__ import annotations

import numpy as np
import torch

from .probe import LinearProbe, encode_frames, episode_senses

# what each built-in world's proprio columns are (worlds/*); a world not listed: "state 0", "state 1", ...
VARIABLES = {
    "two-room": ("x", "y"),
    "push": ("pusher x", "pusher y", "block x", "block y", "block cos", "block sin"),
    "push-t": ("pusher x", "pusher y", "block x", "block y", "block cos", "block sin"),
}
# position columns whose velocity a complete latent must hold too
MOVING = {"two-room": ("x", "y"), "push": ("block x", "block y"), "push-t": ("block x", "block y")}
PIXEL_SIDE = 16  # raw-pixel features: frames averaged down to 16 x 16 x 3


def variable_names(world: str, dim: int) -> list[str]:
    names = VARIABLES.get(world)
    if names is not None and len(names) == dim:
        return list(names)
    if world == "bounce":
        return [f"object {i // 2} {'xy'[i % 2]}" for i in range(dim)]
    return [f"state {i}" for i in range(dim)]


def moving_names(world: str, names: list[str]) -> list[str]:
    return [n for n in MOVING.get(world, names if world == "bounce" else ()) if n in names]


def _pixels(frames: np.ndarray) -> np.ndarray:
    n, h, w, c = frames.shape
    f = frames.astype(np.float32) / 255.0
    sh, sw = max(1, h // PIXEL_SIDE), max(1, w // PIXEL_SIDE)
    f = f[:, : sh * (h // sh), : sw * (w // sw)].reshape(n, h // sh, sh, w // sw, sw, c).mean((2, 4))
    return f.reshape(n, -1)


def _sample(episodes, k: int, frames: int, rng: np.random.Generator):
    """(episode, t) pairs with t + k inside the episode, `frames` of them at most."""
    pairs = [(i, t) for i, e in enumerate(episodes) for t in range(len(e.pixels) - k)]
    pick = rng.choice(len(pairs), min(frames, len(pairs)), replace=False)
    return [pairs[j] for j in np.sort(pick)]


def _features(source, episodes, pairs, k: int) -> tuple[np.ndarray, np.ndarray]:
    """-> features at t, and at t + k, for one source (a model, or "raw pixels")."""
    starts = np.cumsum([0] + [len(e.pixels) for e in episodes])
    senses = {} if isinstance(source, str) else episode_senses(source, episodes)  # rows as pixels are
    out = []
    for shift in (0, k):
        px = np.stack([np.asarray(episodes[i].pixels[t + shift]) for i, t in pairs])
        rows = np.array([starts[i] + t + shift for i, t in pairs])
        out.append(
            _pixels(px)
            if isinstance(source, str)
            else encode_frames(source, px, senses={n: v[rows] for n, v in senses.items()})
        )
    return out[0], out[1]


def r2_columns(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 1 - ((y - pred) ** 2).sum(0) / np.maximum(((y - y.mean(0)) ** 2).sum(0), 1e-12)


def _mlp(x_tr, y_tr, x_te, steps: int = 400, width: int = 128, seed: int = 0) -> np.ndarray:
    """A one-hidden-layer MLP probe, full batch Adam (small enough to fit in seconds on a CPU)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = torch.nn.Sequential(
            torch.nn.Linear(x_tr.shape[1], width), torch.nn.GELU(), torch.nn.Linear(width, y_tr.shape[1])
        )
        opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-2)
        xt, yt = torch.as_tensor(x_tr, dtype=torch.float32), torch.as_tensor(y_tr, dtype=torch.float32)
        for _ in range(steps):
            opt.zero_grad()
            torch.nn.functional.mse_loss(net(xt), yt).backward()
            opt.step()
        with torch.no_grad():
            return net(torch.as_tensor(x_te, dtype=torch.float32)).numpy()


def probe_table(
    x_tr, y_tr, x_te, y_te, names: list[str], mlp: bool = True, seed: int = 0, mlp_steps: int = 400
) -> dict:
    """{"linear": {name: R²}, "mlp": {...}} for features x -> targets y, each standardised on the
    training part."""
    mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-6
    ym, ys = y_tr.mean(0), y_tr.std(0)
    # a variable that does not vary (in either part) has nothing to read: NaN, not a huge negative R²
    still = (ys < 1e-6) | (y_te.std(0) < 1e-6)
    x_tr, x_te = (x_tr - mu) / sd, (x_te - mu) / sd
    t_tr, t_te = (y_tr - ym) / (ys + 1e-6), (y_te - ym) / (ys + 1e-6)

    def named(pred):
        return dict(zip(names, np.where(still, np.nan, r2_columns(pred, t_te)).tolist()))

    out = {"linear": named(LinearProbe.fit(x_tr, t_tr, ridge=1e-2)(x_te))}
    if mlp:
        out["mlp"] = named(_mlp(x_tr, t_tr, x_te, steps=mlp_steps, seed=seed))
    return out


def variable_probes(
    models: dict,
    train_eps,
    test_eps,
    names: list[str],
    moving: list[str] = (),
    k: int = 1,
    frames: int = 3000,
    seed: int = 0,
    mlp: bool = True,
    pixels: bool = True,
    mlp_steps: int = 400,
) -> dict:
    """{source: {"linear"|"mlp": {variable: held-out R²}}} for each model in `models` and raw pixels.
    Variables: the proprio columns `names`, and for each of `moving` its velocity over `k` steps
    ("<name> velocity"), read from (features at t, features at t + k)."""
    rng = np.random.default_rng(seed)
    tr_pairs, te_pairs = _sample(train_eps, k, frames, rng), _sample(test_eps, k, max(frames // 3, 200), rng)
    cols = [names.index(m) for m in moving]

    def targets(eps, pairs):
        now = np.stack([eps[i].proprio[t] for i, t in pairs]).astype(np.float64)
        later = np.stack([eps[i].proprio[t + k] for i, t in pairs]).astype(np.float64)
        return now, (later - now)[:, cols]

    (s_tr, v_tr), (s_te, v_te) = targets(train_eps, tr_pairs), targets(test_eps, te_pairs)
    sources = dict(models) | ({"raw pixels": "raw pixels"} if pixels else {})
    result = {}
    for name, source in sources.items():
        a_tr, b_tr = _features(source, train_eps, tr_pairs, k)
        a_te, b_te = _features(source, test_eps, te_pairs, k)
        table = probe_table(a_tr, s_tr, a_te, s_te, names, mlp, seed, mlp_steps)
        if cols:
            both_tr, both_te = np.concatenate([a_tr, b_tr], 1), np.concatenate([a_te, b_te], 1)
            velocity = probe_table(
                both_tr, v_tr, both_te, v_te, [f"{m} velocity" for m in moving], mlp, seed, mlp_steps
            )
            for kind in table:
                table[kind].update(velocity[kind])
        result[name] = table
    return result


def format_variable_table(result: dict) -> str:
    """One row per variable, one column per source and probe kind."""
    sources = list(result)
    kinds = list(next(iter(result.values())))
    variables = list(result[sources[0]][kinds[0]])
    head = [f"{s} ({k})" for s in sources for k in kinds]
    width = max(len(v) for v in variables)
    lines = [" " * width + "  " + "  ".join(f"{h:>18}" for h in head)]
    for v in variables:
        lines.append(f"{v:<{width}}  " + "  ".join(f"{result[s][k][v]:>18.2f}" for s in sources for k in kinds))
    return "\n".join(lines)


class LatentWatch:
    """What the latent holds, probed during training (Trainer.watch; `train(..., watch=LatentWatch)`):
    linear probes of each state variable and its velocity over one model step, fitted on training
    episodes and scored on the run's validation episodes. The model is probed in eval mode and put
    back as it was; numpy's and torch's random streams are left untouched, so a probed run ends on the
    weights of one that is not."""

    def __init__(self, trainer, frames: int = 1500):
        eps_fit = trainer.train_episodes[:60]
        eps_score = trainer.val_episodes or trainer.train_episodes[-10:]
        world, dim = trainer.cfg.data.world, eps_fit[0].proprio.shape[1]
        self.names = variable_names(world, dim)
        self.moving = moving_names(world, self.names)
        self.fit, self.score, self.frames = eps_fit, eps_score, frames
        self.k = max(1, trainer.cfg.model.frameskip)

    def __call__(self, trainer) -> dict:
        model = trainer.model
        was_training = model.training
        with torch.random.fork_rng():
            try:
                r2 = variable_probes(
                    {"trained": model},
                    self.fit,
                    self.score,
                    self.names,
                    self.moving,
                    k=self.k,
                    frames=self.frames,
                    mlp=False,
                    pixels=False,
                )["trained"]["linear"]
            finally:
                model.train(was_training)
        return {f"probe/{name}": value for name, value in r2.items()}
