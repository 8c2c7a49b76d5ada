"""The suites `jepalab bench` runs on one checkpoint, each with its baselines in the same run.

- control: goal-reaching success of MPC in the world the model was trained in (the world's own random
  targets), beside the same planner on the untrained model, random actions and zero actions (noop);
  on the first seed also success against the planning budget (candidates per iteration) and the
  trajectories.
- control-dataset: the same, on the anchors' protocol (evals/dataset_goals.py): start states and
  goals `goal_offset` steps apart on held-out expert trajectories, a budget of environment steps.
- physics: the violation-of-expectation suite (evals/physics_suite.py), the trained model beside
  its untrained twin and a pixel-space predictor.
- probe: what the latent knows. A video model: frozen-feature probes of position, velocity and count
  (evals/physics_probe.py); an action-conditioned model: a linear probe of the world's state
  (proprio) from the latent, on fresh episodes.

Evaluation seed index s maps to data seeds no training run reaches (see each `*_seed`), and the same
s always gives the same data. Each suite's `fingerprint(s)` re-creates its data for `--verify`.
One module per suite: control.py (control, control-dataset), physics.py (physics, physics-alt), probe.py;
what they share: common.py.
"""

from ...contracts import BenchSuite
from .common import PROTOCOLS, SUITES, BenchOptions, applicable, world_facts
from .control import ControlSuite, DatasetControlSuite
from .physics import PhysicsAltSuite, PhysicsSuite
from .probe import ProbeSuite

SUITE_CLASSES: dict[str, type[BenchSuite]] = {
    "control": ControlSuite,
    "control-dataset": DatasetControlSuite,
    "physics": PhysicsSuite,
    "physics-alt": PhysicsAltSuite,
    "probe": ProbeSuite,
}

__all__ = [
    "PROTOCOLS",
    "SUITES",
    "SUITE_CLASSES",
    "BenchOptions",
    "ControlSuite",
    "DatasetControlSuite",
    "PhysicsAltSuite",
    "PhysicsSuite",
    "ProbeSuite",
    "applicable",
    "world_facts",
]
