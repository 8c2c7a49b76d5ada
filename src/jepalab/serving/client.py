"""A small client for `jepalab serve`: the standard library, numpy and Pillow; never torch (a
robot-side process should not need it).

    from jepalab.serving.client import Client
    c = Client("http://127.0.0.1:8000", token=None)
    plan = c.plan(obs_pixels, goal=goal_pixels)      # (H, W, 3) uint8 arrays
    plan["actions"]                                   # horizon x action_dim, execute the first
    c.surprise(frames)["surprise"]                    # per frame, None where no prediction is made
"""

from __future__ import annotations

import base64
import io
import json
import urllib.error
import urllib.request

import numpy as np


def encode_image(img: np.ndarray) -> str:
    """(H, W, 3) uint8 -> base64 PNG, the image format `jepalab serve` reads."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(img, np.uint8)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


class ServerError(RuntimeError):
    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.message = status, message


class Client:
    def __init__(self, url: str = "http://127.0.0.1:8000", token: str | None = None, timeout: float = 60.0):
        self.url, self.token, self.timeout = url.rstrip("/"), token, timeout

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body, allow_nan=False).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            try:
                message = json.loads(e.read()).get("error", e.reason)
            except (json.JSONDecodeError, AttributeError):
                message = e.reason
            raise ServerError(e.code, message) from None

    def health(self) -> dict:
        return self._call("GET", "/health")

    def info(self) -> dict:
        return self._call("GET", "/info")

    def plan(
        self, observation: np.ndarray, goal: np.ndarray | None = None, goal_id: str | None = None, goal_state=None
    ) -> dict:
        """The goal as an image, the name of one of the server's goal images, or numbers (a state the
        server's state probe reads)."""
        body = {"observation": encode_image(observation)}
        if goal_state is not None:
            body["goal_state"] = [float(v) for v in np.ravel(goal_state)]
        elif goal_id is not None:
            body["goal_id"] = goal_id
        else:
            body["goal"] = encode_image(goal)
        return self._call("POST", "/plan", body)

    def surprise(self, frames, horizon: int = 1) -> dict:
        return self._call("POST", "/surprise", {"frames": [encode_image(f) for f in frames], "horizon": horizon})
