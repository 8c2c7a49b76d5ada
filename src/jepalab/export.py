"""`jepalab export`: a trained world model out of jepalab, for the Hub or for runtimes without Python.

    jepalab export --checkpoint runs/demo --format hub --out hub/two-room --results results/demo
    jepalab export --checkpoint runs/demo --format torch-export --out exported/two-room
    jepalab export --checkpoint runs/demo --format onnx --out exported/two-room

hub: the Hub layout (config.json, model.safetensors) and a model card (README.md) written from the
checkpoint and, with --results, from its bench folder: data, recipe, every figure beside its
baselines, hashes. torch-export / onnx: two programs, `encoder` (frames (B, H, W, 3) uint8 -> z
(B, D)) and `predictor` (z (B, history, D), model actions (B, history, A) -> next latents (B,
history, D)), with a free batch size; the planner, a loop over the predictor, stays Python.
Frame-only models without the appearance memory (the predictor's memory input is not exported).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn as nn

from .training.checkpoint import load_model, resolve


class _Encoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.encode(pixels)


class _Predictor(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self.model.predict(z, actions)


def example_inputs(model, batch: int = 2) -> dict:
    c = model.cfg
    g = torch.Generator().manual_seed(0)
    return {
        "encoder": (torch.randint(0, 256, (batch, c.image_size, c.image_size, 3), dtype=torch.uint8, generator=g),),
        "predictor": (
            torch.randn(batch, c.history, c.latent_dim, generator=g),
            torch.rand(batch, c.history, model.model_action_dim, generator=g) * 2 - 1,
        ),
    }


def programs(model) -> dict:
    return {"encoder": _Encoder(model).eval(), "predictor": _Predictor(model).eval()}


def export_programs(checkpoint, out, fmt: str) -> dict[str, Path]:
    model, cfg, _ = load_model(checkpoint)
    if cfg.model.variant in ("senses", "appearance"):
        raise ValueError(
            f"{checkpoint}: export takes models of frames alone (model.variant base or spatial); this "
            f"one is model.variant={cfg.model.variant}"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    batch = torch.export.Dim("batch", min=1, max=4096)
    shapes = {"encoder": ({0: batch},), "predictor": ({0: batch}, {0: batch})}
    written = {}
    inputs = example_inputs(model)
    with torch.no_grad():
        for name, module in programs(model).items():
            if fmt == "torch-export":
                program = torch.export.export(module, inputs[name], dynamic_shapes=shapes[name])
                written[name] = out / f"{name}.pt2"
                torch.export.save(program, written[name])
            elif fmt == "onnx":
                written[name] = out / f"{name}.onnx"
                names = ["pixels"] if name == "encoder" else ["z", "actions"]
                torch.onnx.export(
                    module,
                    inputs[name],
                    str(written[name]),
                    input_names=names,
                    output_names=["z" if name == "encoder" else "next_z"],
                    dynamic_shapes=shapes[name],
                    dynamo=True,
                    external_data=False,
                )
            else:
                raise ValueError(f"--format must be hub, torch-export or onnx, got {fmt!r}")
    (out / "export.json").write_text(
        json.dumps(
            {
                "format": fmt,
                "checkpoint": str(resolve(checkpoint)),
                "image_size": cfg.model.image_size,
                "latent_dim": cfg.model.latent_dim,
                "history": cfg.model.history,
                "model_action_dim": model.model_action_dim,
                "frameskip": cfg.model.frameskip,
                "files": {k: v.name for k, v in written.items()},
            },
            indent=2,
        )
    )
    return written


def model_card(cfg, meta: dict, results: Path | None = None) -> str:
    """README.md of a Hub folder: what the model is, what it was trained on and how, and what it scored
    beside its baselines (from a `jepalab bench` folder), with the hashes that tie them together."""
    d, m, o, t = cfg.data, cfg.model, cfg.objective, cfg.train
    lines = [
        "---",
        "library_name: jepalab",
        "license: mit",
        "tags: [world-model, jepa, model-predictive-control]",
        "---",
        "",
        f"# jepalab world model: {d.world}",
        "",
        f"An action-conditioned JEPA world model of `{d.world}` trained with jepalab (step {meta.get('step')}).",
        "",
        "```python",
        "from jepalab import WorldModel",
        'model = WorldModel.from_pretrained("THIS_FOLDER_OR_REPO")',
        f"z = model.encode(frames)   # (B, {m.image_size}, {m.image_size}, 3) uint8 -> (B, {m.latent_dim})",
        "```",
        "",
        "## Data",
        "",
        f"- world `{d.world}`, {d.episodes} episodes of {d.steps_per_episode} steps, policy `{d.policy}`, "
        f"seeds from {d.seed}",
        "",
        "## Recipe",
        "",
        f"- encoder `{m.encoder}` (width {m.width}), latent {m.latent_dim}, predictor {m.pred_depth} x "
        f"{m.pred_dim}, history {m.history}, frameskip {m.frameskip}",
        f"- objective: next-latent + {o.rollout_steps}-step rollout prediction, `{o.regularizer}` at weight {o.weight}",
        f"- {t.steps} steps of batch {t.batch_size}, lr {t.lr}, seed {t.seed}",
        f"- planner `{cfg.plan.planner}`: horizon {cfg.plan.horizon}, {cfg.plan.samples} samples x "
        f"{cfg.plan.iterations} iterations",
        "",
    ]
    if results is not None:
        res = json.loads((Path(results) / "results.json").read_text())
        manifest = json.loads((Path(results) / "manifest.json").read_text())
        lines += [
            "## Results",
            "",
            f"`{manifest.get('command', 'jepalab bench')}` on {res.get('seeds')} "
            "evaluation seeds never used in training (mean, 95 % interval over seeds):",
            "",
            "| suite | metric | " + " | ".join(_models(res)) + " |",
            "|---|---|" + "---|" * len(_models(res)),
        ]
        for suite, body in res["suites"].items():
            metrics = next(iter(body["models"].values())).keys()
            for metric in metrics:
                cells = [_cell(body["models"].get(name, {}).get(metric)) for name in _models(res)]
                lines.append(f"| {suite} | {metric} | " + " | ".join(cells) + " |")
        data = manifest.get("training_data") or {}
        lines += [
            "",
            "## Hashes",
            "",
            f"- checkpoint sha256 `{manifest['checkpoint']['sha256']}`",
            f"- training data sha256 `{data.get('sha256', 'not recorded')}`",
            f"- git commit `{(manifest.get('software') or {}).get('git', {}).get('commit', 'unknown')}`",
            "",
        ]
    return "\n".join(lines)


def _models(res: dict) -> list[str]:
    names = []
    for body in res["suites"].values():
        names += [n for n in body["models"] if n not in names]
    return names


def _cell(stat) -> str:
    if not isinstance(stat, dict) or stat.get("mean") is None:
        return ""
    lo, hi = stat.get("ci95") or (None, None)
    return f"{stat['mean']:.3f}" + (f" ({lo:.3f}, {hi:.3f})" if lo is not None and hi is not None else "")


def export_hub(checkpoint, out, results: str | None = None) -> Path:
    model, cfg, meta = load_model(checkpoint)
    return model.save_pretrained(out, run_config=cfg, card=model_card(cfg, meta, Path(results) if results else None))
