"""report.md and a self-contained report.html (images embedded as data URIs) from a bench folder."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from .stats import format_stat

PLOT_TITLES = {
    "control_budget.png": "Control: success against the planning budget",
    "control_trajectories.png": "Control: executed paths (first seed), the model's first imagined plan",
    "control-dataset_budget.png": "Control, dataset protocol: success against the planning budget",
    "control-dataset_trajectories.png": "Control, dataset protocol: executed paths (first seed)",
    "physics_examples.png": "Physics: surprise over frames, possible vs impossible twins",
    "physics-alt_examples.png": "Physics, drawn another way (alt suite): surprise over frames, possible vs impossible",
    "probe_scatter.png": "Probe: predicted vs true position on held-out data",
    "training.png": "Training curves of the run",
}


def suite_tables(results: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """Per suite: (suite, header [metric, one column per model], rows of formatted figures)."""
    tables = []
    for suite, res in results["suites"].items():
        models = list(res["models"])
        rows = [
            [metric] + [format_stat(res["models"][m][metric]) if metric in res["models"][m] else "" for m in models]
            for metric in res["models"][models[0]]
        ]
        tables.append((suite, ["metric"] + models, rows))
    return tables


LEGEND = (
    "mean over seeds ± half-width of its 95 % interval (Student's t over seeds); in brackets, where "
    "the suite records them, the 95 % interval of every seed's episodes or pairs pooled (Wilson's score "
    "interval for success rates, a bootstrap over pairs within categories for pairwise accuracies) and "
    "how many there were. The first model column is the one measured; the others are its baselines."
)


def _training_plot(manifest: dict, plots: Path) -> Path | None:
    """The run's training curves, when the checkpoint sits in a run folder with metrics.jsonl."""
    from ..plots import plot_curves
    from ..training.loop import latest_metrics

    run = Path(manifest["checkpoint"]["path"])
    for _ in range(3):
        if (run / "metrics.jsonl").is_file():
            break
        run = run.parent
    else:
        return None
    metrics = latest_metrics(run)
    keys = [
        k
        for k in ("loss", "pred_loss", "val_pred_loss", "reg_loss", "latent_std", "effective_rank")
        if metrics and k in metrics[0]
    ][:4]
    return plot_curves(metrics, keys, plots / "training.png") if keys else None


def _facts(results: dict, manifest: dict) -> list[tuple[str, str]]:
    ck, sw, hw = manifest["checkpoint"], manifest["software"], manifest["hardware"]
    git = sw.get("git") or {}
    return [
        ("checkpoint", f"{ck['path']} (step {ck.get('step')}, {ck.get('kind')})"),
        ("checkpoint sha256", ck["sha256"]),
        ("seeds", f"{results['seeds']} (95 % CI: Student's t over seeds)"),
        (
            "software",
            f"jepalab {sw.get('jepalab')} (git {str(git.get('commit'))[:12]}"
            f"{', modified' if git.get('dirty') else ''}), torch {sw.get('torch')}, numpy {sw.get('numpy')}",
        ),
        (
            "hardware",
            f"{hw.get('cpu')}, {hw.get('torch_threads')} threads" + (f", {hw['gpu']}" if hw.get("gpu") else ""),
        ),
        ("wall time", ", ".join(f"{s} {v['wall_seconds']:.0f} s" for s, v in manifest["suites"].items())),
        ("not run", "; ".join(f"{s}: {r}" for s, r in manifest.get("skipped_suites", {}).items()) or "-"),
    ]


def write_reports(results: dict, manifest: dict, out: Path) -> tuple[Path, Path]:
    out = Path(out)
    _training_plot(manifest, out / "plots")
    images = [(PLOT_TITLES.get(p.name, p.stem), p) for p in sorted((out / "plots").glob("*.png"))]
    tables = suite_tables(results)
    command = manifest.get("command") or "(library call)"

    md = ["# jepalab bench report", "", f"Reproduce: `{command}`", ""]
    md += [f"- **{k}**: {v}" for k, v in _facts(results, manifest)]
    md += ["", LEGEND]
    for suite, head, rows in tables:
        md += ["", f"## {suite}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        md += ["| " + " | ".join(r) + " |" for r in rows]
    md += [""] + [f"## {title}\n\n![{title}](plots/{p.name})\n" for title, p in images]
    (out / "report.md").write_text("\n".join(md) + "\n")

    esc = html.escape
    table = f"<p>{esc(LEGEND)}</p>" + "".join(
        f"<h2>{esc(suite)}</h2><table><thead><tr>"
        + "".join(f"<th>{esc(h)}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
        + "</tbody></table>"
        for suite, head, rows in tables
    )
    facts = (
        "<table class='facts'>"
        + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in _facts(results, manifest))
        + "</table>"
    )
    figures = "".join(
        f"<figure><img alt='{esc(title)}' src='data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}'>"
        f"<figcaption>{esc(title)}</figcaption></figure>"
        for title, p in images
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>jepalab bench report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
th{{background:#f3f3f3}}code{{background:#f3f3f3;padding:2px 4px}}img{{max-width:100%}}
figure{{margin:1.5em 0}}figcaption{{color:#555}}</style></head><body>
<h1>jepalab bench report</h1>
<p>Reproduce: <code>{esc(command)}</code></p>
{facts}
<h2>Summary (mean ± 95 % CI half-width over seeds)</h2>
{table}
<h2>Plots</h2>
{figures}
</body></html>
"""
    (out / "report.html").write_text(page)
    return out / "report.md", out / "report.html"
