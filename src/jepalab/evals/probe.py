"""Linear probes: what does the latent know? Ridge regression from z to a known quantity.

Used by the demo to report how well the latent encodes the agent's position (R²
on held-out episodes, beside an untrained encoder) and to draw imagined plans
on the world's map.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


@torch.no_grad()
def encode_frames(model, pixels: np.ndarray, batch: int = 512, senses: dict | None = None) -> np.ndarray:
    """(N, H, W, 3) uint8 [+ the model's other senses, N rows each] -> (N, D) latents, in eval mode
    and in batches."""
    model.eval()
    senses = senses or {}
    return np.concatenate(
        [
            model.encode(
                {
                    "pixels": torch.from_numpy(pixels[i : i + batch]),
                    **{k: torch.from_numpy(v[i : i + batch]) for k, v in senses.items()},
                }
            ).numpy()
            for i in range(0, len(pixels), batch)
        ]
    )


def episode_senses(model, episodes) -> dict:
    """The other senses a world model fuses, concatenated over episodes as their pixels are."""
    names = getattr(getattr(model, "encoder", None), "senses", [])
    return {k: np.concatenate([getattr(e, k) for e in episodes]).astype(np.float32) for k in names}


@dataclass
class LinearProbe:
    weight: np.ndarray  # (D, Y)
    bias: np.ndarray  # (Y,)

    @classmethod
    def fit(cls, z: np.ndarray, y: np.ndarray, ridge: float = 1e-3) -> LinearProbe:
        z = z.astype(np.float64)
        mu = z.mean(0)
        zc, yc = z - mu, y - y.mean(0)
        n, d = zc.shape
        if n < d:  # the dual form solves an n x n system: wide features (concatenated tokens) stay cheap
            w = zc.T @ np.linalg.solve(zc @ zc.T + ridge * n * np.eye(n), yc)
        else:
            w = np.linalg.solve(zc.T @ zc + ridge * n * np.eye(d), zc.T @ yc)
        return cls(w, y.mean(0) - mu @ w)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return z @ self.weight + self.bias

    def r2(self, z: np.ndarray, y: np.ndarray) -> float:
        """Coefficient of determination over all output dimensions together (variance-weighted: a
        dimension that barely varies, such as the position of an object that is rarely there, cannot
        blow the figure up)."""
        resid = ((y - self(z)) ** 2).sum()
        total = ((y - y.mean(0)) ** 2).sum()
        return float(1 - resid / max(total, 1e-12))


def position_probe(model, train_eps, test_eps, max_frames: int = 4000, seed: int = 0) -> tuple[LinearProbe, float]:
    """Fit z -> proprio on frames of train_eps; return the probe and its R² on test_eps."""
    rng = np.random.default_rng(seed)

    def frames(eps):
        px = np.concatenate([e.pixels for e in eps])
        pr = np.concatenate([e.proprio for e in eps])
        idx = rng.choice(len(px), min(max_frames, len(px)), replace=False)
        senses = {k: v[idx] for k, v in episode_senses(model, eps).items()}
        return encode_frames(model, px[idx], senses=senses), pr[idx]

    z_tr, y_tr = frames(train_eps)
    z_te, y_te = frames(test_eps)
    probe = LinearProbe.fit(z_tr, y_tr)
    return probe, probe.r2(z_te, y_te)


PROBE_FORMAT = "jepalab-state-probe"


@dataclass
class StateProbe:
    """A linear readout from a world model's latent to chosen proprio columns, the way a goal given
    as a state becomes a planning cost (planning.StateGoal). Targets are standardised, so every
    column counts alike whatever its units. Saved as safetensors beside the checkpoint it reads."""

    probe: LinearProbe  # latent -> standardised columns
    columns: list[int]
    mean: np.ndarray  # (Y,) of the columns in the data it was fit on
    std: np.ndarray  # (Y,)
    r2: float  # on held-out episodes
    r2_untrained: float  # the same probe on an untrained model's latent, for scale
    step: int  # training step of the checkpoint whose latent it reads
    world: str = ""  # the world of the episodes it was fit on ("": a probe saved before this was recorded)

    @classmethod
    def fit(
        cls, model, episodes, columns: list[int] | None, step: int, max_frames: int = 4000, seed: int = 0
    ) -> StateProbe:
        """Fit on the first 80 % of `episodes`, score on the rest, beside an untrained model."""
        P = episodes[0].proprio.shape[1]
        columns = list(range(P)) if columns is None else [int(c) for c in columns]
        if not columns or min(columns) < 0 or max(columns) >= P:
            raise ValueError(f"state columns {columns} are outside the data's {P} proprio columns")
        if len(episodes) < 5:
            raise ValueError(f"a state probe needs at least 5 episodes (a fifth held out), got {len(episodes)}")
        cut = len(episodes) - max(1, len(episodes) // 5)
        rng = np.random.default_rng(seed)

        def sample(eps):  # the same frames for both models
            px = np.concatenate([np.asarray(e.pixels) for e in eps])
            y = np.concatenate([e.proprio for e in eps])[:, columns]
            idx = np.sort(rng.choice(len(px), min(max_frames, len(px)), replace=False))
            return px[idx], y[idx], {k: v[idx] for k, v in episode_senses(model, eps).items()}

        (px_tr, y_tr, s_tr), (px_te, y_te, s_te) = sample(episodes[:cut]), sample(episodes[cut:])
        mean, std = y_tr.mean(0), y_tr.std(0) + 1e-6
        with torch.random.fork_rng():  # the untrained baseline is the same one every time
            torch.manual_seed(seed)
            untrained = model.fresh_copy()  # a frozen pretrained encoder stays: only the rest is untrained
        scores = []
        for m in (model, untrained):
            z_tr, z_te = encode_frames(m, px_tr, senses=s_tr), encode_frames(m, px_te, senses=s_te)
            probe = LinearProbe.fit(z_tr, (y_tr - mean) / std)
            scores.append((probe, probe.r2(z_te, (y_te - mean) / std)))
        (probe, r2), (_, r2_untrained) = scores
        return cls(probe, columns, mean, std, r2, r2_untrained, step)

    def goal(self, states: np.ndarray):
        """(B, Y) target states, in the columns' own units -> a goal the planners take."""
        from ..planning import StateGoal

        states = np.asarray(states, np.float64).reshape(-1, len(self.columns))
        as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)
        return StateGoal(as_t(self.probe.weight), as_t(self.probe.bias), as_t((states - self.mean) / self.std))

    def read(self, z: np.ndarray) -> np.ndarray:
        """(N, D) latents -> (N, Y) states in the columns' own units."""
        return self.probe(z) * self.std + self.mean

    def save(self, path) -> None:
        import json
        import os

        from safetensors.numpy import save_file

        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        arrays = {"weight": self.probe.weight, "bias": self.probe.bias, "mean": self.mean, "std": self.std}
        save_file(
            {k: np.ascontiguousarray(v, np.float64) for k, v in arrays.items()},
            str(tmp),
            metadata={
                "format": PROBE_FORMAT,
                "columns": json.dumps(self.columns),
                "r2": repr(float(self.r2)),
                "r2_untrained": repr(float(self.r2_untrained)),
                "step": str(int(self.step)),
                "world": str(self.world),
            },
        )
        from ..data.safe_read import as_user_file

        as_user_file(tmp)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path, latent_dim: int | None = None) -> StateProbe:
        import json

        from safetensors import safe_open

        try:
            with safe_open(str(path), "numpy") as f:
                meta = f.metadata() or {}
                if meta.get("format") != PROBE_FORMAT:
                    raise ValueError(f"{path}: not a jepalab state probe (format {meta.get('format')!r})")
                arrays = {k: f.get_tensor(k) for k in ("weight", "bias", "mean", "std")}
        except ValueError:
            raise
        except Exception as e:  # safetensors reports damage with several types
            raise ValueError(f"{path}: unreadable state probe ({type(e).__name__}: {e})") from None
        columns = json.loads(meta["columns"])
        Y = len(columns)
        if arrays["weight"].shape[1:] != (Y,) or any(arrays[k].shape != (Y,) for k in ("bias", "mean", "std")):
            raise ValueError(f"{path}: shapes disagree with its {Y} columns")
        if latent_dim is not None and arrays["weight"].shape[0] != latent_dim:
            raise ValueError(f"{path}: reads a {arrays['weight'].shape[0]}-dim latent, the model's has {latent_dim}")
        return cls(
            LinearProbe(arrays["weight"], arrays["bias"]),
            columns,
            arrays["mean"],
            arrays["std"],
            float(meta["r2"]),
            float(meta["r2_untrained"]),
            int(meta["step"]),
            str(meta.get("world", "")),
        )


