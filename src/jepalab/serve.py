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
backlog. Bodies over `--max-body` bytes get 413; malformed requests get 4xx with a message; with
`--token` (or JEPALAB_TOKEN) every route but /health needs `Authorization: Bearer TOKEN`. SIGTERM
stops accepting connections, finishes the requests in flight, then exits.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import io
import json
import queue
import signal
import threading
import time
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import torch


class RequestError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


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


def decode_image(value, size: int, field: str) -> np.ndarray:
    """An IMAGE (see the module doc) -> (size, size, 3) uint8, or a RequestError naming the field."""
    if isinstance(value, dict):
        try:
            shape = tuple(int(v) for v in value["shape"])
            raw = base64.b64decode(value["data"], validate=True)
        except KeyError as e:
            raise RequestError(400, f"{field}: a raw image needs 'shape' and 'data', missing {e}") from None
        except (binascii.Error, TypeError, ValueError) as e:
            raise RequestError(400, f"{field}: bad raw image ({e})") from None
        if len(shape) != 3 or shape[2] != 3 or len(raw) != int(np.prod(shape)):
            raise RequestError(400, f"{field}: shape {list(shape)} needs (H, W, 3) and {int(np.prod(shape))} bytes, "
                                    f"got {len(raw)}")
        img = np.frombuffer(raw, np.uint8).reshape(shape)
    elif isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as e:
            raise RequestError(400, f"{field}: not valid base64 ({e})") from None
        from PIL import Image, UnidentifiedImageError
        try:
            img = np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"))
        except (UnidentifiedImageError, OSError) as e:
            raise RequestError(400, f"{field}: not a PNG or JPEG image ({e})") from None
    else:
        raise RequestError(400, f"{field}: expected a base64 string or {{'shape', 'data'}}, got {type(value).__name__}")
    if img.shape != (size, size, 3):
        raise RequestError(422, f"{field}: image is {img.shape[1]}x{img.shape[0]}, the model takes {size}x{size}")
    return np.ascontiguousarray(img)


def encode_image(img: np.ndarray) -> str:
    """(H, W, 3) uint8 -> base64 PNG (what the client sends)."""
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.asarray(img, np.uint8)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


class PlanningService:
    """The model, its planner and the worker thread that batches requests for them."""

    def __init__(self, checkpoint, options: ServeOptions, goals: str | None = None, state_probe: str | None = None):
        from .bench.manifest import checkpoint_fingerprint
        from .checkpoint import load_model
        from .planning import make_planner
        self.options = options
        self.model, self.cfg, meta = load_model(checkpoint)
        if self.cfg.model.sense_list:
            raise ValueError(f"{checkpoint}: the model fuses {self.cfg.model.senses} beside the frames; "
                             "`jepalab serve` takes frame-only models")
        self.size = self.cfg.model.image_size
        self.action_dim = self.cfg.model.action_dim
        self.planner = make_planner(self.cfg.plan, self.action_dim, seed=self.cfg.plan.seed)
        fingerprint = checkpoint_fingerprint(checkpoint)
        self.info = {"checkpoint": {"path": fingerprint["path"], "sha256": fingerprint["sha256"], "step": meta.get("step")},
                     "model": asdict(self.cfg.model), "plan": asdict(self.cfg.plan), "world": self.cfg.data.world,
                     "limits": {k: v for k, v in asdict(options).items() if k != "token"}}
        self.goals = {}
        if goals:
            from PIL import Image
            for p in sorted(Path(goals).glob("*")):
                if p.suffix.lower() in (".png", ".jpg", ".jpeg"):
                    img = np.asarray(Image.open(p).convert("RGB"))
                    if img.shape != (self.size, self.size, 3):
                        raise ValueError(f"{p}: goal image is {img.shape[1]}x{img.shape[0]}, the model takes "
                                         f"{self.size}x{self.size}")
                    self.goals[p.stem] = img
            if not self.goals:
                raise ValueError(f"{goals}: no PNG or JPEG goal images")
        self.info["goal_ids"] = sorted(self.goals)
        self.state_probe = None
        if state_probe:
            from .evals.probe import StateProbe
            self.state_probe = StateProbe.load(state_probe, self.cfg.model.latent_dim)
            if self.state_probe.step != meta.get("step"):
                raise ValueError(f"{state_probe}: the probe reads the latent of step {self.state_probe.step}, the "
                                 f"checkpoint is step {meta.get('step')}; fit it again (jepalab plan --goal state)")
        self.info["goal_state"] = None if self.state_probe is None else {
            "columns": self.state_probe.columns, "held_out_r2": self.state_probe.r2}
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
            if body["goal_id"] not in self.goals:
                raise RequestError(404, f"goal_id {body['goal_id']!r} unknown; known: {sorted(self.goals) or 'none (--goals DIR)'}")
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
            raise RequestError(400, f"goal_state: a list of {n} finite numbers (proprio columns "
                                    f"{self.state_probe.columns}), got {str(value)[:80]}")
        return StateTarget(target)

    def surprise_request(self, body: dict) -> dict:
        frames = _field(body, "frames")
        if not isinstance(frames, list) or len(frames) < 2:
            raise RequestError(400, "frames: a list of at least 2 images")
        horizon = body.get("horizon", 1)
        if not isinstance(horizon, int) or horizon < 1:
            raise RequestError(400, "horizon: a positive integer")
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
            for same_kind in ([b for b in plans if not isinstance(b[1][1], StateTarget)],
                              [b for b in plans if isinstance(b[1][1], StateTarget)]):
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
        plan = self.planner.plan(self.model, z[:, None], torch.zeros(len(payloads), 0, self.model.model_action_dim), z_goal)
        return [{"actions": plan.actions[i].tolist(), "cost": float(plan.cost[i]), "horizon": plan.actions.shape[1],
                 "action_dim": self.action_dim, "frameskip": self.cfg.model.frameskip, "batch": len(payloads)}
                for i in range(len(payloads))]

    def _surprise(self, payloads) -> list[dict]:
        from .evals.surprise import summarize, world_model_curve
        video, horizon = payloads[0]
        row = summarize(world_model_curve(self.model, video, horizon=horizon, name="request"))
        row["surprise"] = [None if not np.isfinite(v) else v for v in row["surprise"]]  # JSON has no NaN
        return [row]

    def close(self) -> None:
        self.stopping.set()
        self.worker.join(timeout=self.options.request_timeout_s)


