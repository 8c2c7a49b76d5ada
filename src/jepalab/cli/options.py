"""Each command's options: one builder per command (COMMAND_PARSERS), and the options several share. The
parser (cli/parser.py) makes one sub-parser per entry."""

from __future__ import annotations

import argparse

from ..config import CHOICES
from .bench_options import bench_options as _bench


def config_options(c: argparse.ArgumentParser, default_preset: str = "two-room") -> None:
    c.add_argument(
        "--preset",
        default=default_preset,
        help=f"named config to start from (default {default_preset}; also 'debug', tiny and fast)",
    )
    c.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one setting, e.g. train.steps=500 (repeatable; list: `jepalab config`)",
    )
    c.add_argument(
        "--config",
        metavar="FILE",
        help='settings from a JSON or TOML file ({"train": {"steps": '
        "500}} or [train] steps = 500); --set overrides them",
    )
    c.add_argument("--quiet", action="store_true", help="no progress bars")


def surprise_window(c: argparse.ArgumentParser) -> None:
    """What `surprise` and `physics` share: how much past a prediction sees, and how far ahead it goes."""
    c.add_argument(
        "--context",
        type=int,
        help="video model: time steps (tubelets) of context (default: half its "
        "clip); action-conditioned model: frames (default: its history)",
    )
    c.add_argument(
        "--horizon",
        type=int,
        default=1,
        help="average the predictions made 1..N steps ahead (video model: tubelets; action-conditioned model: frames)",
    )
    c.add_argument(
        "--scoring",
        choices=["frames", "windows"],
        default="frames",
        help="frames: one surprise per frame, pairs judged near their event; windows: as the V-JEPA "
        "intuitive-physics paper, windows sliding by --stride frames, the model sees the first --context "
        "and predicts the rest, a video's score is the --reduce over windows (a transformers V-JEPA 2: always)",
    )
    c.add_argument("--window", type=int, help="windows: frames per window (default 16; a video model's clip)")
    c.add_argument("--stride", type=int, default=2, help="windows: frames between window starts (default 2)")
    c.add_argument("--reduce", choices=["max", "mean"], default="max", help="windows: a video's score (default max)")


# -- one builder per command: the options it takes ------------------------------------------
def _demo(c: argparse.ArgumentParser) -> None:
    config_options(c)
    c.add_argument("--out", default="runs/demo", help="run folder for config, checkpoints, metrics, plots, summary")
    c.add_argument("--data", help="use this episode store instead of collecting one")
    c.add_argument("--resume", action="store_true", help="continue training from the run folder's last checkpoint")


def _collect(c: argparse.ArgumentParser) -> None:
    where = c.add_mutually_exclusive_group()
    where.add_argument("--world", help="built-in world to collect from (default two-room)")
    where.add_argument(
        "--env",
        help="gymnasium:ID, any gymnasium env that renders rgb_array (e.g. gymnasium:Reacher-v5, "
        "gymnasium:Pusher-v5, gymnasium:PointMaze_UMaze-v3)",
    )
    c.add_argument(
        "--policy",
        default="random",
        help="random (held random exploration), noisy-expert (worlds with a "
        "scripted expert: push), near-block (push worlds: random pokes at the block, which turn it), "
        "pose-expert (push worlds: turns the block to the target's angle, then pushes it to its place) "
        "or a .npy file of actions "
        "(episodes, steps, action_dim) in [-1, 1] to replay",
    )
    c.add_argument(
        "--image-size", type=int, default=64, help="frame size for gymnasium envs (built-in worlds have their own)"
    )
    c.add_argument(
        "--depth-size",
        type=int,
        default=0,
        help="also store MuJoCo depth maps of this size (e.g. 16) for model.senses=depth",
    )
    c.add_argument(
        "--variety",
        choices=list(CHOICES["data.variety"]),
        default="none",
        help="bounce: wide draws and films every clip another way (worlds/bounce_style.py); picture "
        "does so at bounce's own pace and gravity; wide-rate is wide with each clip's frame interval "
        "given to the model as its action",
    )
    c.add_argument("--episodes", type=int, default=1000, help="number of episodes (an existing store is completed)")
    c.add_argument("--steps", type=int, default=64, help="environment steps per episode")
    c.add_argument("--seed", type=int, default=0, help="episode i uses seed + i")
    c.add_argument("--out", required=True, help="folder of the episode store")
    c.add_argument("--quiet", action="store_true", help="no progress bar")


