"""The commands about a model: demo, train, plan, pretrain, export, serve, config. Each parses, builds a config
and calls one library function."""

from __future__ import annotations

from pathlib import Path

from ..data import jsonout
from .common import _build_config, announce, plot_run


def cmd_demo(args) -> None:
    from ..pipeline import run_demo

    cfg = _build_config(args)
    announce(cfg, args.preset, args.out)
    run_demo(cfg, args.out, data=args.data, resume=args.resume, progress=not args.quiet)


def cmd_train(args) -> None:
    from ..evals.variables import LatentWatch
    from ..training.parallel import distributed
    from ..training.run import train_run

    _, result = train_run(
        args.preset,
        args.sets,
        args.out,
        data=args.data,
        world=args.world,
        resume=args.resume,
        progress=not args.quiet,
        watch=LatentWatch,
    )
    if distributed()[0] != 0:  # under torchrun, rank 0 reports
        return
    print(
        f"done: step {result['step']}, prediction loss {result.get('pred_loss', float('nan')):.4f}, "
        f"effective rank {result.get('effective_rank', float('nan')):.1f}, {result['train_seconds']:.0f} s; "
        f"checkpoints in {Path(args.out) / 'checkpoints'}"
    )


def cmd_plan(args) -> None:
    from ..config import override
    from ..data.store import EpisodeStore
    from ..pipeline import evaluate, format_table
    from ..training.checkpoint import load_model, resolve

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
    if args.data:  # another world's store would fit probes of states this model never saw
        world = EpisodeStore(args.data).meta().get("world")
        if world != cfg.data.world:
            raise ValueError(
                f"{args.data}: holds episodes of {world!r}, and {args.checkpoint} is a model of "
                f"{cfg.data.world!r}; give a store of {cfg.data.world!r} with --data"
            )
    state_probe = None
    if args.goal == "state":
        from ..evals.probe import state_probe_for

        columns = [int(c) for c in args.state_columns.split(",")] if args.state_columns else None
        state_probe, where = state_probe_for(args.checkpoint, model, cfg, meta["step"], data=args.data, columns=columns)
        print(f"state probe {where}: columns {state_probe.columns}, held-out R² {state_probe.r2:.3f}")
        if episodes is None:
            episodes = EpisodeStore(args.data).load_all(limit=200) if args.data else None
    summary = evaluate(
        model,
        cfg,
        out,
        train_eps=episodes,
        baselines=not args.no_baselines,
        progress=not args.quiet,
        state_probe=state_probe,
    )
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
    sets = (
        [f"source.world={args.world}"]
        if args.world
        else [f"source.store={args.data}"]
        if args.data
        else [f"source.videos={','.join(args.videos)}"]
    )
    cfg = override(cfg, sets)
    from ..training.parallel import distributed

    if distributed()[0] == 0:
        announce(cfg, args.preset, args.out)
    _, result = pretrain(cfg, args.out, resume=args.resume, progress=not args.quiet)
    if distributed()[0] != 0:  # under torchrun, rank 0 reports
        return
    plot_run(args.out)
    skipped = result["skipped_files"]
    print(
        f"done: step {result['step']}, loss {result.get('loss', float('nan')):.4f}, "
        f"{result['train_seconds']:.0f} s; checkpoints in {Path(args.out) / 'checkpoints'}"
        + (f"; skipped {len(skipped)} unreadable file(s): {', '.join(skipped)}" if skipped else "")
    )


def cmd_export(args) -> None:
    from ..export import export_hub, export_programs
    from ..extras import require

    if args.format == "onnx":
        require("export")
    if args.format == "hub":
        folder = export_hub(args.checkpoint, args.out, args.results)
        print(
            f"{folder}: config.json, model.safetensors, README.md (model card); load with "
            f"WorldModel.from_pretrained({str(folder)!r})"
        )
    else:
        for name, path in export_programs(args.checkpoint, args.out, args.format).items():
            print(f"{name}: {path}")


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
            raise ValueError(
                f"--{name.replace('_', '-')} {value}: a finite number of seconds"
                + (" above 0" if name == "read_timeout" else ", 0 or more")
            )
    options = ServeOptions(
        host=args.host,
        port=args.port,
        token=args.token or os.environ.get("JEPALAB_TOKEN"),
        max_batch=args.max_batch,
        batch_wait_ms=args.batch_wait_ms,
        queue_size=args.queue_size,
        max_body=args.max_body,
        max_frames=args.max_frames,
        max_connections=args.max_connections,
        read_timeout_s=args.read_timeout,
        drain_timeout_s=args.drain_timeout,
    )
    serve(args.checkpoint, options, goals=args.goals, verbose=args.verbose, state_probe=args.state_probe)


def cmd_config(args) -> None:
    from ..config import help_lines, preset

    print("\n".join(help_lines(preset(args.preset))))
