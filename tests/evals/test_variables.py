"""Per-variable probes (evals/variables.py): a variable that is in the features is found, one that is
not reads R² ≤ 0, and a trained two-room latent holds the agent's place beyond its untrained twin."""

import numpy as np

from jepalab.evals.variables import format_variable_table, probe_table, variable_names, variable_probes


def test_a_planted_variable_is_found_and_an_absent_one_reads_zero_or_less():
    rng = np.random.default_rng(0)
    n, d = 1200, 32
    y = rng.normal(size=(n, 3))
    x = rng.normal(size=(n, d))
    x[:, 0] = y[:, 0] + 0.05 * rng.normal(size=n)  # linear in one feature
    x[:, 1] = rng.uniform(-np.pi, np.pi, n)
    y[:, 1] = np.cos(x[:, 1])  # there, but not linearly (even in the feature: a line reads nothing)
    cut = 900
    table = probe_table(x[:cut], y[:cut], x[cut:], y[cut:], ["planted", "curved", "absent"])
    assert table["linear"]["planted"] > 0.95 and table["mlp"]["planted"] > 0.9
    assert table["mlp"]["curved"] > 0.5 > table["linear"]["curved"]  # the MLP reads what a line cannot
    assert table["linear"]["absent"] <= 0 and table["mlp"]["absent"] <= 0


def test_the_trained_latent_holds_place_and_velocity_beyond_its_untrained_twin(learned):
    model, episodes = learned["model"], learned["episodes"]
    twin = model.fresh_copy()
    names = variable_names("two-room", episodes[0].proprio.shape[1])
    result = variable_probes(
        {"trained": model, "untrained": twin},
        episodes[:90],
        episodes[90:],
        names,
        moving=["x", "y"],
        k=4,
        frames=1500,
        mlp=False,
    )
    assert set(result) == {"trained", "untrained", "raw pixels"}
    trained, untrained = result["trained"]["linear"], result["untrained"]["linear"]
    assert set(trained) == {"x", "y", "x velocity", "y velocity"}
    assert min(trained["x"], trained["y"]) > max(0.8, untrained["x"], untrained["y"])
    assert "x velocity" in format_variable_table(result)
