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
    "collect": "jepalab collect --world two-room --episodes 1000 --out data/two-room\n"
               "  MUJOCO_GL=egl jepalab collect --env gymnasium:Reacher-v5 --episodes 400 --steps 50 --out data/reacher\n"
               "  jepalab collect --env gymnasium:PointMaze_UMaze-v3 --policy my_actions.npy --episodes 20 --out data/maze",
    "import": "jepalab import --videos recordings/ --out data/mine --fps 10   # clip.mp4 + clip.csv (actions) [+ clip.state.csv]\n"
              "  jepalab import --videos clips/ --out data/clips --passive   # no actions: a passive world, train with --preset bounce\n"
              "  jepalab import --lerobot ~/datasets/pusht --out data/pusht --camera observation.image",
    "inspect": "jepalab inspect data/reacher                 # summary + data/reacher/contact_sheet.png",
    "train": "jepalab train --data data/two-room --preset two-room --out runs/two-room\n"
             "  jepalab train --world two-room --out runs/two-room --set train.steps=500\n"
             "  jepalab train --data data/two-room --out runs/two-room --resume   # after an interruption",
    "plan": "jepalab plan --checkpoint runs/two-room --episodes 50\n"
            "  jepalab plan --checkpoint runs/push --goal state     # goals as the block's pose, through a state probe\n"
            "  jepalab plan --checkpoint runs/two-room --planner mppi --set plan.samples=256",
    "pretrain": "jepalab pretrain --world bounce --preset video-small --out runs/video\n"
                "  jepalab pretrain --videos my_videos/,extra.mp4 --preset video-small --out runs/my-video",
    "probe": "jepalab probe --checkpoint runs/video --world bounce\n"
             "  jepalab probe --checkpoint runs/video --clips 64 --steps 200   # a quick look",
    "surprise": "jepalab surprise --checkpoint runs/video clip.mp4 other.mkv --json surprise.json\n"
                "  jepalab surprise --checkpoint runs/two-room --fps 5 episode.mp4   # an action-conditioned model",
    "physics": "jepalab physics --checkpoint runs/video\n"
               "  jepalab physics --make-suite suite/ --pairs 100      # write the suite as video files + index.json\n"
               "  jepalab physics --checkpoint runs/video --suite suite/",
    "bench": "jepalab bench --checkpoint runs/demo --out results/demo            # every suite that applies, 3 seeds\n"
             "  jepalab bench --checkpoint runs/bounce --suites physics --seeds 5 --out results/bounce\n"
             "  jepalab bench --compare results/demo results/other    # side by side ('A+B': one column, same checkpoint)\n"
             "  jepalab bench --verify results/demo                   # do the results still describe their files?",
    "serve": "jepalab serve --checkpoint runs/demo                       # http://127.0.0.1:8000, localhost only\n"
             "  jepalab serve --checkpoint runs/demo --host 0.0.0.0 --token $SECRET --goals goals/",
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
    where = c.add_mutually_exclusive_group()
    where.add_argument("--world", help="built-in world to collect from (default two-room)")
    where.add_argument("--env", help="gymnasium:ID, any gymnasium env that renders rgb_array (e.g. gymnasium:Reacher-v5, "
                                     "gymnasium:Pusher-v5, gymnasium:PointMaze_UMaze-v3)")
    c.add_argument("--policy", default="random", help="random (held random exploration), noisy-expert (worlds with a "
                                                      "scripted expert: push) or a .npy file of actions "
                                                      "(episodes, steps, action_dim) in [-1, 1] to replay")
    c.add_argument("--image-size", type=int, default=64, help="frame size for gymnasium envs (built-in worlds have their own)")
    c.add_argument("--depth-size", type=int, default=0, help="also store MuJoCo depth maps of this size (e.g. 16) for "
                                                            "model.senses=depth")
    c.add_argument("--episodes", type=int, default=1000, help="number of episodes (an existing store is completed)")
    c.add_argument("--steps", type=int, default=64, help="environment steps per episode")
    c.add_argument("--seed", type=int, default=0, help="episode i uses seed + i")
    c.add_argument("--out", required=True, help="folder of the episode store")
    c.add_argument("--quiet", action="store_true", help="no progress bar")

    c = command("import", "Turn your own recordings (videos + actions files, or a LeRobot dataset) into an episode store.")
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--videos", help="folder of videos; beside clip.mp4 its actions clip.npy|csv [and clip.state.npy|csv]")
    src.add_argument("--lerobot", help="a LeRobot v2.x dataset folder (meta/info.json, data/, videos/)")
    src.add_argument("--store", help="an episode store of an older schema version, rewritten in the current one")
    c.add_argument("--out", required=True, help="folder of the episode store (an existing one is completed)")
    c.add_argument("--fps", type=float, default=None, help="videos: sample frames at this rate (default: every frame)")
    c.add_argument("--image-size", type=int, default=64, help="side of the square frames stored")
    c.add_argument("--camera", help="lerobot: which video feature (default: the first)")
    c.add_argument("--passive", action="store_true",
                   help="videos: no actions files; one zero action per step (a passive world, as bounce)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")

    c = command("inspect", "Summarise an episode store and write a contact sheet of its frames.")
    c.add_argument("data", help="episode store folder")
    c.add_argument("--sheet", help="contact sheet PNG (default DATA/contact_sheet.png)")
    c.add_argument("--json", help="also write the summary as JSON here")
    c.add_argument("--limit", type=int, help="read only the first N episodes")

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
    c.add_argument("--goal", choices=["image", "state"], default="image",
                   help="give the planner each goal as an image (default) or as a state, read through a linear "
                        "state probe (RUN/state_probe.safetensors; fit on the run's episodes when missing or stale)")
    c.add_argument("--state-columns", help="goal by state: the proprio columns it sets, e.g. 2,3,4,5 (default: "
                                           "the world's goal columns, e.g. push: the block's pose)")
    c.add_argument("--data", help="goal by state: an episode store to fit the probe on (default: RUN/data)")
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

    c = command("surprise", "Per-frame surprise (latent prediction error) of a trained model on video files, "
                            "with its peak and a plot.")
    c.add_argument("--checkpoint", required=True, help="run folder or checkpoint (video-pretrained or action-conditioned)")
    c.add_argument("videos", nargs="+", help="video files")
    c.add_argument("--context", type=int, help="video model: time steps (tubelets) of context (default: half its "
                                               "clip); action-conditioned model: frames (default: its history)")
    c.add_argument("--horizon", type=int, default=1, help="average the predictions made 1..N steps ahead (video model: "
                                                          "tubelets; action-conditioned model: frames)")
    c.add_argument("--fps", type=float, help="resample the videos to this frame rate (default: every frame)")
    c.add_argument("--json", help="write {\"videos\": [{path, frames, surprise, peak_frame, peak}]} here")
    c.add_argument("--plots", default="surprise", help="folder for one PNG per video (default: ./surprise)")

    c = command("physics", "Violation-of-expectation suite on bounce: is the model more surprised by the impossible "
                           "twin of each pair? Beside an untrained model and a pixel-space predictor.")
    what = c.add_mutually_exclusive_group(required=True)
    what.add_argument("--checkpoint", help="run folder or checkpoint to score")
    what.add_argument("--make-suite", metavar="DIR", help="write the suite as video files + index.json, and stop")
    c.add_argument("--suite", help="score this suite folder (from --make-suite) instead of generating one")
    c.add_argument("--pairs", type=int, default=100, help="pairs per category (generated suites)")
    c.add_argument("--seed", type=int, default=50_000, help="first scene seed (pretraining streams start at 0)")
    c.add_argument("--pixel-steps", type=int, default=400, help="training steps of the pixel-space baseline")
    c.add_argument("--context", type=int, help="video model: time steps (tubelets) of context (default: half its "
                                               "clip); action-conditioned model: frames (default: its history)")
    c.add_argument("--horizon", type=int, default=1, help="average the predictions made 1..N steps ahead (as surprise)")
    c.add_argument("--out", help="folder for physics.json and the plot (default: CHECKPOINT/physics)")
    c.add_argument("--quiet", action="store_true", help="no progress bars")

    c = command("bench", "One checkpoint on every suite that applies (control, physics, probe) with baselines, over "
                         "several seeds: results.json, manifest.json, report.md/html.")
    what = c.add_mutually_exclusive_group(required=True)
    what.add_argument("--checkpoint", help="run folder or checkpoint to measure")
    what.add_argument("--compare", nargs="+", metavar="RESULTS", help="bench folders side by side")
    what.add_argument("--verify", metavar="RESULTS", help="re-hash the checkpoint and data a bench folder describes")
    c.add_argument("--suites", help="comma-separated subset of control,physics,probe (default: all that apply)")
    c.add_argument("--seeds", type=int, default=3, help="evaluation seeds per suite (default 3)")
    c.add_argument("--out", help="results folder (bench; resumed if it holds this checkpoint's parts) or table file (compare)")
    c.add_argument("--episodes", type=int, help="control: episodes per seed (default: the checkpoint's plan.episodes)")
    c.add_argument("--pairs", type=int, default=100, help="physics: pairs per category per seed")
    c.add_argument("--pixel-steps", type=int, default=400, help="physics: training steps of the pixel-space baseline")
    c.add_argument("--probe-clips", type=int, default=256, help="probe (video model): training clips per task")
    c.add_argument("--probe-steps", type=int, default=400, help="probe (video model): attentive probe steps")
    c.add_argument("--probe-episodes", type=int, default=40, help="probe (world model): episodes to fit the probe on")
    c.add_argument("--set", dest="sets", action="append", default=[], metavar="plan.KEY=VALUE",
                   help="planner setting for the control suite (repeatable)")
    c.add_argument("--quiet", action="store_true", help="no progress bars")

    c = command("serve", "Serve a world model over HTTP: POST /plan, POST /surprise, GET /health, GET /info.")
    c.add_argument("--checkpoint", required=True, help="run folder or checkpoint of an action-conditioned model")
    c.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    c.add_argument("--port", type=int, default=8000, help="port (0: any free one; the URL is printed)")
    c.add_argument("--token", help="require 'Authorization: Bearer TOKEN' (default: $JEPALAB_TOKEN if set)")
    c.add_argument("--goals", help="folder of goal images, addressed by file stem as goal_id")
    c.add_argument("--state-probe", help="a state probe (RUN/state_probe.safetensors, from `jepalab plan --goal "
                                         "state`): requests may then give goal_state, numbers")
    c.add_argument("--max-batch", type=int, default=32, help="plan requests batched into one planner call (1: off)")
    c.add_argument("--batch-wait-ms", type=float, default=5.0, help="how long a request waits for others to batch with")
    c.add_argument("--queue-size", type=int, default=64, help="requests waiting for the model before 503")
    c.add_argument("--max-body", type=int, default=8 << 20, help="largest request body in bytes (413 beyond)")
    c.add_argument("--verbose", action="store_true", help="log every request")

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
    world = args.env or args.world or "two-room"
    if args.env and not args.env.startswith("gymnasium:"):
        raise ValueError(f"--env takes gymnasium:ID (e.g. gymnasium:Reacher-v5), got {args.env!r}")
    store = collect(world, args.episodes, args.steps, args.out, seed=args.seed, progress=not args.quiet,
                    policy=args.policy, image_size=args.image_size, depth_size=args.depth_size)
    print(f"{store.root}: {len(store)} episodes of {world}, {args.steps} steps each")


