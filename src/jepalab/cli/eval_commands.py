"""The commands that measure a model: probe, surprise, physics, bench. Each parses, builds a config and calls
one library function."""

from __future__ import annotations

import sys
from pathlib import Path

from ..data import jsonout


def cmd_probe(args) -> None:
    from ..evals.physics_probe import format_probe_table, probe_checkpoint

    if args.clips < 8 or args.steps < 1:
        raise ValueError("--clips must be >= 8 and --steps >= 1")
    report = probe_checkpoint(
        args.checkpoint, clips=args.clips, attentive_steps=args.steps, seed=args.seed, progress=not args.quiet
    )
    out = Path(args.out) if args.out else Path(args.checkpoint) / "probe.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(jsonout.dumps(report, indent=2))
    print(
        f"{report['checkpoint']} (step {report['step']}), {args.clips} train / {report['test_clips']} held-out "
        f"clips per task, seeds from {args.seed}:"
    )
    print(format_probe_table(report["results"]))
    print(f"results: {out}")


def scoring_windows(args):
    """--scoring windows (and its --window, --stride, --reduce, --context) -> Windows; frames -> None."""
    from ..evals.window_surprise import Windows

    if args.scoring != "windows":
        return None
    return Windows(context=args.context, window=args.window, stride=args.stride, reduce=args.reduce)


def cmd_surprise(args) -> None:

    import numpy as np

    from ..data.video import iter_frames
    from ..evals.surprise import plot_curve, running_normalised, summarize, surprise_curve
    from ..evals.window_surprise import video_score
    from ..extras import require
    from ..training.checkpoint import load_any

    if args.model:
        from ..models.hf_video import load_vjepa2_predictor

        if not args.model.startswith("hf:"):
            raise ValueError(f"--model takes hf:REPO_OR_FOLDER (a transformers V-JEPA 2), got {args.model!r}")
        require("hf")
        model = load_vjepa2_predictor(args.model[3:])
        size, args.scoring = model.size, "windows"
    else:
        model, cfg, _ = load_any(args.checkpoint)
        size = cfg.video.size if hasattr(cfg, "video") else cfg.model.image_size
    windows = scoring_windows(args)
    plots = Path(args.plots)
    rows = []
    normalise = running_normalised if args.normalise == "running" else (lambda curve: curve)
    for path in args.videos:
        frames = np.stack(list(iter_frames(path, fps=args.fps, size=size)))
        curve = normalise(surprise_curve(model, frames, args.context, args.horizon, name=str(path), windows=windows))
        row = {"path": str(path), **summarize(curve)}
        if windows:
            row["score"] = video_score(curve, windows.reduce)
        png = plot_curve(row, plots / f"{Path(path).stem}.surprise.png")
        rows.append(row)
        score = f", score ({windows.reduce} over windows) {row['score']:.4f}" if windows else ""
        print(
            f"{path}: {row['frames']} frames, peak surprise {row['peak']:.4f} at frame {row['peak_frame']}"
            f"{score}; plot {png}"
        )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        head = {"model": args.model} if args.model else {"checkpoint": args.checkpoint}
        scoring = {"scoring": {"windows": vars(windows)} if windows else "frames"}
        Path(args.json).write_text(jsonout.dumps({**head, **scoring, "videos": rows}, indent=1))
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
    report, pairs, curves = physics_checkpoint(
        args.checkpoint,
        suite=args.suite,
        pairs_per_category=args.pairs,
        seed=seed,
        pixel_steps=args.pixel_steps,
        context=args.context,
        horizon=args.horizon,
        progress=not args.quiet,
        style=args.suite_style,
        normalise=args.normalise,
        windows=scoring_windows(args),
    )
    out = write_physics_report(report, pairs, curves, Path(args.out) if args.out else Path(args.checkpoint) / "physics")
    print(
        f"{report['checkpoint']} (step {report['step']}), {report['results']['trained']['overall']['pairs']} pairs; "
        "acc: pairwise accuracy, AUROC of clip surprise, loc.: share of impossible clips peaking at the event"
    )
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
    options = BenchOptions(
        episodes=args.episodes,
        pairs=args.pairs,
        pixel_steps=args.pixel_steps,
        probe_clips=args.probe_clips,
        probe_steps=args.probe_steps,
        probe_episodes=args.probe_episodes,
        goal_offset=args.goal_offset,
        budget=args.budget,
        dataset_expert=args.dataset_expert,
    )
    suites = [s.strip() for s in args.suites.split(",") if s.strip()] if args.suites else None
    results = bench(
        args.checkpoint,
        args.out,
        suites,
        args.seeds,
        options,
        sets=args.sets,
        protocol=args.protocol,
        command="jepalab " + shlex.join(sys.argv[1:]),
        progress=not args.quiet,
    )
    for suite, res in results["suites"].items():
        for model, metrics in res["models"].items():
            print(f"{suite:<8} {model:<10} " + ", ".join(f"{k} {format_stat(v)}" for k, v in list(metrics.items())[:4]))
    for suite, why in results["skipped_suites"].items():
        print(f"{suite:<8} not run: {why}")
    out = Path(args.out)
    print(f"results: {out / 'results.json'}, {out / 'manifest.json'}, {out / 'report.html'}")