def _import(c: argparse.ArgumentParser) -> None:
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--videos", help="folder of videos; beside clip.mp4 its actions clip.npy|csv [and clip.state.npy|csv]"
    )
    src.add_argument("--lerobot", help="a LeRobot v2.x or v3.0 dataset folder (meta/info.json, data/, videos/)")
    src.add_argument("--store", help="an episode store of an older schema version, rewritten in the current one")
    c.add_argument("--out", required=True, help="folder of the episode store (an existing one is completed)")
    c.add_argument("--fps", type=float, default=None, help="videos: sample frames at this rate (default: every frame)")
    c.add_argument("--image-size", type=int, default=64, help="side of the square frames stored")
    c.add_argument("--camera", help="lerobot: which video feature (default: the first)")
    c.add_argument(
        "--passive",
        action="store_true",
        help="videos: no actions files; one zero action per step (a passive world, as bounce)",
    )
    c.add_argument("--quiet", action="store_true", help="no progress bar")


def _inspect(c: argparse.ArgumentParser) -> None:
    c.add_argument("data", help="episode store folder")
    c.add_argument("--sheet", help="contact sheet PNG (default DATA/contact_sheet.png)")
    c.add_argument("--json", help="also write the summary as JSON here")
    c.add_argument("--limit", type=int, help="read only the first N episodes")
    c.add_argument(
        "--add-checksums",
        action="store_true",
        help="record checksums for a store written before episodes carried them (each episode is read "
        "and checked first)",
    )


def _train(c: argparse.ArgumentParser) -> None:
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="episode store made by `jepalab collect`")
    src.add_argument("--world", help="collect from this built-in world first (into OUT/data)")
    config_options(c)
    c.add_argument("--out", required=True, help="run folder for config, checkpoints and metrics")
    c.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")


def _plan(c: argparse.ArgumentParser) -> None:
    c.add_argument("--checkpoint", required=True, help="run folder or checkpoint folder")
    c.add_argument("--episodes", type=int, help="evaluation episodes (default: the checkpoint's plan.episodes)")
    c.add_argument(
        "--planner", choices=list(CHOICES["plan.planner"]), help="planner (default: the checkpoint's plan.planner)"
    )
    c.add_argument("--seed", type=int, help="first evaluation seed (default: the checkpoint's plan.seed)")
    c.add_argument(
        "--goal",
        choices=["image", "state"],
        default="image",
        help="give the planner each goal as an image (default) or as a state, read through a linear "
        "state probe (RUN/state_probe.safetensors; fit on the run's episodes when missing or stale)",
    )
    c.add_argument(
        "--state-columns",
        help="goal by state: the proprio columns it sets, e.g. 2,3,4,5 (default: "
        "the world's goal columns, e.g. push: the block's pose)",
    )
    c.add_argument("--data", help="goal by state: an episode store to fit the probe on (default: RUN/data)")
    c.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a plan.* setting, e.g. plan.samples=256 (repeatable)",
    )
    c.add_argument("--no-baselines", action="store_true", help="skip the random and untrained baselines")
    c.add_argument("--out", help="folder for eval.json and plots (default: CHECKPOINT/plan)")
    c.add_argument("--quiet", action="store_true", help="no progress bars")


def _pretrain(c: argparse.ArgumentParser) -> None:
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--world", help="built-in passive world to generate clips from (bounce)")
    src.add_argument("--videos", nargs="+", help="video files or folders (mp4, avi, mkv, webm, ...)")
    src.add_argument("--data", help="an episode store to cut clips from (e.g. push-t's collected episodes)")
    config_options(c, default_preset="video-small")
    c.add_argument("--out", required=True, help="run folder for config, checkpoints and metrics")
    c.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")


