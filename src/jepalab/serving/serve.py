"""`jepalab serve`: a trained world model as an HTTP planning service a robot can call.

    jepalab serve --checkpoint runs/demo                    # http://127.0.0.1:8000, localhost only
    curl localhost:8000/health

    POST /plan      {"observation": IMAGE, "goal": IMAGE | "goal_id": "name" | "goal_state": [numbers]}
                    -> {"actions": [[...] x horizon], "cost", "horizon", "action_dim", "frameskip", "batch"}
    POST /surprise  {"frames": [IMAGE, ...], "horizon": 1} -> {"surprise": [...], "peak_frame", "peak"}
    GET  /health    -> {"status": "ok", "queued"}
    GET  /info      -> model config, checkpoint sha256 and step, planner, limits

IMAGE is a base64 PNG or JPEG, or {"shape": [H, W, 3], "data": base64 of raw uint8}, the size the
model takes. `goal_id` names an image of `--goals DIR` (file stem). `goal_state` gives the goal as
numbers (e.g. a block's pose), read through the state probe of `--state-probe FILE` (written by
`jepalab plan --goal state` as RUN/state_probe.safetensors); /info lists its columns.

The standard library's threading HTTP/1.1 server takes the requests; one worker thread owns the
model. Plan requests that arrive together (within `--batch-wait-ms` of the first, up to
`--max-batch`) go to the planner as one batch: one CEM/MPPI call plans for all of them. The queue
in front of the worker is bounded: when it is full the answer is 503 at once, not a growing
backlog. Bodies over `--max-body` bytes and /surprise requests over `--max-frames` frames get 413;
malformed requests get 4xx with a message; with `--token` (or JEPALAB_TOKEN) every route but /health
needs `Authorization: Bearer TOKEN`. SIGTERM stops accepting connections, finishes the requests in
flight (for at most `--drain-timeout` seconds), then exits 0. What a hostile client cannot do is
listed in serving/http.py.
"""

from __future__ import annotations

import base64
import binascii
import io
import queue
import signal
import threading
import time
import warnings
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .client import encode_image  # noqa: F401  (re-exported: the image format the server reads)
from .http import PlanningServer, RequestError

__all__ = ["PlanningServer", "PlanningService", "RequestError", "ServeOptions", "decode_image", "encode_image", "serve"]


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    max_batch: int = 32  # plan requests per planner call (1: no batching)
    batch_wait_ms: float = 5.0  # how long the first request of a batch waits for company
    queue_size: int = 64  # requests waiting for the model; beyond it: 503
    max_body: int = 8 << 20  # bytes
    request_timeout_s: float = 60.0  # a request not answered by then gets 504
    idle_timeout_s: float = 5.0  # keep-alive connections idle this long are closed
    read_timeout_s: float = 30.0  # a request's line, headers and body must arrive within this, in total
    max_connections: int = 64  # connections with a handler thread; beyond it: 503 and close
    max_frames: int = 300  # frames per /surprise request (413 beyond)
    drain_timeout_s: float = 10.0  # SIGTERM waits this long for requests in flight, then exits anyway


def decode_image(value, size: int, field: str) -> np.ndarray:
    """An IMAGE (see the module doc) -> (size, size, 3) uint8, or a RequestError naming the field.
    The size is checked before any pixel is decoded: a small PNG can declare 13000x13000 pixels."""
    if isinstance(value, dict):
        shape = value.get("shape")
        if not (isinstance(shape, list) and len(shape) == 3 and all(type(v) is int for v in shape)):
            raise RequestError(400, f"{field}: a raw image needs 'shape': [H, W, 3] (integers) and 'data'")
        if tuple(shape) != (size, size, 3):
            raise RequestError(422, f"{field}: image shape {shape}, the model takes [{size}, {size}, 3]")
        if not isinstance(value.get("data"), str):
            raise RequestError(400, f"{field}: a raw image needs 'data', base64 of {size * size * 3} bytes")
        try:
            raw = base64.b64decode(value["data"], validate=True)
        except (binascii.Error, ValueError) as e:
            raise RequestError(400, f"{field}: bad raw image ({e})") from None
        if len(raw) != size * size * 3:
            raise RequestError(400, f"{field}: shape {shape} needs {size * size * 3} bytes, got {len(raw)}")
        return np.frombuffer(raw, np.uint8).reshape(size, size, 3).copy()
    if not isinstance(value, str):
        raise RequestError(400, f"{field}: expected a base64 string or {{'shape', 'data'}}, got {type(value).__name__}")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise RequestError(400, f"{field}: not valid base64 ({e})") from None
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, no need to warn
            im = Image.open(io.BytesIO(raw), formats=["PNG", "JPEG"])  # reads the header only
        with im:
            if im.size != (size, size):
                raise RequestError(422, f"{field}: image is {im.size[0]}x{im.size[1]}, the model takes {size}x{size}")
            img = np.asarray(im.convert("RGB"))
    except RequestError:
        raise
    except Image.DecompressionBombError as e:
        raise RequestError(422, f"{field}: {e}") from None
    except UnidentifiedImageError:
        raise RequestError(400, f"{field}: not a PNG or JPEG image") from None
    except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError... for broken files
        raise RequestError(400, f"{field}: not a PNG or JPEG image that decodes ({type(e).__name__}: {e})") from None
    return np.ascontiguousarray(img)


