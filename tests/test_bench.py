"""`jepalab bench`: one checkpoint, every applicable suite, a manifest that cannot be silently wrong."""

import json
import shutil
from html.parser import HTMLParser

import pytest

from jepalab.bench import BenchOptions, bench
from jepalab.bench.run import load_results
from jepalab.bench.verify import compare, verify
from jepalab.cli.main import main

TINY = BenchOptions(
    episodes=3, budgets=(0.5, 1.0), probe_episodes=6, pairs=1, pixel_steps=3, probe_clips=8, probe_steps=3
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    assert main(["train", "--world", "two-room", "--preset", "debug", "--out", str(root / "run"), "--quiet"]) == 0
    return root / "run"


def metrics_of(folder):
    results, _ = load_results(folder)
    return {
        s: {m: {k: v["values"] for k, v in ms.items()} for m, ms in r["models"].items()}
        for s, r in results["suites"].items()
    }


@pytest.mark.slow
def test_bench_writes_results_manifest_and_is_deterministic(run, tmp_path):
    a = bench(run, tmp_path / "a", seeds=2, options=TINY, progress=False)
    bench(run, tmp_path / "b", seeds=2, options=TINY, progress=False)
    assert set(a["suites"]) == {"control", "control-dataset", "probe"} and "physics" in a["skipped_suites"]
    assert metrics_of(tmp_path / "a") == metrics_of(tmp_path / "b")
    control = a["suites"]["control"]
    assert control["baselines"] == ["untrained", "random", "noop"]
    assert a["suites"]["control-dataset"]["baselines"] == ["untrained", "random", "noop"]
    stat = control["models"]["trained"]["success_rate"]
    assert len(stat["values"]) == 2 and stat["ci95"][0] <= stat["mean"] <= stat["ci95"][1]
    assert len(set(control["data_seeds"])) == 2  # each seed is other episodes
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert len(manifest["checkpoint"]["sha256"]) == 64 and "model.safetensors" in manifest["checkpoint"]["files"]
    assert manifest["config"]["model"]["latent_dim"] == 32 and manifest["software"]["torch"]
    assert manifest["training_data"]["episodes"] == 24
    assert manifest["suites"]["control-dataset"]["options"]["goal_offset"] == 25
    for suite in ("control", "control-dataset", "probe"):
        rec = manifest["suites"][suite]
        assert len(rec["fingerprints"]) == 2 and rec["wall_seconds"] > 0 and rec["started"] <= rec["ended"]
    assert manifest["hardware"]["torch_threads"] >= 1


def test_verify_fails_when_one_byte_of_the_checkpoint_changes(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    bench(copy, tmp_path / "res", suites=["probe"], seeds=1, options=TINY, progress=False)
    assert all(ok for _, ok, _ in verify(tmp_path / "res"))
    latest = json.loads((copy / "checkpoints" / "latest.json").read_text())["name"]
    weights = copy / "checkpoints" / latest / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    checks = verify(tmp_path / "res")
    bad = [what for what, ok, _ in checks if not ok]
    assert len(bad) == 1 and bad[0].startswith("checkpoint")
    assert main(["bench", "--verify", str(tmp_path / "res")]) == 2


def test_bench_resumes_per_part_and_refuses_another_checkpoint(run, tmp_path, monkeypatch):
    from jepalab.bench import suites

    calls = []
    real = suites.ProbeSuite.run

    def flaky(self, s, plots):
        calls.append(s)
        if s == 1 and len(calls) == 2:
            raise KeyboardInterrupt  # killed during the second seed
        return real(self, s, plots)

    monkeypatch.setattr(suites.ProbeSuite, "run", flaky)
    with pytest.raises(KeyboardInterrupt):
        bench(run, tmp_path / "r", suites=["probe"], seeds=2, options=TINY, progress=False)
    assert (tmp_path / "r" / "parts" / "probe_seed0.json").is_file()
    bench(run, tmp_path / "r", suites=["probe"], seeds=2, options=TINY, progress=False)
    assert calls == [0, 1, 1]  # seed 0 was not recomputed
    other = sorted((run / "checkpoints").glob("step_*"))[0]  # an earlier checkpoint of the same run
    with pytest.raises(ValueError, match="another checkpoint"):
        bench(other, tmp_path / "r", suites=["probe"], seeds=1, options=TINY, progress=False)


def test_compare_refuses_two_checkpoints_in_one_column(run, tmp_path):
    first, last = sorted((run / "checkpoints").glob("step_*"))
    bench(first, tmp_path / "a", suites=["probe"], seeds=1, options=TINY, progress=False)
    bench(last, tmp_path / "b", suites=["probe"], seeds=1, options=TINY, progress=False)
    table = compare([str(tmp_path / "a"), str(tmp_path / "b")])
    assert "state R²" in table and "x velocity (linear)" in table
    rows = table.splitlines()[2:]
    assert {r.split("|")[2].strip() for r in rows} == {"trained", "untrained", "raw pixels"}
    with pytest.raises(ValueError, match="different checkpoints in one column"):
        compare([f"{tmp_path / 'a'}+{tmp_path / 'b'}"])
    assert main(["bench", "--compare", f"{tmp_path / 'a'}+{tmp_path / 'b'}"]) == 2
    assert main(["bench", "--compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "t.md")]) == 0
    assert (tmp_path / "t.md").read_text().startswith("| suite")


def test_a_suite_that_does_not_apply_is_a_clear_error(run, tmp_path):
    with pytest.raises(ValueError, match="physics.*does not apply.*bounce"):
        bench(run, tmp_path / "x", suites=["physics"], seeds=1, options=TINY, progress=False)
    with pytest.raises(ValueError, match="not a bench results folder"):
        verify(tmp_path)
    with pytest.raises(ValueError, match="overlap the training episodes"):  # never evaluate on training seeds
        bench(run, tmp_path / "y", suites=["control"], seeds=1, options=TINY, sets=["plan.seed=10"], progress=False)


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.tables, self.cells = [], 0, 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        self.tables += tag == "table"
        self.cells += tag == "td"


def test_html_report_embeds_every_plot_and_the_table(run, tmp_path):
    import base64

    bench(run, tmp_path / "r", seeds=1, options=TINY, progress=False)
    page = _Page()
    page.feed((tmp_path / "r" / "report.html").read_text())
    pngs = sorted((tmp_path / "r" / "plots").glob("*.png"))
    assert {p.name for p in pngs} >= {
        "control_budget.png",
        "control_trajectories.png",
        "probe_scatter.png",
        "training.png",
    }
    assert len(page.images) == len(pngs)
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.tables >= 2 and page.cells >= 3 * 4
    md = (tmp_path / "r" / "report.md").read_text()
    assert "## control" in md and "| metric | trained | untrained |" in md and "| success_rate |" in md
    assert "Reproduce: `(library call)`" in md


def test_video_model_bench_runs_physics_both_styles_and_probe(tmp_path):
    out = tmp_path / "video"
    assert main(["pretrain", "--world", "bounce", "--preset", "video-debug", "--out", str(out), "--quiet"]) == 0
    res = bench(out, tmp_path / "r", seeds=1, options=TINY, progress=False)
    assert set(res["suites"]) == {"physics", "physics-alt", "probe"} and "control" in res["skipped_suites"]
    for style in ("physics", "physics-alt"):  # the project's suite and the one drawn another way, side by side
        assert set(res["suites"][style]["models"]) == {"trained", "untrained", "pixels"}
    assert res["suites"]["physics-alt"]["models"]["trained"]["pairwise_accuracy"]["pooled"]["unit"] == "pairs"
    assert "position (attentive)" in res["suites"]["probe"]["models"]["trained"]
    assert (tmp_path / "r" / "plots" / "physics_examples.png").is_file()


@pytest.mark.slow
def test_the_dataset_protocol_uses_held_out_trajectories_and_can_be_chosen_alone(run, tmp_path):
    from jepalab.bench.suites import DatasetControlSuite
    from jepalab.config import override
    from jepalab.training.checkpoint import load_model

    model, cfg, _ = load_model(run)
    suite = DatasetControlSuite(model, cfg, BenchOptions(episodes=3, goal_offset=10, budget=20), progress=False)
    seeds = {g.seed for s in range(2) for g in suite.starts(s)}
    assert not seeds & set(range(cfg.data.seed, cfg.data.seed + cfg.data.episodes))  # never a training seed
    assert len(seeds) == 6 and suite.plan.max_steps == 20
    clash = override(cfg, ["data.seed=700000"])
    with pytest.raises(ValueError, match="overlap the training"):
        DatasetControlSuite(model, clash, BenchOptions(episodes=3), progress=False)
    out = tmp_path / "only-dataset"
    assert (
        main(
            [
                "bench",
                "--checkpoint",
                str(run),
                "--out",
                str(out),
                "--protocol",
                "dataset",
                "--suites",
                "control-dataset",
                "--seeds",
                "1",
                "--episodes",
                "2",
                "--goal-offset",
                "10",
                "--budget",
                "12",
                "--quiet",
            ]
        )
        == 0
    )
    results, manifest = load_results(out)
    assert list(results["suites"]) == ["control-dataset"]
    assert manifest["suites"]["control-dataset"]["options"]["budget"] == 12
    out = tmp_path / "only-random"
    assert (
        main(
            [
                "bench",
                "--checkpoint",
                str(run),
                "--out",
                str(out),
                "--protocol",
                "random",
                "--seeds",
                "1",
                "--quiet",
                "--episodes",
                "2",
            ]
        )
        == 0
    )
    results, _ = load_results(out)
    assert "control" in results["suites"] and "control-dataset" not in results["suites"]
    assert "another control protocol" in results["skipped_suites"]["control-dataset"]


def test_the_training_time_curve_picks_checkpoints_by_recorded_training_time(run):
    from jepalab.bench.curve import pick, run_checkpoints, success_curve

    ckpts = run_checkpoints(run)
    assert len(ckpts) >= 2 and all(a[0] <= b[0] for a, b in zip(ckpts, ckpts[1:]))
    assert pick(ckpts, 0.0) is None and pick(ckpts, 1e6) == ckpts[-1]
    rows = success_curve(run, minutes=(0.0, 1e6), episodes=2, goal_offset=5, budget=8, progress=False)
    assert rows[0]["success_rate"] is None and rows[1]["checkpoint"] == ckpts[-1][1].name
    assert 0.0 <= rows[1]["success_rate"] <= 1.0


def test_wilson_and_bootstrap_intervals_are_honest_at_the_edges():
    from jepalab.bench.stats import bootstrap_mean_of_groups, format_stat, seed_stats, wilson

    lo, hi = wilson(0, 25)  # a baseline that never succeeded in 25 tries is not "0.00 ± 0.00"
    assert lo == 0.0 and 0.10 < hi < 0.15
    lo, hi = wilson(13, 25)
    assert lo < 0.52 < hi and abs((lo + hi) / 2 - 0.51) < 0.02
    assert wilson(25, 25)[1] == 1.0 and wilson(25, 25)[0] > 0.85
    # a category of 100 pairs at 0.9 and one at 0.5: the overall mean 0.7, its interval narrow but not zero
    lo, hi = bootstrap_mean_of_groups([[1.0] * 90 + [0.0] * 10, [1.0] * 50 + [0.0] * 50])
    assert lo < 0.7 < hi and hi - lo < 0.15
    stat = seed_stats([0.26, 0.26, 0.26])
    stat["pooled"] = {"n": 75, "unit": "episodes", "ci95": wilson(round(0.26 * 75), 75)}
    assert format_stat(stat) == "0.260 ± 0.000 [0.18, 0.38; 75 episodes]"
