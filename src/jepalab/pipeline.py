"""The stages the CLI chains together: collect -> train -> evaluate -> report.

    from jepalab.pipeline import run_demo
    from jepalab.config import preset
    summary = run_demo(preset("two-room"), "runs/demo")

Each stage is a plain function over a config, so a script can run any one of
them; `run_demo` is the whole path from nothing to a table of success rates.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from .config import RunConfig
from .data import jsonout
from .data.collect import collect
from .data.store import EpisodeStore
from .evals.control import ControlResult, planning_latency, run_control
from .evals.probe import StateProbe, position_probe
from .models import WorldModel
from .plots import plot_training, plot_trajectories
from .training import checkpoint
from .training.loop import latest_metrics
from .training.train import split_episodes, train
from .worlds import make


def evaluate(
    model: WorldModel,
    cfg: RunConfig,
    out: Path,
    train_eps=None,
    baselines: bool = True,
    progress: bool = True,
    state_probe: StateProbe | None = None,
) -> dict:
    """Success of MPC with the model, beside random actions and the same planner on an
    untrained model (same init seed), on the same fixed-seed episodes. Writes plots and
    `eval.json` into out; returns the summary. With a `state_probe`, goals are given as states
    read through it (the untrained baseline gets its own probe, fit on train_eps)."""
    out.mkdir(parents=True, exist_ok=True)
    world, p = cfg.data.world, cfg.plan
    results: dict[str, ControlResult] = {
        "planner": run_control(world, p, model, "planner", progress=progress, state_probe=state_probe)
    }
    if baselines:
        results["random"] = run_control(world, p, None, "random", progress=progress)
        torch.manual_seed(cfg.train.seed)
        untrained = model.fresh_copy().eval()
        untrained_probe = None
        if state_probe is not None:
            if train_eps is None:
                raise ValueError("goals by state: the untrained baseline needs episodes to fit its probe on")
            untrained_probe = StateProbe.fit(untrained, train_eps, state_probe.columns, step=0)
        results["untrained"] = run_control(
            world,
            p,
            untrained,
            "planner",
            progress=progress,
            state_probe=untrained_probe,
            label="untrained planner (baseline)",
        )
        results["untrained"].policy = "untrained"
    summary = {
        "world": world,
        "episodes": p.episodes,
        "eval_seed": p.seed,
        "planner": p.planner,
        "goal": "image" if state_probe is None else f"state (proprio columns {state_probe.columns})",
        "success_rate": results["planner"].success_rate,
        "seconds_per_step": results["planner"].seconds_per_step,
        "seconds_per_plan_single": planning_latency(model, p, world),
        "mean_steps": float(results["planner"].steps.mean()),
        "mean_final_distance": float(results["planner"].final_distance.mean()),
    }
    if state_probe is not None:
        summary.update(state_probe_r2=state_probe.r2, state_probe_r2_untrained=state_probe.r2_untrained)
    if baselines:
        summary.update(
            random_success_rate=results["random"].success_rate,
            untrained_success_rate=results["untrained"].success_rate,
            untrained_seconds_per_step=results["untrained"].seconds_per_step,
        )
    plan_xy = None
    if train_eps is not None:
        train_part, held_out = split_episodes(train_eps)
        probe, r2 = position_probe(model, train_part, held_out or train_part)
        summary["position_probe_r2"] = r2
        plan_xy = [probe(z) for z in results["planner"].first_plans]
    env = make(world)
    if hasattr(env.unwrapped, "render_background"):  # a map that proprio's first two numbers are places on
        plot_trajectories(
            env.unwrapped.render_background(),
            list(results.values()),
            out / "trajectories.png",
            plan_positions=plan_xy,
            goal_radius=getattr(getattr(env.unwrapped, "layout", None), "goal_radius", 0.08),
        )
    env.close()
    per_episode = {
        k: {
            "success": r.success.tolist(),
            "steps": r.steps.tolist(),
            "final_distance": r.final_distance.round(4).tolist(),
        }
        for k, r in results.items()
    }
    (out / "eval.json").write_text(jsonout.dumps({"summary": summary, "episodes": per_episode}, indent=2))
    return summary


def format_table(summary: dict) -> str:
    rows = [("trained model + " + summary["planner"].upper(), summary["success_rate"], summary["seconds_per_step"])]
    if "untrained_success_rate" in summary:
        rows.append(
            (
                "untrained model + " + summary["planner"].upper(),
                summary["untrained_success_rate"],
                summary["untrained_seconds_per_step"],
            )
        )
        rows.append(("random actions", summary["random_success_rate"], None))
    lines = [
        f"{summary['world']}: {summary['episodes']} episodes, seeds {summary['eval_seed']}.."
        f"{summary['eval_seed'] + summary['episodes'] - 1}, goals as {summary.get('goal', 'image')}",
        f"{'policy':<28}{'success':>9}{'s / MPC step':>15}",
    ]
    for name, rate, sps in rows:
        lines.append(f"{name:<28}{rate:>8.0%}{'' if sps is None else f'{sps:>15.3f}'}")
    lines.append(f"one-episode planner call: {summary['seconds_per_plan_single']:.3f} s")
    if "position_probe_r2" in summary:
        lines.append(f"linear probe of agent position from the latent: R² = {summary['position_probe_r2']:.3f}")
    if "state_probe_r2" in summary:
        lines.append(
            f"state probe the goals are read through: held-out R² = {summary['state_probe_r2']:.3f} "
            f"(untrained latent {summary['state_probe_r2_untrained']:.3f})"
        )
    return "\n".join(lines)


def run_demo(
    cfg: RunConfig, out: str | Path, data: str | Path | None = None, resume: bool = False, progress: bool = True
) -> dict:
    """From nothing to a trained, evaluated model: collect, train, evaluate, plot, summarise."""
    out = Path(out)
    if not resume:  # before collecting, not after
        checkpoint.refuse_fresh_start(out)
    out.mkdir(parents=True, exist_ok=True)
    tic = time.perf_counter()
    store = (
        EpisodeStore(data)
        if data
        else collect(
            cfg.data.world,
            cfg.data.episodes,
            cfg.data.steps_per_episode,
            out / "data",
            seed=cfg.data.seed,
            progress=progress,
            variety=cfg.data.variety,
        )
    )
    collect_seconds = time.perf_counter() - tic
    episodes = store.load_all(stream=cfg.train.stream)
    from .evals.variables import LatentWatch

    model, trained = train(cfg, episodes, out, resume=resume, progress=progress, watch=LatentWatch)
    plot_training(latest_metrics(out), out / "training.png")
    summary = evaluate(model, cfg, out, train_eps=episodes, progress=progress)
    summary.update(
        train_seconds=trained["train_seconds"],
        train_steps=trained["step"],
        collect_seconds=collect_seconds,
        wall_seconds=time.perf_counter() - tic,
        final_pred_loss=trained.get("pred_loss"),
        final_effective_rank=trained.get("effective_rank"),
        threads=torch.get_num_threads(),
    )
    (out / "summary.json").write_text(jsonout.dumps(summary, indent=2))
    print(format_table(summary))
    print(f"run folder: {out}  (summary.json, metrics.jsonl, training.png, trajectories.png, checkpoints/)")
    return summary