class PlanningService:
    """The model, its planner and the worker thread that batches requests for them."""

    def __init__(self, checkpoint, options: ServeOptions, goals: str | None = None, state_probe: str | None = None):
        from ..bench.manifest import checkpoint_fingerprint
        from ..planning import make_planner
        from ..training.checkpoint import load_model

        self.options = options
        self.model, self.cfg, meta = load_model(checkpoint)
        if self.cfg.model.sense_list:
            raise ValueError(
                f"{checkpoint}: the model fuses {self.cfg.model.senses} beside the frames; "
                "`jepalab serve` takes frame-only models"
            )
        self.size = self.cfg.model.image_size
        self.action_dim = self.cfg.model.action_dim
        self.planner = make_planner(self.cfg.plan, self.action_dim, seed=self.cfg.plan.seed)
        fingerprint = checkpoint_fingerprint(checkpoint)
        self.info = {
            "checkpoint": {"path": fingerprint["path"], "sha256": fingerprint["sha256"], "step": meta.get("step")},
            "model": asdict(self.cfg.model),
            "plan": asdict(self.cfg.plan),
            "world": self.cfg.data.world,
            "limits": {k: v for k, v in asdict(options).items() if k != "token"},
        }
        self.goals = {}
        if goals:
            from PIL import Image

            for p in sorted(Path(goals).glob("*")):
                if p.suffix.lower() in (".png", ".jpg", ".jpeg"):
                    img = np.asarray(Image.open(p).convert("RGB"))
                    if img.shape != (self.size, self.size, 3):
                        raise ValueError(
                            f"{p}: goal image is {img.shape[1]}x{img.shape[0]}, the model takes {self.size}x{self.size}"
                        )
                    self.goals[p.stem] = img
            if not self.goals:
                raise ValueError(f"{goals}: no PNG or JPEG goal images")
        self.info["goal_ids"] = sorted(self.goals)
        self.state_probe = None
        if state_probe:
            from ..evals.probe import StateProbe

            self.state_probe = StateProbe.load(state_probe, self.cfg.model.latent_dim)
            if self.state_probe.step != meta.get("step"):
                raise ValueError(
                    f"{state_probe}: the probe reads the latent of step {self.state_probe.step}, the "
                    f"checkpoint is step {meta.get('step')}; fit it again (jepalab plan --goal state)"
                )
        self.info["goal_state"] = (
            None
            if self.state_probe is None
            else {"columns": self.state_probe.columns, "held_out_r2": self.state_probe.r2}
        )
        self.queue: queue.Queue = queue.Queue(maxsize=options.queue_size)
        self.stopping = threading.Event()
        self.worker = threading.Thread(target=self._work, name="jepalab-model", daemon=True)
        self.worker.start()

    # -- requests -> futures ---------------------------------------------------------
    def submit(self, kind: str, payload) -> dict:
        if self.stopping.is_set():
            raise RequestError(503, "shutting down")
        future: Future = Future()
        try:
            self.queue.put_nowait((kind, payload, future))
        except queue.Full:
            raise RequestError(503, f"busy: {self.options.queue_size} requests already waiting; retry later") from None
        try:
            return future.result(timeout=self.options.request_timeout_s)
        except TimeoutError:
            raise RequestError(504, f"not answered within {self.options.request_timeout_s} s") from None

    def plan_request(self, body: dict) -> dict:
        obs = decode_image(_field(body, "observation"), self.size, "observation")
        if "goal_state" in body:
            return self.submit("plan", (obs, self._goal_state(body["goal_state"])))
        if "goal_id" in body:
            if not isinstance(body["goal_id"], str):
                raise RequestError(
                    400, f"goal_id: the name of a goal image (a string), got {type(body['goal_id']).__name__}"
                )
            if body["goal_id"] not in self.goals:
                raise RequestError(
                    404, f"goal_id {body['goal_id']!r} unknown; known: {sorted(self.goals) or 'none (--goals DIR)'}"
                )
            goal = self.goals[body["goal_id"]]
        else:
            goal = decode_image(_field(body, "goal", "or 'goal_id' or 'goal_state'"), self.size, "goal")
        return self.submit("plan", (obs, goal))

    def _goal_state(self, value):
        if self.state_probe is None:
            raise RequestError(400, "goal_state: this server has no state probe (start it with --state-probe FILE)")
        n = len(self.state_probe.columns)
        try:
            target = np.asarray(value, np.float64)
        except (TypeError, ValueError):
            target = None
        if target is None or target.shape != (n,) or not np.isfinite(target).all():
            raise RequestError(
                400,
                f"goal_state: a list of {n} finite numbers (proprio columns "
                f"{self.state_probe.columns}), got {str(value)[:80]}",
            )
        return StateTarget(target)

    def surprise_request(self, body: dict) -> dict:
        frames = _field(body, "frames")
        if not isinstance(frames, list) or len(frames) < 2:
            raise RequestError(400, "frames: a list of at least 2 images")
        if len(frames) > self.options.max_frames:
            raise RequestError(
                413,
                f"frames: {len(frames)} frames, this server takes at most {self.options.max_frames} "
                "per request (--max-frames); send the video in windows",
            )
        horizon = body.get("horizon", 1)
        if type(horizon) is not int or horizon < 1:
            raise RequestError(400, "horizon: a positive integer")
        if horizon >= len(frames):
            raise RequestError(422, f"horizon {horizon} needs more than {horizon} frames, got {len(frames)}")
        video = np.stack([decode_image(f, self.size, f"frames[{i}]") for i, f in enumerate(frames)])
        return self.submit("surprise", (video, horizon))

    # -- the worker --------------------------------------------------------------------
    def _work(self) -> None:
        torch.set_grad_enabled(False)
        while not (self.stopping.is_set() and self.queue.empty()):
            try:
                first = self.queue.get(timeout=0.05)
            except queue.Empty:
                continue
            batch = [first]
            deadline = time.perf_counter() + self.options.batch_wait_ms / 1000
            while len(batch) < self.options.max_batch:
                try:
                    batch.append(self.queue.get(timeout=max(0.0, deadline - time.perf_counter())))
                except queue.Empty:
                    break
            plans = [b for b in batch if b[0] == "plan"]
            for same_kind in (
                [b for b in plans if not isinstance(b[1][1], StateTarget)],
                [b for b in plans if isinstance(b[1][1], StateTarget)],
            ):
                if same_kind:  # one planner call per kind of goal: latents, or states through the probe
                    self._settle(same_kind, self._plan)
            for item in (b for b in batch if b[0] == "surprise"):
                self._settle([item], self._surprise)

    @staticmethod
    def _settle(items, fn) -> None:
        try:
            for (_, _, future), result in zip(items, fn([p for _, p, _ in items])):
                future.set_result(result)
        except Exception as e:  # a failure answers these requests with 500; the worker lives on
            for _, _, future in items:
                if not future.done():
                    future.set_exception(e)

    def _plan(self, payloads) -> list[dict]:
        obs = torch.from_numpy(np.stack([p[0] for p in payloads]))
        z = self.model.encode(obs)
        if isinstance(payloads[0][1], StateTarget):
            z_goal = self.state_probe.goal(np.stack([p[1].values for p in payloads]))
        else:
            z_goal = self.model.encode(torch.from_numpy(np.stack([p[1] for p in payloads])))
        plan = self.planner.plan(
            self.model, z[:, None], torch.zeros(len(payloads), 0, self.model.model_action_dim), z_goal
        )
        if not (torch.isfinite(plan.cost).all() and torch.isfinite(plan.actions).all()):
            raise RuntimeError("the model produced non-finite plan costs or actions for this observation and goal")
        return [
            {
                "actions": plan.actions[i].tolist(),
                "cost": float(plan.cost[i]),
                "horizon": plan.actions.shape[1],
                "action_dim": self.action_dim,
                "frameskip": self.cfg.model.frameskip,
                "batch": len(payloads),
            }
            for i in range(len(payloads))
        ]

    def _surprise(self, payloads) -> list[dict]:
        from ..evals.surprise import summarize, world_model_curve

        video, horizon = payloads[0]
        row = summarize(world_model_curve(self.model, video, horizon=horizon, name="request"))
        return [row]  # non-finite values (no prediction for the first frames) are sent as null

    def close(self) -> None:
        self.stopping.set()
        self.worker.join(timeout=self.options.drain_timeout_s)