def _probe(c: argparse.ArgumentParser) -> None:
    c.add_argument("--checkpoint", required=True, help="run folder or checkpoint of `jepalab pretrain`")
    c.add_argument("--world", default="bounce", choices=["bounce"], help="world whose held-out clips are probed")
    c.add_argument(
        "--clips", type=int, default=256, help="training clips per probe task (a quarter as many test clips)"
    )
    c.add_argument("--steps", type=int, default=400, help="optimizer steps of each attentive probe")
    c.add_argument(
        "--seed", type=int, default=10_000, help="first clip seed (pretraining streams start at source.seed)"
    )
    c.add_argument("--out", help="where probe.json goes (default: CHECKPOINT/probe.json)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")


def _surprise(c: argparse.ArgumentParser) -> None:
    what = c.add_mutually_exclusive_group(required=True)
    what.add_argument("--checkpoint", help="run folder or checkpoint (video-pretrained or action-conditioned)")
    what.add_argument(
        "--model",
        metavar="hf:REPO_OR_FOLDER",
        help="a transformers V-JEPA 2 (encoder and predictor; e.g. hf:facebook/vjepa2-vitl-fpc64-256 or a "
        "saved folder), scored with --scoring windows; --context counts frames here (default 4)",
    )
    c.add_argument("videos", nargs="+", help="video files")
    surprise_window(c)
    c.add_argument("--fps", type=float, help="resample the videos to this frame rate (default: every frame)")
    c.add_argument("--json", help='write {"videos": [{path, frames, surprise, peak_frame, peak}]} here')
    c.add_argument(
        "--normalise",
        choices=["none", "running"],
        default="none",
        help="running: each frame in units of the video's own earlier surprise (a new camera or "
        "domain raises every frame's error; a discontinuity still stands out)",
    )
    c.add_argument("--plots", default="surprise", help="folder for one PNG per video (default: ./surprise)")


def _physics(c: argparse.ArgumentParser) -> None:
    what = c.add_mutually_exclusive_group(required=True)
    what.add_argument("--checkpoint", help="run folder or checkpoint to score")
    what.add_argument("--make-suite", metavar="DIR", help="write the suite as video files + index.json, and stop")
    c.add_argument("--suite", help="score this suite folder (from --make-suite) instead of generating one")
    c.add_argument("--pairs", type=int, default=100, help="pairs per category (generated suites)")
    c.add_argument("--seed", type=int, default=50_000, help="first scene seed (pretraining streams start at 0)")
    c.add_argument("--pixel-steps", type=int, default=400, help="training steps of the pixel-space baseline")
    c.add_argument(
        "--suite-style",
        choices=["bounce", "alt"],
        default="bounce",
        help="bounce: the project's suite, drawn by bounce's renderer; alt: the same five kinds of "
        "events drawn another way (evals/alt_suite.py), never trained or tuned on",
    )
    c.add_argument(
        "--normalise",
        choices=["none", "running"],
        default="none",
        help="running: each frame's surprise in units of its video's own earlier surprise",
    )
    surprise_window(c)
    c.add_argument("--out", help="folder for physics.json and the plot (default: CHECKPOINT/physics)")
    c.add_argument("--quiet", action="store_true", help="no progress bars")


def _serve(c: argparse.ArgumentParser) -> None:
    c.add_argument("--checkpoint", required=True, help="run folder or checkpoint of an action-conditioned model")
    c.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    c.add_argument("--port", type=int, default=8000, help="port (0: any free one; the URL is printed)")
    c.add_argument("--token", help="require 'Authorization: Bearer TOKEN' (default: $JEPALAB_TOKEN if set)")
    c.add_argument("--goals", help="folder of goal images, addressed by file stem as goal_id")
    c.add_argument(
        "--state-probe",
        help="a state probe (RUN/state_probe.safetensors, from `jepalab plan --goal "
        "state`): requests may then give goal_state, numbers",
    )
    c.add_argument("--max-batch", type=int, default=32, help="plan requests batched into one planner call (1: off)")
    c.add_argument("--batch-wait-ms", type=float, default=5.0, help="how long a request waits for others to batch with")
    c.add_argument("--queue-size", type=int, default=64, help="requests waiting for the model before 503")
    c.add_argument("--max-body", type=int, default=8 << 20, help="largest request body in bytes (413 beyond)")
    c.add_argument("--max-frames", type=int, default=300, help="most frames in one /surprise request (413 beyond)")
    c.add_argument(
        "--max-connections", type=int, default=64, help="connections served at once; more are answered 503 and closed"
    )
    c.add_argument(
        "--read-timeout",
        type=float,
        default=30.0,
        help="seconds for a request's headers and body to arrive, in total (408 beyond)",
    )
    c.add_argument(
        "--drain-timeout",
        type=float,
        default=10.0,
        help="on SIGTERM, seconds to let requests in flight finish before exiting anyway",
    )
    c.add_argument("--verbose", action="store_true", help="log every request")