@dataclass
class StateTarget:
    """A plan request's goal given as numbers (to be read through the state probe)."""
    values: np.ndarray


def _field(body: dict, name: str, alternative: str = ""):
    if name not in body:
        raise RequestError(400, f"missing field {name!r}" + (f" {alternative}" if alternative else ""))
    return body[name]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "PlanningServer"

    def setup(self) -> None:
        self.timeout = self.server.service.options.idle_timeout_s  # also bounds a slow client's body
        super().setup()

    def log_message(self, fmt, *args) -> None:  # quiet by default: a robot calls many times a second
        if self.server.verbose:
            super().log_message(fmt, *args)

    def _send(self, status: int, doc: dict) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.server.draining:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        token = self.server.service.options.token
        if not token:
            return True
        got = self.headers.get("Authorization", "")
        return hmac.compare_digest(got.encode(), f"Bearer {token}".encode())

    def _route(self, method: str) -> None:
        service = self.server.service
        try:
            path = self.path.split("?", 1)[0]
            routes = {("GET", "/health"), ("GET", "/info"), ("POST", "/plan"), ("POST", "/surprise")}
            if (method, path) not in routes:
                known = {p for _, p in routes}
                raise RequestError(405 if path in known else 404,
                                   f"{method} {path}: " + ("wrong method" if path in known else "no such route") +
                                   "; routes: GET /health, GET /info, POST /plan, POST /surprise")
            if path != "/health" and not self._authorised():
                raise RequestError(401, "missing or wrong bearer token (Authorization: Bearer TOKEN)")
            if method == "GET":
                doc = {"status": "ok", "queued": service.queue.qsize()} if path == "/health" else service.info
                return self._send(200, doc)
            body = self._json_body()
            doc = service.plan_request(body) if path == "/plan" else service.surprise_request(body)
            self._send(200, doc)
        except RequestError as e:
            self._send(e.status, {"error": e.message})
        except Exception as e:  # never let one request take the server down
            self._send(500, {"error": f"{type(e).__name__}: {e}"})

    def _json_body(self) -> dict:
        length = self.headers.get("Content-Length")
        if length is None:
            raise RequestError(411, "Content-Length required")
        try:
            n = int(length)
        except ValueError:
            raise RequestError(400, f"bad Content-Length {length!r}") from None
        if n > self.server.service.options.max_body:
            self.close_connection = True  # the unread body would be taken for the next request
            raise RequestError(413, f"body of {n} bytes exceeds the limit of {self.server.service.options.max_body}")
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RequestError(400, f"body is not JSON ({e})") from None
        if not isinstance(body, dict):
            raise RequestError(400, "body must be a JSON object")
        return body

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")


class PlanningServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for the handlers: requests in flight finish
    block_on_close = True

    def __init__(self, service: PlanningService, verbose: bool = False):
        self.service, self.verbose, self.draining = service, verbose, False
        super().__init__((service.options.host, service.options.port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        """Stop accepting, let the requests in flight finish, then stop the worker."""
        self.draining = True
        self.shutdown()


def serve(checkpoint, options: ServeOptions, goals: str | None = None, verbose: bool = False,
          state_probe: str | None = None) -> None:
    """Run until SIGTERM or Ctrl-C; both finish the requests in flight."""
    service = PlanningService(checkpoint, options, goals, state_probe)
    server = PlanningServer(service, verbose)
    stop = lambda *_: threading.Thread(target=server.stop, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    where = "" if options.host in ("127.0.0.1", "localhost", "::1") else " (reachable from other machines)"
    print(f"serving {service.info['checkpoint']['path']} on {server.url}{where}; "
          f"token {'required' if options.token else 'off'}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        server.draining = True
    finally:
        server.server_close()  # joins the handler threads
        service.close()
    print("stopped", flush=True)
