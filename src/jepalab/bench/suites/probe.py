"""probe: what the latent knows. A video model: frozen-feature probes of position, velocity and count
(evals/physics_probe.py); an action-conditioned model: probes of the world's state (proprio) from
the latent, on fresh episodes: one R² over the whole state, and each variable on its own, linear and
MLP, velocities from two latents (evals/variables.py), beside the untrained twin and raw pixels."""

from __future__ import annotations

import numpy as np

from ..manifest import sha256_arrays
from .common import BenchOptions, _seeded


class ProbeSuite:
    name = "probe"

    def __init__(self, model, cfg, options: BenchOptions, progress: bool = True):
        self.model, self.cfg, self.o, self.progress = model, cfg, options, progress
        self.video = hasattr(cfg, "video")

    def seed(self, s: int) -> int:
        # video: probe_encoders uses seed .. seed + 3; world: 1.5 x probe_episodes episode seeds
        return 10_000 + 10 * s if self.video else 900_000 + 10_000 * s

    def options(self) -> dict:
        if self.video:
            return {"kind": "video features", "clips": self.o.probe_clips, "attentive_steps": self.o.probe_steps}
        return {
            "kind": "linear probe of proprio",
            "world": self.cfg.data.world,
            "episodes": self.o.probe_episodes,
            "steps_per_episode": self.cfg.data.steps_per_episode,
        }

    def _episodes(self, s: int):
        from ...data.collect import passive_episode, rollout_episode
        from ...worlds import make

        n = self.o.probe_episodes + max(2, self.o.probe_episodes // 2)
        world, steps, seed = self.cfg.data.world, self.cfg.data.steps_per_episode, self.seed(s)
        if world == "bounce":
            return [passive_episode(steps, seed + i) for i in range(n)]
        env = make(world, max_steps=steps + 1, goal_mode="anywhere", image_size=self.cfg.model.image_size)
        return [rollout_episode(env, steps, seed + i) for i in range(n)]

    def fingerprint(self, s: int) -> dict:
        if self.video:
            from ...evals.physics_probe import count_set, held_out_clips, one_object_set

            v, n, seed = self.cfg.video, self.o.probe_clips, self.seed(s)
            sets = [
                one_object_set(n, v, seed),
                one_object_set(held_out_clips(n), v, seed + 1),
                count_set(n, v, seed + 2),
                count_set(held_out_clips(n), v, seed + 3),
            ]
            return {"generator": "bounce probe clips", "seed": seed, "sha256": sha256_arrays(*[c.video for c in sets])}
        eps = self._episodes(s)
        return {
            "world": self.cfg.data.world,
            "episode_seeds": [self.seed(s), self.seed(s) + len(eps) - 1],
            "sha256": sha256_arrays(*[a for e in eps for a in (e.pixels, e.actions, e.proprio)]),
        }

    def run(self, s: int, plots) -> tuple[dict, dict]:
        from ...evals.intuitive_physics import untrained_twin

        _seeded(self.cfg.train.seed)
        twin = untrained_twin(self.model, self.cfg.train.seed)
        scatter: dict = {}
        if self.video:
            from ...evals.physics_probe import probe_encoders

            res = probe_encoders(
                {"trained": self.model.feature_encoder, "untrained": twin.encoder},
                self.cfg.video,
                clips=self.o.probe_clips,
                seed=self.seed(s),
                attentive_steps=self.o.probe_steps,
                progress=self.progress,
                scatter=scatter,
            )
            metrics: dict = {}
            for quantity, probes in res.items():
                for probe, row in probes.items():
                    for name, v in row.items():
                        metrics.setdefault(name, {})[f"{quantity} ({probe})"] = v
        else:
            from ...evals.probe import encode_frames, episode_senses, position_probe
            from ...evals.variables import moving_names, variable_names, variable_probes

            eps = self._episodes(s)
            train, test = eps[: self.o.probe_episodes], eps[self.o.probe_episodes :]
            metrics = {}
            y = np.concatenate([e.proprio for e in test])
            models = {"trained": self.model, "untrained": twin}
            for name, m in models.items():
                probe, r2 = position_probe(m, train, test, seed=self.cfg.train.seed)
                metrics[name] = {"state R²": r2}
                scatter[name] = (
                    probe(encode_frames(m, np.concatenate([e.pixels for e in test]), senses=episode_senses(m, test))),
                    y,
                )
            world = self.cfg.data.world
            names = variable_names(world, y.shape[1])
            step = max(1, self.cfg.model.frameskip)  # a velocity over one model step
            per = variable_probes(
                models,
                train,
                test,
                names,
                moving_names(world, names),
                k=step,
                seed=self.cfg.train.seed,
                mlp_steps=self.o.probe_steps,
            )
            for source, kinds in per.items():
                row = metrics.setdefault(source, {})
                for kind, values in kinds.items():
                    row.update({f"{v} ({'MLP' if kind == 'mlp' else kind})": r for v, r in values.items()})
        if plots is not None:
            _plot_scatter(scatter, plots / "probe_scatter.png")
        return metrics, {}


def _plot_scatter(scatter: dict, path) -> None:
    """Predicted against true x position (first state dimension) on held-out data, one panel per features."""
    from ...plots import pyplot

    plt = pyplot()
    fig, axes = plt.subplots(1, len(scatter), figsize=(3.4 * len(scatter), 3.4), squeeze=False)
    for ax, (name, (pred, y)) in zip(axes[0], scatter.items()):
        k = min(len(y), 2000)
        ax.scatter(y[:k, 0], pred[:k, 0], s=3, alpha=0.4)
        lo, hi = float(y[:, 0].min()), float(y[:, 0].max())
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
        ax.set_title(name)
        ax.set_xlabel("true x")
        ax.set_ylabel("predicted x")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
