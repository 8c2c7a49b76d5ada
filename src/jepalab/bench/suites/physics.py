"""physics and physics-alt: the violation-of-expectation suites (evals/physics_suite.py, and the same
events drawn another way, evals/alt_suite.py), the trained model beside its untrained twin and a
pixel-space predictor."""

from __future__ import annotations

import weakref

import numpy as np

from ..manifest import sha256_arrays
from .common import BenchOptions, _seeded

_PHYSICS_BASELINES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> (pixel steps, baselines)


class PhysicsSuite:
    name = "physics"

    def __init__(self, model, cfg, options: BenchOptions, progress: bool = True):
        self.model, self.cfg, self.options_, self.progress = model, cfg, options, progress

    def seed(self, s: int) -> int:
        return 50_000 + 10_000 * s  # a suite of p pairs per category uses seed .. seed + 5000 (p <= 1000)

    @property
    def generator(self) -> str:
        from ...evals.physics_suite import GENERATOR

        return GENERATOR

    def options(self) -> dict:
        return {
            "generator": self.generator,
            "pairs_per_category": self.options_.pairs,
            "pixel_steps": self.options_.pixel_steps,
        }

    def _baselines(self) -> dict:
        """The checkpoint beside its untrained twin and the pixel predictor, built once per checkpoint
        and pixel budget and shared by both physics suites (the pixel baseline trains on a fixed seed,
        so a second build would only repeat it). The cache holds the baselines, not the checkpoint,
        so it lets go of them with the model."""
        from ...evals.intuitive_physics import physics_models

        key = self.options_.pixel_steps
        cached = _PHYSICS_BASELINES.get(self.model)
        if cached is None or cached[0] != key:
            _seeded(self.cfg.train.seed)
            models, _ = physics_models(self.model, self.cfg, key, progress=self.progress)
            cached = _PHYSICS_BASELINES[self.model] = (key, {k: m for k, m in models.items() if k != "trained"})
        return {"trained": self.model, **cached[1]}

    def _pairs(self, s: int):
        from ...evals.physics_suite import make_suite

        return make_suite(self.options_.pairs, self.seed(s), progress=self.progress)

    def fingerprint(self, s: int, pairs=None) -> dict:
        pairs = pairs if pairs is not None else self._pairs(s)
        return {
            "generator": self.generator,
            "seed": self.seed(s),
            "pairs": len(pairs),
            "sha256": sha256_arrays(
                *[a for p in pairs for a in (p.possible, p.impossible)], np.array([p.diverge_frame for p in pairs])
            ),
        }

    def run(self, s: int, plots) -> tuple[dict, dict]:
        from ...evals.intuitive_physics import evaluate_models, plot_examples

        pairs = self._pairs(s)
        results, curves = evaluate_models(self._baselines(), pairs, progress=self.progress)
        metrics = {}
        for name, r in results.items():
            m = {k: r["overall"][k] for k in ("pairwise_accuracy", "auroc", "localised")}
            m.update({f"{c} pairwise_accuracy": v["pairwise_accuracy"] for c, v in r["categories"].items()})
            m.update(
                {
                    f"{c}/{var} pairwise_accuracy": acc
                    for c, v in r["categories"].items()
                    for var, acc in v["variant_accuracy"].items()
                }
            )
            metrics[name] = m
        if plots is not None:
            plot_examples(pairs, curves["trained"], plots / f"{self.name}_examples.png")
        wins = {name: {c: v["wins"] for c, v in r["categories"].items()} for name, r in results.items()}
        return metrics, {"fingerprint": self.fingerprint(s, pairs), "pair_wins": wins}


class PhysicsAltSuite(PhysicsSuite):
    """The same events drawn another way (evals/alt_suite.py), which no recipe trains or tunes on:
    a model that knows bounce's renderer rather than physics scores well above and not here."""

    name = "physics-alt"

    @property
    def generator(self) -> str:
        from ...evals.alt_suite import GENERATOR

        return GENERATOR

    def seed(self, s: int) -> int:
        return 150_000 + 10_000 * s

    def _pairs(self, s: int):
        from ...evals.alt_suite import make_alt_suite

        return make_alt_suite(self.options_.pairs, self.seed(s), progress=self.progress)
