"""Benchmark: `jepalab serve` soaked for minutes by valid and malformed requests, then stopped under load.

    python benchmarks/serve_soak.py --checkpoint runs/demo --minutes 15 --clients 16

The server runs as its own process (`jepalab serve`, localhost). `--clients` threads send requests
back to back on keep-alive connections for `--minutes`: four in five a valid POST /plan (the same
encoded observation and goal), the rest malformed in one of several ways (bad JSON, a missing
field, a non-image, a wrong method, an unknown path). Every valid request must get a 200 with a plan
(a valid reply lost: a connection error, a 5xx or no plan), every malformed one a 4xx. The server's
resident memory is sampled every 10 s (flat after the first minutes: nothing accumulates). At the
end SIGTERM is sent while the clients still send, and the seconds to exit and the exit code are
recorded. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

MALFORMED = [
    ("POST", "/plan", b"{not json"),
    ("POST", "/plan", b'{"observation": "x"}'),
    ("POST", "/plan", b'{"observation": "bm90IGFuIGltYWdl", "goal": "bm90IGFuIGltYWdl"}'),
    ("PUT", "/plan", b"{}"),
    ("POST", "/nothing-here", b"{}"),
]


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="runs/demo")
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--trust-unverified", action="store_true", help="serve a checkpoint without an integrity record")
    args = ap.parse_args()
    from jepalab.serving.serve import encode_image
    from jepalab.worlds import make

    obs, info = make("two-room").reset(seed=0)
    valid = json.dumps({"observation": encode_image(obs["pixels"]), "goal": encode_image(info["goal"])}).encode()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jepalab", "serve", "--checkpoint", args.checkpoint, "--port", str(port)]
        + (["--trust-unverified"] if args.trust_unverified else []),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    for _ in range(600):  # the model loads: wait for /health
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        raise SystemExit(f"the server did not come up: {server.stderr.read().decode()[-2000:]}")
    counts = {
        "valid_sent": 0,
        "valid_ok": 0,
        "valid_lost": 0,
        "malformed_sent": 0,
        "malformed_4xx": 0,
        "malformed_other": 0,
    }
    lock, stop, draining = threading.Lock(), threading.Event(), threading.Event()
    started = time.perf_counter()
    end_at = started + args.minutes * 60

    def client(i: int) -> None:
        conn, n = None, 0
        while not stop.is_set():
            kind = "valid" if n % 5 else "malformed"
            method, path, body = (
                ("POST", "/plan", valid) if kind == "valid" else MALFORMED[(n // 5 + i) % len(MALFORMED)]
            )
            n += 1
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                ok = r.status == 200 and b"actions" in data
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn, ok, r = None, False, None
                if draining.is_set():  # the server going down at the end: refused, not lost
                    return
            if draining.is_set() and not ok:
                return
            with lock:
                counts[f"{kind}_sent"] += 1
                if kind == "valid":
                    counts["valid_ok" if ok else "valid_lost"] += 1
                else:
                    counts["malformed_4xx" if r is not None and 400 <= r.status < 500 else "malformed_other"] += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.clients)]
    for t in threads:
        t.start()
    rss = []
    while time.perf_counter() < end_at:
        time.sleep(min(10.0, max(0.0, end_at - time.perf_counter())))
        rss.append({"minute": round((time.perf_counter() - started) / 60, 2), "rss_mb": round(rss_mb(server.pid), 1)})
        print(json.dumps({**rss[-1], **counts}), file=sys.stderr, flush=True)
    tic = time.perf_counter()
    draining.set()
    server.send_signal(signal.SIGTERM)  # under load: the clients are still sending
    try:
        code = server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        code = None
    exit_s = time.perf_counter() - tic
    stop.set()
    for t in threads:
        t.join(timeout=10)
    later = [r["rss_mb"] for r in rss if r["minute"] >= min(4.0, args.minutes / 2)]
    print(
        json.dumps(
            {
                "benchmark": "serve-soak",
                "checkpoint": args.checkpoint,
                "minutes": args.minutes,
                "clients": args.clients,
                **counts,
                "requests": counts["valid_sent"] + counts["malformed_sent"],
                "rss_mb": rss,
                "rss_after_warmup_mb": [min(later), max(later)] if later else None,
                "sigterm_exit_seconds": exit_s,
                "sigterm_exit_code": code,
                "pid": os.getpid(),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
