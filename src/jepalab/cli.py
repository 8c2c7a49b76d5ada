"""The `jepalab` command: parse, build a config, call the library. Nothing else lives here.

    jepalab demo                                   # collect, train, plan on two-room; ~15 min on 2 cores
    jepalab collect --world two-room --episodes 1000 --out data/two-room
    jepalab train --data data/two-room --preset two-room --out runs/two-room
    jepalab plan --checkpoint runs/two-room --episodes 50
    jepalab config --preset two-room               # every setting, its default and what it does

torch is imported only inside the commands, so `jepalab --help` answers at once.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXAMPLES = {
    "demo": "jepalab demo --out runs/demo\n  jepalab demo --preset debug --out runs/smoke   # seconds, for a quick check",
    "collect": "jepalab collect --world two-room --episodes 1000 --out data/two-room",
    "train": "jepalab train --data data/two-room --preset two-room --out runs/two-room\n"
             "  jepalab train --world two-room --out runs/two-room --set train.steps=500\n"
             "  jepalab train --data data/two-room --out runs/two-room --resume   # after an interruption",
    "plan": "jepalab plan --checkpoint runs/two-room --episodes 50\n"
            "  jepalab plan --checkpoint runs/two-room --planner mppi --set plan.samples=256",
    "pretrain": "jepalab pretrain --world bounce --preset video-small --out runs/video\n"
                "  jepalab pretrain --videos my_videos/,extra.mp4 --preset video-small --out runs/my-video",
    "probe": "jepalab probe --checkpoint runs/video --world bounce\n"
             "  jepalab probe --checkpoint runs/video --clips 64 --steps 200   # a quick look",
    "config": "jepalab config --preset two-room",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jepalab", description="JEPA world models: learn from pixels, imagine, plan.",
                                epilog="examples:\n  " + "\n  ".join(v.splitlines()[0] for v in EXAMPLES.values()),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, epilog="example:\n  " + EXAMPLES[name],
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    def config_options(c: argparse.ArgumentParser, default_preset: str = "two-room") -> None:
        c.add_argument("--preset", default=default_preset, help=f"named config to start from (default {default_preset}; "
                                                                "also 'debug', tiny and fast)")
        c.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                       help="override one setting, e.g. train.steps=500 (repeatable; list: `jepalab config`)")
        c.add_argument("--quiet", action="store_true", help="no progress bars")

    c = command("demo", "Collect two-room data, train a world model, plan with it, and compare with baselines.")
    config_options(c)
    c.add_argument("--out", default="runs/demo", help="run folder for config, checkpoints, metrics, plots, summary")
    c.add_argument("--data", help="use this episode store instead of collecting one")
    c.add_argument("--resume", action="store_true", help="continue training from the run folder's last checkpoint")

    c = command("collect", "Roll out an exploration policy in a world and store the episodes.")
    c.add_argument("--world", default="two-room", help="built-in world to collect from")
    c.add_argument("--episodes", type=int, default=1000, help="number of episodes (an existing store is completed)")
    c.add_argument("--steps", type=int, default=64, help="environment steps per episode")
    c.add_argument("--seed", type=int, default=0, help="episode i uses seed + i")
    c.add_argument("--out", required=True, help="folder of the episode store")
    c.add_argument("--quiet", action="store_true", help="no progress bar")

    c = command("train", "Train an action-conditioned JEPA world model on stored episodes (or on a world directly).")
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="episode store made by `jepalab collect`")
    src.add_argument("--world", help="collect from this built-in world first (into OUT/data)")
    config_options(c)
    c.add_argument("--out", required=True, help="run folder for config, checkpoints and metrics")
    c.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")

    c = command("plan", "Evaluate goal reaching by MPC with a trained model, beside random and untrained baselines.")
    c.add_argument("--checkpoint", required=True, help="run folder or checkpoint folder")
    c.add_argument("--episodes", type=int, help="evaluation episodes (default: the checkpoint's plan.episodes)")
    c.add_argument("--planner", choices=["cem", "mppi"], help="planner (default: the checkpoint's plan.planner)")
    c.add_argument("--seed", type=int, help="first evaluation seed (default: the checkpoint's plan.seed)")
    c.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a plan.* setting, e.g. plan.samples=256 (repeatable)")
    c.add_argument("--no-baselines", action="store_true", help="skip the random and untrained baselines")
    c.add_argument("--out", help="folder for eval.json and plots (default: CHECKPOINT/plan)")
    c.add_argument("--quiet", action="store_true", help="no progress bars")

    c = command("pretrain", "Self-supervised V-JEPA pretraining on clips of a built-in world or on your video files.")
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--world", help="built-in passive world to generate clips from (bounce)")
    src.add_argument("--videos", nargs="+", help="video files or folders (mp4, avi, mkv, webm, ...)")
    config_options(c, default_preset="video-small")
    c.add_argument("--out", required=True, help="run folder for config, checkpoints and metrics")
    c.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")

    c = command("probe", "Read object position, velocity and count from a video encoder's frozen features, "
                         "beside an untrained encoder and raw pixels.")
    c.add_argument("--checkpoint", required=True, help="run folder or checkpoint of `jepalab pretrain`")
    c.add_argument("--world", default="bounce", choices=["bounce"], help="world whose held-out clips are probed")
    c.add_argument("--clips", type=int, default=256, help="training clips per probe task (a quarter as many test clips)")
    c.add_argument("--steps", type=int, default=400, help="optimizer steps of each attentive probe")
    c.add_argument("--seed", type=int, default=10_000, help="first clip seed (pretraining streams start at source.seed)")
    c.add_argument("--out", help="where probe.json goes (default: CHECKPOINT/probe.json)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")

    c = command("config", "Print every setting of a preset with its value and a one-line description.")
    c.add_argument("--preset", default="two-room", help="preset to print")
    return p


def _build_config(args):
    from .config import override, preset
    return override(preset(args.preset), args.sets)


def cmd_demo(args) -> None:
    from .pipeline import run_demo
    run_demo(_build_config(args), args.out, data=args.data, resume=args.resume, progress=not args.quiet)


def cmd_collect(args) -> None:
    from .data.collect import collect
    store = collect(args.world, args.episodes, args.steps, args.out, seed=args.seed, progress=not args.quiet)
    print(f"{store.root}: {len(store)} episodes of {args.world}, {args.steps} steps each")


def cmd_train(args) -> None:
    from .config import override
    from .data.collect import collect
    from .data.store import EpisodeStore
    from .train import train
    cfg = _build_config(args)
    if args.world:
        cfg = override(cfg, [f"data.world={args.world}"])
        store = collect(args.world, cfg.data.episodes, cfg.data.steps_per_episode, Path(args.out) / "data",
                        seed=cfg.data.seed, progress=not args.quiet)
    else:
        store = EpisodeStore(args.data)
        meta = store.meta()
        # the data decides the shapes it holds: a custom action size or frame size needs no flag
        explicit = {s.partition("=")[0] for s in args.sets}
        from_data = [f"{key}={meta[field]}" for key, field in (("data.world", "world"), ("model.action_dim", "action_dim"),
                                                              ("model.image_size", "image_size"))
                     if meta.get(field) is not None and key not in explicit]
        cfg = override(cfg, from_data)
    print(f"training on {len(store)} episodes from {store.root}")
    _, result = train(cfg, store.load_all(), args.out, resume=args.resume, progress=not args.quiet)
    print(f"done: step {result['step']}, prediction loss {result.get('pred_loss', float('nan')):.4f}, "
          f"effective rank {result.get('effective_rank', float('nan')):.1f}, {result['train_seconds']:.0f} s; "
          f"checkpoints in {Path(args.out) / 'checkpoints'}")


def cmd_plan(args) -> None:
    import json
    from .checkpoint import load_model, resolve
    from .config import override
    from .data.store import EpisodeStore
    from .pipeline import evaluate, format_table
    model, cfg, meta = load_model(args.checkpoint)
    sets = list(args.sets)
    for key, val in (("episodes", args.episodes), ("planner", args.planner), ("seed", args.seed)):
        if val is not None:
            sets.append(f"plan.{key}={val}")
    bad = [s for s in sets if not s.startswith("plan.")]
    if bad:
        raise ValueError(f"plan only takes plan.* settings, got {bad}")
    cfg = override(cfg, sets)
    out = Path(args.out) if args.out else Path(args.checkpoint) / "plan"
    # A run made with --world or by `demo` keeps its episodes: they fit the position probe
    # that draws the model's imagined plans on the map.
    run_data = EpisodeStore(Path(args.checkpoint) / "data")
    episodes = run_data.load_all(limit=200) if run_data.index_path.is_file() else None
    summary = evaluate(model, cfg, out, train_eps=episodes, baselines=not args.no_baselines, progress=not args.quiet)
    summary["checkpoint"] = str(resolve(args.checkpoint))
    summary["checkpoint_step"] = meta["step"]
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(format_table(summary))
    print(f"results: {out / 'summary.json'}, {out / 'eval.json'}, {out / 'trajectories.png'}")


def cmd_pretrain(args) -> None:
    from .config import override
    from .pretrain import pretrain
    cfg = _build_config(args)
    if not hasattr(cfg, "video"):
        raise ValueError(f"preset {args.preset!r} is not a video pretraining preset (use video-small or video-debug)")
    sets = [f"source.world={args.world}"] if args.world else [f"source.videos={','.join(args.videos)}"]
    cfg = override(cfg, sets)
    _, result = pretrain(cfg, args.out, resume=args.resume, progress=not args.quiet)
    skipped = result["skipped_files"]
    print(f"done: step {result['step']}, loss {result.get('loss', float('nan')):.4f}, "
          f"{result['train_seconds']:.0f} s; checkpoints in {Path(args.out) / 'checkpoints'}"
          + (f"; skipped {len(skipped)} unreadable file(s): {', '.join(skipped)}" if skipped else ""))


def cmd_probe(args) -> None:
    import json
    from .evals.physics_probe import format_probe_table, probe_checkpoint
    if args.clips < 8 or args.steps < 1:
        raise ValueError("--clips must be >= 8 and --steps >= 1")
    report = probe_checkpoint(args.checkpoint, clips=args.clips, attentive_steps=args.steps, seed=args.seed,
                              progress=not args.quiet)
    out = Path(args.out) if args.out else Path(args.checkpoint) / "probe.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"{report['checkpoint']} (step {report['step']}), {args.clips} train / {report['test_clips']} held-out "
          f"clips per task, seeds from {args.seed}:")
    print(format_probe_table(report["results"]))
    print(f"results: {out}")


def cmd_config(args) -> None:
    from .config import help_lines, preset
    print("\n".join(help_lines(preset(args.preset))))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = globals()[f"cmd_{args.command}"]
    from .runtime import tune_allocator
    tune_allocator()
    try:
        handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, FloatingPointError) as e:  # DataError / CheckpointError are ValueErrors
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
