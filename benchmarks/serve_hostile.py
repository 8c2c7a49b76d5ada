"""Benchmark: `jepalab serve` under the attacks of issue 25, at their original scale (loopback only).

    python benchmarks/serve_hostile.py --checkpoint runs/demo

Each attack is bounded in count and time. The server runs in this process, so its memory (RSS)
and thread count are read directly. Prints one JSON object: per attack what the clients saw, the
server's peak RSS growth and thread count, and whether the guarantee held (`ok`).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_serve_hostile import bomb_png  # noqa: E402  (one definition of the bomb)

from jepalab.serving.client import Client, ServerError, encode_image  # noqa: E402
from jepalab.serving.serve import PlanningServer, PlanningService, ServeOptions  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Peak(threading.Thread):
    """Samples RSS and the thread count every 20 ms while an attack runs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.base, self.rss, self.threads, self.done = rss_mb(), 0.0, 0, threading.Event()

    def run(self):
        while not self.done.is_set():
            self.rss, self.threads = max(self.rss, rss_mb()), max(self.threads, threading.active_count())
            time.sleep(0.02)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.join()

    def report(self) -> dict:
        return {"rss_growth_mb": round(self.rss - self.base, 1), "peak_threads": self.threads}


def status_of(sock: socket.socket) -> int | None:
    try:
        head = sock.recv(64)
    except OSError:
        return None
    return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1") else None


def negative_length(addr, mb: int) -> dict:
    """Content-Length: -1 and then `mb` MB streamed: the old server read it all."""
    sock = socket.create_connection(addr, timeout=10)
    sock.sendall(b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
    sent, chunk = 0, b"x" * (1 << 20)
    tic = time.perf_counter()
    try:
        for _ in range(mb):
            sock.sendall(chunk)
            sent += 1
    except OSError:
        pass
    code = status_of(sock)
    sock.close()
    return {
        "status": code,
        "mb_sent_before_close": sent,
        "seconds": round(time.perf_counter() - tic, 2),
        "ok": code == 400 and sent < mb,
    }


def bombs(addr, n: int) -> dict:
    body = json.dumps({"observation": base64.b64encode(bomb_png(13000)).decode(), "goal_id": "x"}).encode()
    codes = []

    def one():
        sock = socket.create_connection(addr, timeout=30)
        sock.sendall(
            b"POST /plan HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        )
        codes.append(status_of(sock))
        sock.close()

    tic = time.perf_counter()
    threads = [threading.Thread(target=one) for _ in range(n)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return {"statuses": sorted(codes), "seconds": round(time.perf_counter() - tic, 2), "ok": codes == [422] * n}


def simultaneous(addr, n: int) -> dict:
    codes, errors, barrier = [], [], threading.Barrier(n)

    def one():
        barrier.wait()
        try:
            sock = socket.create_connection(addr, timeout=30)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            codes.append(status_of(sock))
            sock.close()
        except OSError as e:
            errors.append(type(e).__name__)

    threads = [threading.Thread(target=one) for _ in range(n)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return {
        "clients": n,
        "200": codes.count(200),
        "503": codes.count(503),
        "no_answer": codes.count(None),
        "errors": errors[:5],
        "ok": not errors and set(codes) <= {200, 503},
    }


def client_threads(url: str, n: int, obs: np.ndarray) -> dict:
    results, errors = [], []

    def one():
        try:
            results.append(Client(url).plan(obs, goal=obs)["batch"])
        except ServerError as e:
            results.append(e.status)
        except OSError as e:
            errors.append(type(e).__name__)

    threads = [threading.Thread(target=one) for _ in range(n)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return {"threads": n, "answered": len(results), "errors": errors[:5], "ok": not errors}


def slow_clients(addr, n: int, seconds: float) -> dict:
    socks = []
    for _ in range(n):
        s = socket.create_connection(addr, timeout=10)
        s.sendall(b"POST /plan HTTP/1.1\r\n")
        socks.append(s)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:  # one byte per client every second
        for s in socks:
            try:
                s.sendall(b"X")
            except OSError:
                pass
        time.sleep(1.0)
    for s in socks:
        s.close()
    return {"clients": n, "seconds": seconds}


def many_frames(url: str, n: int) -> dict:
    tiny = encode_image(np.zeros((4, 4, 3), np.uint8))
    body = json.dumps({"frames": [tiny] * n}).encode()
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    tic = time.perf_counter()
    sock.sendall(
        b"POST /surprise HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    )
    code = status_of(sock)
    sock.close()
    return {"frames": n, "status": code, "seconds": round(time.perf_counter() - tic, 2), "ok": code == 413}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="runs/demo")
    ap.add_argument("--slow-seconds", type=float, default=8.0)
    args = ap.parse_args()
    options = ServeOptions(port=0, read_timeout_s=5.0, max_body=64 << 20)
    service = PlanningService(args.checkpoint, options)
    server = PlanningServer(service)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    addr, size = server.server_address[:2], service.size
    obs = np.zeros((size, size, 3), np.uint8)
    out = {"benchmark": "serve-hostile", "checkpoint": args.checkpoint, "options": vars(options) | {"token": None}}
    for name, attack in [
        ("content_length_-1_200mb", lambda: negative_length(addr, 200)),
        ("three_png_bombs_13000px", lambda: bombs(addr, 3)),
        ("64_simultaneous_raw_clients", lambda: simultaneous(addr, 64)),
        ("200_simultaneous_raw_clients", lambda: simultaneous(addr, 200)),
        ("client_with_32_threads", lambda: client_threads(server.url, 32, obs)),
        ("60000_tiny_frames", lambda: many_frames(server.url, 60000)),
    ]:
        with Peak() as peak:
            out[name] = {**attack(), **peak.report()}
        print(name, out[name], flush=True)
    with Peak() as peak:
        holder = threading.Thread(target=slow_clients, args=(addr, 200, args.slow_seconds))
        holder.start()
        time.sleep(1.0)
        tic = time.perf_counter()
        try:
            health = Client(server.url, timeout=10).health()["status"]
        except ServerError as e:
            health = e.status
        late = time.perf_counter() - tic
        holder.join()
    limit = options.max_connections + 8  # handler threads, the worker, the reaper, this script's own
    out["200_slow_clients"] = {
        **peak.report(),
        "health_during": health,
        "health_seconds": round(late, 2),
        "ok": peak.threads <= limit,
    }
    print("200_slow_clients", out["200_slow_clients"], flush=True)
    tic = time.perf_counter()
    stuck = socket.create_connection(addr)
    stuck.sendall(b"POST /plan HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    time.sleep(0.2)
    server.stop()
    left = server.server_close()
    service.close()
    out["drain_with_a_stuck_client"] = {
        "seconds": round(time.perf_counter() - tic, 2),
        "left_open": left,
        "ok": time.perf_counter() - tic < options.drain_timeout_s + 2,
    }
    stuck.close()
    out["all_ok"] = all(v["ok"] for v in out.values() if isinstance(v, dict) and "ok" in v)
    print(json.dumps(out, indent=2))
    sys.exit(0 if out["all_ok"] else 1)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    main()