def cmd_import(args) -> None:
    from .data.importers import import_lerobot, import_store, import_videos
    if args.passive and not args.videos:
        raise ValueError("--passive is for --videos (a LeRobot dataset or a store holds its own actions)")
    if args.videos:
        store = import_videos(args.videos, args.out, args.fps, args.image_size, progress=not args.quiet,
                              passive=args.passive)
    elif args.store:
        store = import_store(args.store, args.out, progress=not args.quiet)
    else:
        store = import_lerobot(args.lerobot, args.out, args.camera, args.image_size, progress=not args.quiet)
    m = store.meta()
    print(f"{store.root}: {len(store)} episodes ({m['action_dim']} action dims, {m['proprio_dim']} proprio dims); "
          f"train with: jepalab train --data {store.root} --out runs/NAME")


def cmd_inspect(args) -> None:
    import json
    from .data.inspect import contact_sheet, format_summary, summarize
    from .data.store import EpisodeStore
    store = EpisodeStore(args.data)
    summary, episodes = summarize(store, args.limit)
    print(format_summary(summary))
    sheet = contact_sheet(episodes, args.sheet or store.root / "contact_sheet.png")
    print(f"contact sheet: {sheet}")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))


def cmd_train(args) -> None:
    from .config import override, preset
    from .data.collect import collect
    from .data.store import EpisodeStore
    from .train import train
    from .parallel import barrier, distributed
    rank, _ = distributed()  # under torchrun: rank 0 collects and reports, every rank trains
    if not args.resume:  # before collecting or loading data, not minutes later
        from .checkpoint import refuse_fresh_start
        refuse_fresh_start(args.out)
    explicit = {s.partition("=")[0] for s in args.sets}
    senses = [s.strip() for s in next((s.partition("=")[2] for s in reversed(args.sets) if s.startswith("model.senses=")),
                                      preset(args.preset).model.senses).split(",")]
    proprio_from_data = "proprio" in senses and "model.proprio_dim" not in explicit
    # the proprio size is only known once the data is: a stand-in lets the config validate until then
    cfg = override(preset(args.preset), (["model.proprio_dim=1"] if proprio_from_data else []) + list(args.sets))
    # the data decides the shapes it holds: a custom action size, frame size or proprio size needs no flag
    fields = [] if args.world else [("data.world", "world"), ("model.action_dim", "action_dim"),
                                    ("model.image_size", "image_size")]
    if proprio_from_data:
        fields.append(("model.proprio_dim", "proprio_dim"))
    if "depth" in senses and not args.world:
        fields.append(("model.depth_size", "depth_size"))
    if args.world:
        cfg = override(cfg, [f"data.world={args.world}"])
        if rank == 0:
            collect(args.world, cfg.data.episodes, cfg.data.steps_per_episode, Path(args.out) / "data",
                    seed=cfg.data.seed, progress=not args.quiet, policy=cfg.data.policy, image_size=cfg.model.image_size,
                    depth_size=cfg.model.depth_size if "depth" in cfg.model.sense_list else 0)
        barrier()
        store = EpisodeStore(Path(args.out) / "data")
    else:
        store = EpisodeStore(args.data)
    meta = store.meta()
    from_data = [f"{key}={meta[field]}" for key, field in fields if meta.get(field) is not None and key not in explicit]
    cfg = override(cfg, from_data)
    if rank == 0:
        print(f"training on {len(store)} episodes from {store.root}")
    _, result = train(cfg, store.load_all(stream=cfg.train.stream), args.out, resume=args.resume, progress=not args.quiet)
    if rank != 0:
        return
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
    state_probe = None
    if args.goal == "state":
        from .evals.probe import state_probe_for
        columns = [int(c) for c in args.state_columns.split(",")] if args.state_columns else None
        state_probe, where = state_probe_for(args.checkpoint, model, cfg, meta["step"], data=args.data, columns=columns)
        print(f"state probe {where}: columns {state_probe.columns}, held-out R² {state_probe.r2:.3f}")
        if episodes is None:
            episodes = EpisodeStore(args.data).load_all(limit=200) if args.data else None
    summary = evaluate(model, cfg, out, train_eps=episodes, baselines=not args.no_baselines, progress=not args.quiet,
                       state_probe=state_probe)
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
    from .parallel import distributed
    if distributed()[0] != 0:  # under torchrun, rank 0 reports
        return
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