def state_probe_for(
    checkpoint, model, cfg, step: int, data=None, columns: list[int] | None = None, refit: bool = False
) -> tuple[StateProbe, Path]:
    """The state probe of a checkpoint, for goals given as states: RUN/state_probe.safetensors when
    it reads this checkpoint (same step, same columns, fit on this world), else one fit on the run's
    episodes (or the store `data`) and saved there once it is fit. Columns default to the world's
    goal columns (e.g. push: the block's pose), else all proprio. A store of another world is refused
    before anything is written (its states are not this model's: a probe of them would be kept and
    break every later plan)."""
    from ..data.store import EpisodeStore
    from ..training.checkpoint import resolve
    from ..worlds import make

    ckpt = resolve(checkpoint)
    run = ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent
    path = run / "state_probe.safetensors"
    if columns is None:
        env = make(cfg.data.world)
        columns = getattr(env.unwrapped, "state_goal_columns", None)
        env.close()
    if path.is_file() and not refit:
        try:
            probe = StateProbe.load(path, cfg.model.latent_dim)
        except ValueError:  # damaged, or another model's: fit again below (the file is replaced only then)
            probe = None
        same = probe is not None and probe.step == step and probe.world == cfg.data.world
        if same and (columns is None or list(columns) == probe.columns):
            return probe, path
    store = EpisodeStore(data if data is not None else run / "data")
    if data is None and not store.index_path.is_file():
        raise ValueError(
            f"{run}: no episodes to fit a state probe on (the run has no data/ folder); "
            "give an episode store of this world with --data"
        )
    world = store.meta().get("world")
    if world != cfg.data.world:
        raise ValueError(
            f"{store.root}: holds episodes of {world!r}, and {ckpt} is a model of {cfg.data.world!r}; "
            f"a state probe reads this model's states: give a store of {cfg.data.world!r} with --data"
        )
    probe = StateProbe.fit(model, store.load_all(limit=400), None if columns is None else list(columns), step)
    probe.world = cfg.data.world
    probe.save(path)
    return probe, path