def _export(c: argparse.ArgumentParser) -> None:
    c.add_argument("--checkpoint", required=True, help="run folder or checkpoint of an action-conditioned model")
    c.add_argument("--format", required=True, choices=["hub", "torch-export", "onnx"], help="what to write")
    c.add_argument("--out", required=True, help="folder to write into")
    c.add_argument("--results", help="hub: a `jepalab bench` folder of this checkpoint, for the model card's figures")


def _export_data(c: argparse.ArgumentParser) -> None:
    c.add_argument("--store", required=True, help="an episode store (jepalab collect / import)")
    c.add_argument("--lerobot", required=True, help="folder of the LeRobot dataset to write (new)")
    c.add_argument(
        "--fps",
        type=float,
        help="frame rate recorded in the dataset and its videos (default: the store's own, 10 for the built-in worlds)",
    )
    c.add_argument(
        "--video-codec",
        default="libx264",
        choices=["libx264", "libx264rgb", "ffv1"],
        help="libx264: small, lossy; libx264rgb with --crf 0 or ffv1: every pixel exact",
    )
    c.add_argument("--crf", type=int, help="x264 quality, 0-51 (0: lossless with libx264rgb)")


def _config(c: argparse.ArgumentParser) -> None:
    c.add_argument("--preset", default="two-room", help="preset to print")


# command -> (its one-line help, the builder of its options), in the order `jepalab --help` lists them
COMMAND_PARSERS = {
    "demo": ("Collect two-room data, train a world model, plan with it, and compare with baselines.", _demo),
    "collect": ("Roll out an exploration policy in a world and store the episodes.", _collect),
    "import": (
        "Turn your own recordings (videos + actions files, or a LeRobot dataset) into an episode store.",
        _import,
    ),
    "inspect": ("Summarise an episode store and write a contact sheet of its frames.", _inspect),
    "train": ("Train an action-conditioned JEPA world model on stored episodes (or on a world directly).", _train),
    "plan": ("Evaluate goal reaching by MPC with a trained model, beside random and untrained baselines.", _plan),
    "pretrain": ("Self-supervised V-JEPA pretraining on clips of a built-in world or on your video files.", _pretrain),
    "probe": (
        "Read object position, velocity and count from a video encoder's frozen features, beside an untrained "
        "encoder and raw pixels.",
        _probe,
    ),
    "surprise": (
        "Per-frame surprise (latent prediction error) of a trained model on video files, with its peak and a plot.",
        _surprise,
    ),
    "physics": (
        "Violation-of-expectation suite on bounce: is the model more surprised by the impossible twin of each "
        "pair? Beside an untrained model and a pixel-space predictor.",
        _physics,
    ),
    "bench": (
        "One checkpoint on every suite that applies (control, physics, probe) with baselines, over several "
        "seeds: results.json, manifest.json, report.md/html.",
        _bench,
    ),
    "serve": ("Serve a world model over HTTP: POST /plan, POST /surprise, GET /health, GET /info.", _serve),
    "export": (
        "Write a trained world model as a Hub folder (config.json, model.safetensors, model card) or as "
        "torch.export / ONNX programs of its encoder and predictor.",
        _export,
    ),
    "export-data": (
        "Write an episode store as a LeRobot v3.0 dataset (parquet + mp4 + episode metadata).",
        _export_data,
    ),
    "config": ("Print every setting of a preset with its value and a one-line description.", _config),
}