def cmd_surprise(args) -> None:
    import json

    import numpy as np

    from .checkpoint import load_any
    from .data.video import iter_frames
    from .evals.surprise import plot_curve, summarize, surprise_curve
    model, cfg, _ = load_any(args.checkpoint)
    size = cfg.video.size if hasattr(cfg, "video") else cfg.model.image_size
    plots = Path(args.plots)
    rows = []
    for path in args.videos:
        frames = np.stack(list(iter_frames(path, fps=args.fps, size=size)))
        row = {"path": str(path), **summarize(surprise_curve(model, frames, args.context, args.horizon, name=str(path)))}
        png = plot_curve(row, plots / f"{Path(path).stem}.surprise.png")
        rows.append(row)
        print(f"{path}: {row['frames']} frames, peak surprise {row['peak']:.4f} at frame {row['peak_frame']}; plot {png}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"checkpoint": args.checkpoint, "videos": rows}, indent=1))
        print(f"results: {args.json}")


def cmd_physics(args) -> None:
    from .evals.intuitive_physics import format_physics_table, physics_checkpoint, write_physics_report
    from .evals.physics_suite import make_suite, write_suite
    if args.pairs < 1:
        raise ValueError("--pairs must be >= 1")
    if args.make_suite:
        index = write_suite(make_suite(args.pairs, args.seed, progress=not args.quiet), args.make_suite, seed=args.seed)
        print(f"suite: {args.pairs} pairs per category, seeds from {args.seed}; index {index}")
        return
    report, pairs, curves = physics_checkpoint(args.checkpoint, suite=args.suite, pairs_per_category=args.pairs,
                                               seed=args.seed, pixel_steps=args.pixel_steps, context=args.context,
                                               horizon=args.horizon,
                                               progress=not args.quiet)
    out = write_physics_report(report, pairs, curves, Path(args.out) if args.out else Path(args.checkpoint) / "physics")
    print(f"{report['checkpoint']} (step {report['step']}), {report['results']['trained']['overall']['pairs']} pairs; "
          "acc: pairwise accuracy, AUROC of clip surprise, loc.: share of impossible clips peaking at the event")
    print(format_physics_table(report["results"]))
    print(f"results: {out / 'physics.json'}, {out / 'examples.png'}")


def cmd_bench(args) -> None:
    import shlex
    if args.verify:
        from .bench.verify import verify
        checks = verify(args.verify, progress=not args.quiet)
        for what, ok, detail in checks:
            print(f"{'ok  ' if ok else 'FAIL'} {what}: {detail}")
        if not all(ok for _, ok, _ in checks):
            raise ValueError(f"{args.verify}: the results no longer describe their checkpoint or data")
        print(f"{args.verify}: verified")
        return
    if args.compare:
        from .bench.verify import compare
        table = compare(args.compare)
        print(table)
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(table + "\n")
            print(f"table: {args.out}")
        return
    from .bench.run import bench
    from .bench.stats import format_stat
    from .bench.suites import BenchOptions
    if not args.out:
        raise ValueError("bench needs --out (a results folder)")
    bad = [s for s in args.sets if not s.startswith("plan.")]
    if bad:
        raise ValueError(f"bench only takes plan.* settings, got {bad}")
    options = BenchOptions(episodes=args.episodes, pairs=args.pairs, pixel_steps=args.pixel_steps,
                           probe_clips=args.probe_clips, probe_steps=args.probe_steps, probe_episodes=args.probe_episodes)
    suites = [s.strip() for s in args.suites.split(",") if s.strip()] if args.suites else None
    results = bench(args.checkpoint, args.out, suites, args.seeds, options, sets=args.sets,
                    command="jepalab " + shlex.join(sys.argv[1:]), progress=not args.quiet)
    for suite, res in results["suites"].items():
        for model, metrics in res["models"].items():
            print(f"{suite:<8} {model:<10} " + ", ".join(f"{k} {format_stat(v)}" for k, v in list(metrics.items())[:4]))
    for suite, why in results["skipped_suites"].items():
        print(f"{suite:<8} not run: {why}")
    print(f"results: {Path(args.out) / 'results.json'}, {Path(args.out) / 'manifest.json'}, {Path(args.out) / 'report.html'}")


def cmd_serve(args) -> None:
    import os

    from .serve import ServeOptions, serve
    if args.max_batch < 1 or args.queue_size < 1 or args.max_body < 1024:
        raise ValueError("--max-batch and --queue-size must be >= 1, --max-body >= 1024")
    options = ServeOptions(host=args.host, port=args.port, token=args.token or os.environ.get("JEPALAB_TOKEN"),
                           max_batch=args.max_batch, batch_wait_ms=args.batch_wait_ms, queue_size=args.queue_size,
                           max_body=args.max_body)
    serve(args.checkpoint, options, goals=args.goals, verbose=args.verbose, state_probe=args.state_probe)


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


def run() -> None:
    """The `jepalab` command: main(), then the exit a torchrun worker needs (parallel.leave)."""
    from .parallel import leave
    leave(main())


if __name__ == "__main__":
    run()