@dataclass
class StateTarget:
    """A plan request's goal given as numbers (to be read through the state probe)."""

    values: np.ndarray


def _field(body: dict, name: str, alternative: str = ""):
    if name not in body:
        raise RequestError(400, f"missing field {name!r}" + (f" {alternative}" if alternative else ""))
    return body[name]


def serve(
    checkpoint, options: ServeOptions, goals: str | None = None, verbose: bool = False, state_probe: str | None = None
) -> None:
    """Run until SIGTERM or Ctrl-C; both finish the requests in flight (up to the drain deadline)."""
    service = PlanningService(checkpoint, options, goals, state_probe)
    try:
        server = PlanningServer(service, verbose)
    except OSError as e:  # a busy port, an address this machine does not have
        service.close()
        raise ValueError(f"cannot listen on {options.host}:{options.port}: {e.strerror or e}") from None
    stop = lambda *_: threading.Thread(target=server.stop, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    where = "" if options.host in ("127.0.0.1", "localhost", "::1") else " (reachable from other machines)"
    print(
        f"serving {service.info['checkpoint']['path']} on {server.url}{where}; "
        f"token {'required' if options.token else 'off'}",
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        server.draining = True
    finally:
        left = server.server_close()  # waits for the handler threads, up to the drain deadline
        service.close()
    print(
        "stopped"
        + (f" ({left} connections still open after {options.drain_timeout_s} s were dropped)" if left else ""),
        flush=True,
    )
