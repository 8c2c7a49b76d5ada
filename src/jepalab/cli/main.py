"""The `jepalab` command: parse, build a config, call the library. Nothing else lives here.

    jepalab demo                                   # collect, train, plan on two-room; ~15 min on 2 cores
    jepalab collect --world two-room --episodes 1000 --out data/two-room
    jepalab train --data data/two-room --preset two-room --out runs/two-room
    jepalab plan --checkpoint runs/two-room --episodes 50
    jepalab config --preset two-room               # every setting, its default and what it does

torch is imported only inside the commands, so `jepalab --help` answers at once.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .. import jsonout
from .parser import parser


def _build_config(args):
    from ..config import override, preset
    return override(preset(args.preset), args.sets)


def announce(cfg, preset_name: str, out) -> None:
    """The settings that differ from the preset, not the whole config (that is in OUT/config.json)."""
    from ..config import differences, preset
    changes = differences(preset(preset_name), cfg)
    print(f"preset {preset_name}" + (f", changed: {'; '.join(changes)}" if changes else ", unchanged")
          + f" (every setting goes to {Path(out) / 'config.json'} as training starts)")


def plot_run(out) -> None:
    """RUN/training.png from RUN/metrics.jsonl, at the end of `train` and `pretrain`."""
    from ..plots import plot_training
    from ..training.loop import latest_metrics
    metrics = latest_metrics(out)
    if metrics:
        print(f"training curves: {plot_training(metrics, Path(out) / 'training.png')}")


def cmd_demo(args) -> None:
    from ..pipeline import run_demo
    cfg = _build_config(args)
    announce(cfg, args.preset, args.out)
    run_demo(cfg, args.out, data=args.data, resume=args.resume, progress=not args.quiet)


def cmd_collect(args) -> None:
    from ..data.collect import collect
    world = args.env or args.world or "two-room"
    if args.env and not args.env.startswith("gymnasium:"):
        raise ValueError(f"--env takes gymnasium:ID (e.g. gymnasium:Reacher-v5), got {args.env!r}")
    store = collect(world, args.episodes, args.steps, args.out, seed=args.seed, progress=not args.quiet,
                    policy=args.policy, image_size=args.image_size, depth_size=args.depth_size, variety=args.variety)
    print(f"{store.root}: {len(store)} episodes of {world}, {args.steps} steps each")


def cmd_import(args) -> None:
    from ..data.importers import import_lerobot, import_store, import_videos
    if args.passive and not args.videos:
        raise ValueError("--passive is for --videos (a LeRobot dataset or a store holds its own actions)")
    if args.lerobot:
        from ..extras import require
        require("lerobot")
    if args.videos:
        store = import_videos(args.videos, args.out, args.fps, args.image_size, progress=not args.quiet,
                              passive=args.passive)
    elif args.store:
        store = import_store(args.store, args.out, progress=not args.quiet)
    else:
        report: dict = {}
        store = import_lerobot(args.lerobot, args.out, args.camera, args.image_size, progress=not args.quiet,
                               report=report)
        for field, what in report.items():
            print(f"  {field}: {what}")
    m = store.meta()
    print(f"{store.root}: {len(store)} episodes ({m['action_dim']} action dims, {m['proprio_dim']} proprio dims); "
          f"train with: jepalab train --data {store.root} --out runs/NAME")


def cmd_inspect(args) -> None:
    from ..data.inspect import contact_sheet, format_summary, summarize
    from ..data.store import EpisodeStore
    store = EpisodeStore(args.data)
    if args.add_checksums:
        from ..data.checksums import add_checksums
        n = add_checksums(store, progress=not getattr(args, "quiet", False))
        print(f"{store.root}: checksums recorded for {n} episode(s)")
    summary, episodes = summarize(store, args.limit)
    print(format_summary(summary))
    sheet = contact_sheet(episodes, args.sheet or store.root / "contact_sheet.png")
    print(f"contact sheet: {sheet}")
    if args.json:
        Path(args.json).write_text(jsonout.dumps(summary, indent=2))


def cmd_train(args) -> None:
    from ..training.parallel import distributed
    from ..training.train import run_config, train, training_data
    rank, _ = distributed()  # under torchrun: rank 0 collects and reports, every rank trains
    if not args.resume:  # before collecting or loading data, not minutes later
        from ..training.checkpoint import refuse_fresh_start
        refuse_fresh_start(args.out)
    collection = sorted({s.partition("=")[0] for s in args.sets if s.startswith("data.") and
                         not s.startswith("data.world=")})
    if args.data and collection:  # they would be ignored: the store is what it is
        raise ValueError(f"{', '.join(collection)}: collection settings, and --data trains on the store as it was "
                         "collected; collect with them first (jepalab collect), or train with --world")
    sets = list(args.sets) + ([f"data.world={args.world}"] if args.world else [])
    cfg = run_config(args.preset, sets)
    store = training_data(cfg, args.out, data=args.data, world=args.world, progress=not args.quiet)
    cfg = run_config(args.preset, sets, store.meta())  # the data decides the shapes it holds: no flag needed
    if rank == 0:
        announce(cfg, args.preset, args.out)
        print(f"training on {len(store)} episodes from {store.root}")
    _, result = train(cfg, store.load_all(stream=cfg.train.stream), args.out, resume=args.resume,
                      progress=not args.quiet)
    if rank != 0:
        return
    plot_run(args.out)
    print(f"done: step {result['step']}, prediction loss {result.get('pred_loss', float('nan')):.4f}, "
          f"effective rank {result.get('effective_rank', float('nan')):.1f}, {result['train_seconds']:.0f} s; "
          f"checkpoints in {Path(args.out) / 'checkpoints'}")


def cmd_plan(args) -> None:
    from ..training.checkpoint import load_model, resolve
    from ..config import override
    from ..data.store import EpisodeStore
    from ..pipeline import evaluate, format_table
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
    state_probe = None
    if args.goal == "state":
        from ..evals.probe import state_probe_for
        columns = [int(c) for c in args.state_columns.split(",")] if args.state_columns else None
        state_probe, where = state_probe_for(args.checkpoint, model, cfg, meta["step"], data=args.data, columns=columns)
        print(f"state probe {where}: columns {state_probe.columns}, held-out R² {state_probe.r2:.3f}")
        if episodes is None:
            episodes = EpisodeStore(args.data).load_all(limit=200) if args.data else None
    summary = evaluate(model, cfg, out, train_eps=episodes, baselines=not args.no_baselines, progress=not args.quiet,
                       state_probe=state_probe)
    summary["checkpoint"] = str(resolve(args.checkpoint))
    summary["checkpoint_step"] = meta["step"]
    (out / "summary.json").write_text(jsonout.dumps(summary, indent=2))
    print(format_table(summary))
    print(f"results: {out / 'summary.json'}, {out / 'eval.json'}, {out / 'trajectories.png'}")


def cmd_pretrain(args) -> None:
    from ..config import override
    from ..training.pretrain import pretrain
    cfg = _build_config(args)
    if not hasattr(cfg, "video"):
        raise ValueError(f"preset {args.preset!r} is not a video pretraining preset (use video-small or video-debug)")
    sets = ([f"source.world={args.world}"] if args.world else [f"source.store={args.data}"] if args.data
            else [f"source.videos={','.join(args.videos)}"])
    cfg = override(cfg, sets)
    from ..training.parallel import distributed
    if distributed()[0] == 0:
        announce(cfg, args.preset, args.out)
    _, result = pretrain(cfg, args.out, resume=args.resume, progress=not args.quiet)
    if distributed()[0] != 0:  # under torchrun, rank 0 reports
        return
    plot_run(args.out)
    skipped = result["skipped_files"]
    print(f"done: step {result['step']}, loss {result.get('loss', float('nan')):.4f}, "
          f"{result['train_seconds']:.0f} s; checkpoints in {Path(args.out) / 'checkpoints'}"
          + (f"; skipped {len(skipped)} unreadable file(s): {', '.join(skipped)}" if skipped else ""))


def cmd_probe(args) -> None:
    from ..evals.physics_probe import format_probe_table, probe_checkpoint
    if args.clips < 8 or args.steps < 1:
        raise ValueError("--clips must be >= 8 and --steps >= 1")
    report = probe_checkpoint(args.checkpoint, clips=args.clips, attentive_steps=args.steps, seed=args.seed,
                              progress=not args.quiet)
    out = Path(args.out) if args.out else Path(args.checkpoint) / "probe.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(jsonout.dumps(report, indent=2))
    print(f"{report['checkpoint']} (step {report['step']}), {args.clips} train / {report['test_clips']} held-out "
          f"clips per task, seeds from {args.seed}:")
    print(format_probe_table(report["results"]))
    print(f"results: {out}")


def cmd_surprise(args) -> None:

    import numpy as np

    from ..training.checkpoint import load_any
    from ..data.video import iter_frames
    from ..evals.surprise import plot_curve, running_normalised, summarize, surprise_curve
    model, cfg, _ = load_any(args.checkpoint)
    size = cfg.video.size if hasattr(cfg, "video") else cfg.model.image_size
    plots = Path(args.plots)
    rows = []
    normalise = running_normalised if args.normalise == "running" else (lambda curve: curve)
    for path in args.videos:
        frames = np.stack(list(iter_frames(path, fps=args.fps, size=size)))
        row = {
            "path": str(path),
            **summarize(normalise(surprise_curve(model, frames, args.context, args.horizon, name=str(path)))),
        }
        png = plot_curve(row, plots / f"{Path(path).stem}.surprise.png")
        rows.append(row)
        print(
            f"{path}: {row['frames']} frames, peak surprise {row['peak']:.4f} at frame {row['peak_frame']}; plot {png}"
        )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(jsonout.dumps({"checkpoint": args.checkpoint, "videos": rows}, indent=1))
        print(f"results: {args.json}")


def cmd_physics(args) -> None:
    from ..evals.intuitive_physics import format_physics_table, physics_checkpoint, write_physics_report
    from ..evals.physics_suite import make_suite, write_suite
    if args.pairs < 1:
        raise ValueError("--pairs must be >= 1")
    if args.make_suite:
        index = write_suite(make_suite(args.pairs, args.seed, progress=not args.quiet), args.make_suite, seed=args.seed)
        print(f"suite: {args.pairs} pairs per category, seeds from {args.seed}; index {index}")
        return
    seed = args.seed if args.suite_style == "bounce" or args.seed != 50_000 else 150_000
    report, pairs, curves = physics_checkpoint(args.checkpoint, suite=args.suite, pairs_per_category=args.pairs,
                                               seed=seed, pixel_steps=args.pixel_steps, context=args.context,
                                               horizon=args.horizon, progress=not args.quiet,
                                               style=args.suite_style, normalise=args.normalise)
    out = write_physics_report(report, pairs, curves, Path(args.out) if args.out else Path(args.checkpoint) / "physics")
    print(f"{report['checkpoint']} (step {report['step']}), {report['results']['trained']['overall']['pairs']} pairs; "
          "acc: pairwise accuracy, AUROC of clip surprise, loc.: share of impossible clips peaking at the event")
    print(format_physics_table(report["results"]))
    print(f"results: {out / 'physics.json'}, {out / 'examples.png'}")


def cmd_bench(args) -> None:
    if args.verify:
        from ..bench.verify import verified
        print("\n".join(verified(args.verify, progress=not args.quiet)))
    elif args.compare:
        from ..bench.verify import compare
        table = compare(args.compare)
        print(table)
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(table + "\n")
            print(f"table: {args.out}")
    else:
        _bench_checkpoint(args)


def _bench_checkpoint(args) -> None:
    import shlex

    from ..bench.run import bench
    from ..bench.stats import format_stat
    from ..bench.suites import BenchOptions
    if not args.out:
        raise ValueError("bench needs --out (a results folder)")
    options = BenchOptions(episodes=args.episodes, pairs=args.pairs, pixel_steps=args.pixel_steps,
                           probe_clips=args.probe_clips, probe_steps=args.probe_steps,
                           probe_episodes=args.probe_episodes, goal_offset=args.goal_offset, budget=args.budget)
    suites = [s.strip() for s in args.suites.split(",") if s.strip()] if args.suites else None
    results = bench(args.checkpoint, args.out, suites, args.seeds, options, sets=args.sets, protocol=args.protocol,
                    command="jepalab " + shlex.join(sys.argv[1:]), progress=not args.quiet)
    for suite, res in results["suites"].items():
        for model, metrics in res["models"].items():
            print(f"{suite:<8} {model:<10} " + ", ".join(f"{k} {format_stat(v)}" for k, v in list(metrics.items())[:4]))
    for suite, why in results["skipped_suites"].items():
        print(f"{suite:<8} not run: {why}")
    out = Path(args.out)
    print(f"results: {out / 'results.json'}, {out / 'manifest.json'}, {out / 'report.html'}")


def cmd_serve(args) -> None:
    import math
    import os

    from ..serving.serve import ServeOptions, serve
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port {args.port}: a port number is 0..65535 (0: any free port)")
    for name in ("max_batch", "queue_size", "max_frames", "max_connections"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} {getattr(args, name)}: must be >= 1")
    if args.max_body < 1024:
        raise ValueError(f"--max-body {args.max_body}: must be >= 1024 bytes")
    for name in ("read_timeout", "drain_timeout", "batch_wait_ms"):
        value = getattr(args, name)
        if not math.isfinite(value) or value < 0 or (value == 0 and name == "read_timeout"):
            raise ValueError(f"--{name.replace('_', '-')} {value}: a finite number of seconds"
                             + (" above 0" if name == "read_timeout" else ", 0 or more"))
    options = ServeOptions(host=args.host, port=args.port, token=args.token or os.environ.get("JEPALAB_TOKEN"),
                           max_batch=args.max_batch, batch_wait_ms=args.batch_wait_ms, queue_size=args.queue_size,
                           max_body=args.max_body, max_frames=args.max_frames, max_connections=args.max_connections,
                           read_timeout_s=args.read_timeout, drain_timeout_s=args.drain_timeout)
    serve(args.checkpoint, options, goals=args.goals, verbose=args.verbose, state_probe=args.state_probe)


def cmd_export(args) -> None:
    from ..export import export_hub, export_programs
    from ..extras import require
    if args.format == "onnx":
        require("export")
    if args.format == "hub":
        folder = export_hub(args.checkpoint, args.out, args.results)
        print(f"{folder}: config.json, model.safetensors, README.md (model card); load with "
              f"WorldModel.from_pretrained({str(folder)!r})")
    else:
        for name, path in export_programs(args.checkpoint, args.out, args.format).items():
            print(f"{name}: {path}")


def cmd_export_data(args) -> None:
    from ..data.lerobot_export import export_store
    from ..extras import require
    require("lerobot")
    out, report = export_store(args.store, args.lerobot, args.fps, args.video_codec, args.crf)
    for field, what in report.items():
        print(f"  {field}: {what}")
    print(f"{out}: LeRobot v3.0 dataset; read it back with jepalab import --lerobot {out} --out DIR")


def cmd_config(args) -> None:
    from ..config import help_lines, preset
    print("\n".join(help_lines(preset(args.preset))))


COMMANDS = {
    "demo": cmd_demo,
    "collect": cmd_collect,
    "import": cmd_import,
    "inspect": cmd_inspect,
    "train": cmd_train,
    "plan": cmd_plan,
    "pretrain": cmd_pretrain,
    "probe": cmd_probe,
    "surprise": cmd_surprise,
    "physics": cmd_physics,
    "bench": cmd_bench,
    "serve": cmd_serve,
    "config": cmd_config,
    "export": cmd_export,
    "export-data": cmd_export_data,
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    handler = COMMANDS[args.command]
    if getattr(args, "config", None):  # the file's settings first, so that --set overrides them
        from ..config import file_assignments
        try:
            args.sets = file_assignments(args.config) + args.sets
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if getattr(args, "trust_unverified", False):
        from ..training.checkpoint import trust_unverified
        trust_unverified()
    from ..runtime import tune_allocator
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


def run() -> None:
    """The `jepalab` command: main(), then the exit a torchrun worker needs (parallel.leave)."""
    from ..training.parallel import leave
    leave(main())


if __name__ == "__main__":
    run()
