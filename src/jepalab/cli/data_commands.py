"""The commands about data: collect, import, inspect, export-data. Each parses, builds a config and calls one
library function."""

from __future__ import annotations

from pathlib import Path

from ..data import jsonout


def cmd_collect(args) -> None:
    from ..data.collect import collect

    world = args.env or args.world or "two-room"
    if args.env and not args.env.startswith("gymnasium:"):
        raise ValueError(f"--env takes gymnasium:ID (e.g. gymnasium:Reacher-v5), got {args.env!r}")
    store = collect(
        world,
        args.episodes,
        args.steps,
        args.out,
        seed=args.seed,
        progress=not args.quiet,
        policy=args.policy,
        image_size=args.image_size,
        depth_size=args.depth_size,
        variety=args.variety,
    )
    print(f"{store.root}: {len(store)} episodes of {world}, {args.steps} steps each")


def cmd_import(args) -> None:
    from ..data.importers import import_lerobot, import_store, import_videos

    if args.passive and not args.videos:
        raise ValueError("--passive is for --videos (a LeRobot dataset or a store holds its own actions)")
    if args.lerobot:
        from ..extras import require

        require("lerobot")
    if args.videos:
        store = import_videos(
            args.videos, args.out, args.fps, args.image_size, progress=not args.quiet, passive=args.passive
        )
    elif args.store:
        store = import_store(args.store, args.out, progress=not args.quiet)
    else:
        report: dict = {}
        store = import_lerobot(
            args.lerobot, args.out, args.camera, args.image_size, progress=not args.quiet, report=report
        )
        for field, what in report.items():
            print(f"  {field}: {what}")
    m = store.meta()
    print(
        f"{store.root}: {len(store)} episodes ({m['action_dim']} action dims, {m['proprio_dim']} proprio dims); "
        f"train with: jepalab train --data {store.root} --out runs/NAME"
    )


def cmd_inspect(args) -> None:
    from ..data.inspect import contact_sheet, format_summary, summarize
    from ..data.store import EpisodeStore

    store = EpisodeStore(args.data)
    if args.add_checksums:
        from ..data.checksums import add_checksums

        n = add_checksums(store, progress=not getattr(args, "quiet", False))
        print(f"{store.root}: checksums recorded for {n} episode(s)")
    summary, episodes = summarize(store, args.limit)
    print(format_summary(summary))
    sheet = contact_sheet(episodes, args.sheet or store.root / "contact_sheet.png")
    print(f"contact sheet: {sheet}")
    if args.json:
        Path(args.json).write_text(jsonout.dumps(summary, indent=2))


def cmd_export_data(args) -> None:
    from ..data.lerobot_export import export_store
    from ..extras import require

    require("lerobot")
    out, report = export_store(args.store, args.lerobot, args.fps, args.video_codec, args.crf)
    for field, what in report.items():
        print(f"  {field}: {what}")
    print(f"{out}: LeRobot v3.0 dataset; read it back with jepalab import --lerobot {out} --out DIR")
