"""Benchmark: what checksums cost when a store is opened for training, today's tree against this one.

    python benchmarks/store_integrity.py --data runs/demo/data --today-src /path/to/old/checkout/src

The same episodes are written twice: by today's tree (no checksums, no fletcher32) and by this one
(a sha256 per file and per field, fletcher32 on every field). Each store is then opened as training
opens it (EpisodeStore.load_all, frames in memory; and streamed) in a fresh process per open,
alternately, `--rounds` times: today's tree on its store; this tree on its store the first time
(every file hashed) and again (files unchanged since: the fast path). Prints one JSON object with
the seconds per open and the ratios to today's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

CHILD = """
import sys, time, json
from jepalab.data.store import EpisodeStore
tic = time.perf_counter()
eps = EpisodeStore(sys.argv[1]).load_all(stream=sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - tic, "episodes": len(eps)}))
"""


def rewrite(data: Path, out: Path, src: str | None) -> None:
    shutil.rmtree(out, ignore_errors=True)
    code = (
        "import sys; from jepalab.data.importers import import_store; "
        "import_store(sys.argv[1], sys.argv[2], progress=False)"
    )
    run([sys.executable, "-c", code, str(data), str(out)], src)


def run(cmd: list[str], src: str | None) -> str:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else ""  # the rewrite prints nothing; an open prints its JSON last


def open_time(store: Path, stream: str, src: str | None) -> float:
    return json.loads(run([sys.executable, "-c", CHILD, str(store), stream], src))["seconds"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="an episode store (e.g. the demo's 1,000 episodes)")
    ap.add_argument("--today-src", required=True, help="today's checkout's src folder")
    ap.add_argument("--out", default="runs/store-integrity")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    out = Path(args.out)
    today, new = out / "today", out / "new"
    rewrite(Path(args.data), today, args.today_src)
    rewrite(Path(args.data), new, None)
    rows = []
    for r in range(args.rounds):
        for stream in ("off", "on"):
            (new / "checksums" / "verified.json").unlink(missing_ok=True)
            row = {
                "round": r,
                "stream": stream,
                "today_s": open_time(today, stream, args.today_src),
                "new_first_open_s": open_time(new, stream, None),
                "new_again_s": open_time(new, stream, None),
            }
            row["first_open_ratio"] = row["new_first_open_s"] / row["today_s"]
            row["again_ratio"] = row["new_again_s"] / row["today_s"]
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    summary = {}
    for stream in ("off", "on"):
        mine = [r for r in rows if r["stream"] == stream]
        summary[stream] = {
            k: sum(r[k] for r in mine) / len(mine)
            for k in ("today_s", "new_first_open_s", "new_again_s", "first_open_ratio", "again_ratio")
        }
    size = {
        name: sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        for name, folder in (("today_bytes", today), ("new_bytes", new))
    }
    print(
        json.dumps(
            {
                "benchmark": "store-integrity",
                "data": args.data,
                "episodes": len(list((new / "episodes").glob("ep_*"))),
                **size,
                "rounds": rows,
                "means": summary,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
