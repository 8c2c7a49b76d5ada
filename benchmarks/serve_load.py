"""Benchmark: `jepalab serve` under load, batching on and off, in one run (loopback only).

    python benchmarks/serve_load.py --checkpoint runs/demo

For each of batching on (up to 32 plan requests per planner call, 5 ms wait) and off (one request
per call), and 1, 8 and 32 concurrent clients: each client sends POST /plan requests back to back
on its own keep-alive connection (the same pre-encoded observation and goal), `--requests` per
client or until `--seconds` pass. Prints a table and one JSON object: requests/s and p50/p99
latency per cell, and the speed-up from batching.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time

import numpy as np
import torch

from jepalab.serving.serve import PlanningServer, PlanningService, ServeOptions, encode_image
from jepalab.worlds import make


def load(server: PlanningServer, body: bytes, clients: int, requests: int, seconds: float) -> dict:
    host, port = server.server_address[:2]
    latencies, errors = [], []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client():
        conn = http.client.HTTPConnection(host, port, timeout=120)
        mine = []
        for _ in range(requests):
            if time.perf_counter() > stop_at:
                break
            tic = time.perf_counter()
            conn.request("POST", "/plan", body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                errors.append(r.status)
            mine.append(time.perf_counter() - tic)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    tic = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - tic
    lat = np.array(latencies) * 1000
    return {
        "clients": clients,
        "requests": len(lat),
        "errors": len(errors),
        "wall_s": wall,
        "requests_per_s": len(lat) / wall,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="runs/demo", help="a world model run folder or checkpoint")
    ap.add_argument("--requests", type=int, default=40, help="most requests per client per cell")
    ap.add_argument("--seconds", type=float, default=30.0, help="most seconds per cell")
    ap.add_argument("--clients", default="1,8,32")
    args = ap.parse_args()
    env = make("two-room")
    obs, info = env.reset(seed=0)
    body = json.dumps({"observation": encode_image(obs["pixels"]), "goal": encode_image(info["goal"])}).encode()
    rows = []
    for batching in (True, False):
        opts = ServeOptions(
            port=0, max_batch=32 if batching else 1, batch_wait_ms=5.0 if batching else 0.0, queue_size=256
        )
        service = PlanningService(args.checkpoint, opts)
        server = PlanningServer(service)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        load(server, body, 1, 3, 10)  # warm-up
        for clients in (int(c) for c in args.clients.split(",")):
            row = {"batching": batching, **load(server, body, clients, args.requests, args.seconds)}
            rows.append(row)
            print(
                f"batching {'on ' if batching else 'off'} clients {clients:>3}: {row['requests_per_s']:7.1f} req/s, "
                f"p50 {row['p50_ms']:7.1f} ms, p99 {row['p99_ms']:7.1f} ms ({row['requests']} requests, "
                f"{row['errors']} errors)",
                flush=True,
            )
        server.stop()
        server.server_close()
        service.close()
    on = {r["clients"]: r for r in rows if r["batching"]}
    off = {r["clients"]: r for r in rows if not r["batching"]}
    summary = {
        "benchmark": "serve-load",
        "checkpoint": args.checkpoint,
        "threads": torch.get_num_threads(),
        "plan": service.info["plan"],
        "rows": rows,
        "batching_speedup": {c: on[c]["requests_per_s"] / off[c]["requests_per_s"] for c in on if c in off},
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
