"""What does a video encoder know about physics? Probes on frozen features of `bounce` clips.

    jepalab probe --checkpoint runs/video --world bounce

Protocol (as V-JEPA's frozen evaluation, sized for a CPU):
- Clips come from `bounce` seeds far from the pretraining stream's (10_000 and up), drawn like the
  pretraining clips (occluders in half of them, gravity in half), with fresh seeds for the test clips.
- Each time step of a clip (one tubelet) is one probe example: the frozen encoder's tokens of that step.
- Targets, per step: the object's position and velocity in one-object clips, and the number of objects
  in clips with one to four (accuracy of the rounded regression). "hidden position" scores the same
  position predictions on the steps where the object is at least half behind the occluder: only
  features that carry it over from other frames can place it there.
- Two probes: linear (ridge on the concatenated tokens, so the layout is kept) and attentive
  (`AttentiveProbe`: learned attention over the tokens pools their values and grid coordinates).
- Features: the trained model's EMA target encoder (its `feature_encoder`, as V-JEPA evaluates) and,
  in the same call, the same architecture untrained (the initial weights of pretraining) and raw pixel
  patches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from .probe import LinearProbe

QUANTITIES = ("position", "velocity", "count")


@dataclass
class ProbeClips:
    video: torch.Tensor  # (B, T, H, W, 3) uint8
    targets: dict  # quantity -> (B * T', k) per tubelet step


def bounce_clips(n: int, frames: int, size: int, seed: int, max_objects: int, occluder_prob: float = 0.5):
    from ..data.clips import resize_frames
    from ..worlds.bounce import sample_scene, simulate

    rng = np.random.default_rng(seed)
    clips = [
        simulate(sample_scene(rng, frames=frames, max_objects=max_objects, occluder_prob=occluder_prob))
        for _ in range(n)
    ]
    video = torch.from_numpy(np.stack([c.frames for c in clips]))
    if size != video.shape[2]:
        B, T = video.shape[:2]
        video = resize_frames(video.reshape(B * T, *video.shape[2:]), size).reshape(B, T, size, size, 3)
    return video, clips


def step_index(cfg) -> np.ndarray:
    """The frame each tubelet step is labelled with: its last one."""
    return np.arange(cfg.tubelet - 1, cfg.frames, cfg.tubelet)


def one_object_set(n: int, cfg, seed: int, occluder_prob: float = 0.5) -> ProbeClips:
    video, clips = bounce_clips(n, cfg.frames, cfg.size, seed, max_objects=1, occluder_prob=occluder_prob)
    idx = step_index(cfg)
    return ProbeClips(
        video,
        {
            "position": np.concatenate([c.positions[idx, 0] for c in clips]),
            "velocity": np.concatenate([c.velocities[idx, 0] for c in clips]),
            "visible": np.concatenate([c.visible[idx, 0] for c in clips]),
        },
    )


def count_set(n: int, cfg, seed: int) -> ProbeClips:
    video, clips = bounce_clips(n, cfg.frames, cfg.size, seed, max_objects=4)
    idx = step_index(cfg)
    return ProbeClips(
        video, {"count": np.concatenate([c.present[idx].sum(1, keepdims=True) for c in clips]).astype(np.float64)}
    )


def step_tokens(tokens: torch.Tensor, cfg) -> torch.Tensor:
    """(B, N, C) tokens in (t, h, w) order -> (B * T', H' * W', C), one row per time step."""
    B, N, C = tokens.shape
    per_step = (cfg.size // cfg.patch) ** 2
    return tokens.reshape(B * (N // per_step), per_step, C)


def pixel_tokens(video: torch.Tensor, cfg) -> torch.Tensor:
    """Raw-pixel baseline: each tubelet patch flattened, (B, N, t*p*p*3) floats in [0, 1]."""
    B, T, H, W, _ = video.shape
    t, p = cfg.tubelet, cfg.patch
    x = video.float().div(255).reshape(B, T // t, t, H // p, p, W // p, p, 3)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(B, (T // t) * (H // p) * (W // p), t * p * p * 3)


class AttentiveProbe(nn.Module):
    """Attentive pooling over the tokens of a time step. Per head, a small MLP scores each token and
    a softmax over the tokens pools their values together with their grid coordinates; an MLP reads
    the pooled vectors. The coordinates belong to the probe (any probe knows the token layout), so
    every feature set, raw pixels included, is read on equal terms: to place an object the features
    only have to say which tokens show it."""

    def __init__(self, dim: int, out: int, tokens: int, width: int = 64, heads: int = 4):
        super().__init__()
        side = round(tokens**0.5)
        if side * side != tokens:
            raise ValueError(f"attentive probe expects a square grid of tokens per step, got {tokens}")
        yy, xx = torch.meshgrid(torch.linspace(0, 1, side), torch.linspace(0, 1, side), indexing="ij")
        self.register_buffer("coords", torch.stack([xx, yy], -1).reshape(1, tokens, 2))
        self.score = nn.Sequential(nn.Linear(dim, width), nn.GELU(), nn.Linear(width, heads))
        self.value = nn.Sequential(nn.Linear(dim, width), nn.GELU())
        pooled = heads * (width + 2)
        self.head = nn.Sequential(nn.LayerNorm(pooled), nn.Linear(pooled, width), nn.GELU(), nn.Linear(width, out))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        weights = self.score(tokens).softmax(1)  # (B, K, heads)
        values = torch.cat([self.value(tokens), self.coords.expand(len(tokens), -1, -1)], -1)  # (B, K, width + 2)
        return self.head(torch.einsum("bkh,bkc->bhc", weights, values).flatten(1))


def r2(pred: np.ndarray, y: np.ndarray) -> float:
    resid = ((y - pred) ** 2).sum(0)
    total = ((y - y.mean(0)) ** 2).sum(0)
    return float(np.mean(1 - resid / np.maximum(total, 1e-12)))


def score(quantity: str, pred: np.ndarray, y: np.ndarray) -> float:
    """R² for continuous quantities; accuracy of the rounded prediction for the count."""
    if quantity == "count":
        return float(np.mean(np.rint(pred) == y))
    return r2(pred, y)


def fit_attentive(
    train_x: torch.Tensor, train_y: np.ndarray, test_x: torch.Tensor, steps: int = 400, seed: int = 0
) -> np.ndarray:
    """Train an attentive probe on frozen tokens (standardised targets, AdamW);
    -> predictions for test_x."""
    torch.manual_seed(seed)
    mu, sd = train_y.mean(0), train_y.std(0) + 1e-8
    y = torch.from_numpy((train_y - mu) / sd).float()
    probe = AttentiveProbe(train_x.shape[-1], train_y.shape[1], train_x.shape[1])
    opt = torch.optim.AdamW(probe.parameters(), lr=3e-3, weight_decay=1e-4)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, len(train_x), (min(128, len(train_x)),), generator=g)
        loss = nn.functional.mse_loss(probe(train_x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return torch.cat([probe(test_x[i : i + 512]) for i in range(0, len(test_x), 512)]).numpy() * sd + mu


def fit_linear(train_x: torch.Tensor, train_y: np.ndarray, test_x: torch.Tensor) -> np.ndarray:
    """Ridge regression on the concatenated tokens of a time step (mean pooling would erase where
    things are); -> predictions for test_x."""
    probe = LinearProbe.fit(train_x.flatten(1).numpy(), train_y, ridge=1e-2)
    return probe(test_x.flatten(1).numpy())


@torch.no_grad()
def encode_tokens(encoder, video: torch.Tensor, batch: int = 32) -> torch.Tensor:
    encoder.eval()
    return torch.cat([encoder(video[i : i + batch]) for i in range(0, len(video), batch)])


def held_out_clips(clips: int) -> int:
    """Held-out clips per task: a quarter of the training clips, at least 32."""
    return max(32, clips // 4)


def probe_encoders(
    encoders: dict,
    cfg,
    clips: int = 256,
    seed: int = 10_000,
    attentive_steps: int = 400,
    progress: bool = False,
    scatter: dict | None = None,
) -> dict:
    """-> {quantity: {probe: {features: score}}} for each encoder (name -> VideoEncoder) and raw pixels.

    `clips` train clips per task and held_out_clips(clips) held-out ones, from seeds seed..
    (disjoint from the pretraining stream, seed 0 unless configured otherwise). A `scatter` dict
    receives, per features, the attentive probe's held-out (predicted, true) positions."""
    n_test = held_out_clips(clips)
    tasks = [
        (("position", "velocity"), one_object_set(clips, cfg, seed), one_object_set(n_test, cfg, seed + 1)),
        (("count",), count_set(clips, cfg, seed + 2), count_set(n_test, cfg, seed + 3)),
    ]
    featurizers = {name: (lambda v, e=e: step_tokens(encode_tokens(e, v), cfg)) for name, e in encoders.items()}
    featurizers["raw pixels"] = lambda v: step_tokens(pixel_tokens(v, cfg), cfg)
    bar = tqdm(total=len(QUANTITIES) * len(featurizers) * 2, desc="probes", disable=not progress)
    results: dict = {q: {"linear": {}, "attentive": {}} for q in ("position", "hidden position", "velocity", "count")}
    for quantities, train, test in tasks:
        hidden = test.targets.get("visible", np.ones(0)) < 0.5  # steps where the object is at least half hidden
        for name, f in featurizers.items():
            tr, te = f(train.video), f(test.video)
            for quantity in quantities:
                y_tr, y_te = train.targets[quantity], test.targets[quantity]
                for probe in ("linear", "attentive"):
                    pred = (
                        fit_linear(tr, y_tr, te) if probe == "linear" else fit_attentive(tr, y_tr, te, attentive_steps)
                    )
                    results[quantity][probe][name] = score(quantity, pred, y_te)
                    if quantity == "position" and probe == "attentive" and scatter is not None:
                        scatter[name] = (pred, y_te)
                    if quantity == "position":  # the same predictions, scored on the hidden steps only
                        results["hidden position"][probe][name] = (
                            r2(pred[hidden], y_te[hidden]) if hidden.sum() >= 8 else float("nan")
                        )
                    bar.update()
    bar.close()
    return results


def format_probe_table(results: dict) -> str:
    names = list(next(iter(next(iter(results.values())).values())))
    head = f"{'quantity':<21}{'probe':<11}" + "".join(f"{n:>14}" for n in names)
    lines = [head, "-" * len(head)]
    for quantity, probes in results.items():
        unit = "acc" if quantity == "count" else "R²"
        for probe, row in probes.items():
            lines.append(f"{quantity + ' ' + unit:<21}{probe:<11}" + "".join(f"{row[n]:>14.3f}" for n in names))
    return "\n".join(lines)


def probe_checkpoint(
    path, clips: int = 256, attentive_steps: int = 400, seed: int = 10_000, progress: bool = True
) -> dict:
    """`jepalab probe`: the checkpoint's encoder beside the same architecture untrained (the weights
    pretraining started from) and raw pixels. -> {"checkpoint", "step", "clips", "results"}."""
    from ..training.checkpoint import load_video_model, resolve
    from .intuitive_physics import untrained_twin

    model, cfg, meta = load_video_model(path)
    untrained = untrained_twin(model, cfg.train.seed)
    results = probe_encoders(
        {"trained": model.feature_encoder, "untrained": untrained.encoder},
        cfg.video,
        clips=clips,
        seed=seed,
        attentive_steps=attentive_steps,
        progress=progress,
    )
    return {
        "checkpoint": str(resolve(path)),
        "step": meta["step"],
        "clips": clips,
        "test_clips": held_out_clips(clips),
        "seed": seed,
        "attentive_steps": attentive_steps,
        "results": results,
    }
