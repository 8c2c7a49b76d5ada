"""The code's shape, checked: no import cycles inside jepalab, and the core (models, objectives,
training, checkpoints, data, planning, worlds) imports nothing from the layers built on it
(evaluations, bench, serving, the command line). Imports inside functions count too: a lazy
import is still a dependency."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "jepalab"
CORE = (
    "models",
    "training",
    "config",
    "data",
    "planning",
    "worlds",
    "masks",
    "runtime",
    "extras",
    "plots",
    "contracts",
)
OUTER = ("evals", "bench", "serving", "cli", "pipeline", "export")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                deps |= {target} | {f"{target}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("jepalab")}
        graph[name] = deps - {name}
    return {m: {d for d in deps if d in graph} for m, deps in graph.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def under(module: str, names) -> bool:
    return any(module == f"jepalab.{n}" or module.startswith(f"jepalab.{n}.") for n in names)


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_core_imports_nothing_built_on_it():
    graph = import_graph()
    wrong = {m: sorted(d for d in deps if under(d, OUTER)) for m, deps in graph.items() if under(m, CORE)}
    assert not {m: d for m, d in wrong.items() if d}


# the package's parts from the ground up, by stage of the data flow: a module may import its own
# part and the parts below it, never one above (the root package itself, with its lazy public names,
# stands above all)
LAYERS = (
    ("contracts", "worlds", "masks", "runtime", "extras", "plots"),
    ("config",),
    ("data",),
    ("models",),
    ("training", "planning"),
    ("evals", "export"),
    ("bench", "pipeline"),
    ("serving",),
    ("cli", "__main__"),
)


def layer(module: str) -> int | None:
    part = module.split(".")[1] if module.count(".") else None
    return next((i for i, names in enumerate(LAYERS) if part in names), None)


def upward_imports(graph: dict[str, set[str]]) -> dict[str, list[str]]:
    found = {}
    for m, deps in graph.items():
        own = layer(m)
        up = sorted(d for d in deps if own is not None and layer(d) is not None and layer(d) > own)
        if up:
            found[m] = up
    return found


def test_every_part_is_known_and_no_import_runs_up_a_layer():
    graph = import_graph()
    unknown = sorted({m.split(".")[1] for m in graph if m.count(".") and layer(m) is None})
    assert not unknown, f"parts without a layer in LAYERS: {unknown}"
    assert upward_imports(graph) == {}


def test_the_checker_sees_a_cycle_and_a_layer_breach():
    assert upward_imports({"jepalab.data.clips": {"jepalab.models.encoder"}}) == {
        "jepalab.data.clips": ["jepalab.models.encoder"]
    }
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert under("jepalab.evals.surprise", OUTER) and not under("jepalab.evaluate", OUTER)


def test_every_command_the_parser_knows_has_a_handler_in_the_dispatch_table():
    import argparse

    from jepalab.cli.main import COMMANDS
    from jepalab.cli.parser import parser

    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(COMMANDS)


OPTIONAL = {"appearance", "spatial", "senses", "sense_list", "video_encoder", "cells", "part_dims"}


def settings_read(path: Path) -> set[str]:
    """The attributes a module's code reads (docstrings and comments do not count)."""
    return {node.attr for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Attribute)}


def test_the_base_method_reads_without_the_optional_parts():
    """models/world_model.py and objectives.py hold the whole base method, each under 250 lines, and the
    base encoder, predictor and both files read none of the optional parts' settings: those parts are
    variants in modules of their own (models/appearance.py, senses.py, spatial.py, backbones.py)."""
    for name in ("models/world_model.py", "training/objectives.py"):
        assert len((PACKAGE / name).read_text().splitlines()) < 250, name
    for name in ("models/world_model.py", "training/objectives.py", "models/encoder.py", "models/predictor.py"):
        assert not settings_read(PACKAGE / name) & OPTIONAL, name


def test_train_and_pretrain_share_the_loop():
    """Steps, LR schedule, clip, logging, checkpoint + resume and interrupts live in training/loop.py alone."""
    for name in ("training/train.py", "training/pretrain.py", "evals/surprise.py"):
        tree = ast.parse((PACKAGE / name).read_text())
        defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        assert not defined & {"lr_at", "apply_gradients", "resume", "save", "run", "truncate_metrics"}, name
        called = {
            n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
            for n in ast.walk(tree)
            if isinstance(n, ast.Call)
        }
        assert not called & {"step_interrupts", "open_metrics", "AdamW", "clip_grad_norm_", "backward"}, name
        assert any(
            isinstance(n, ast.ClassDef) and any(getattr(b, "id", "") == "TrainingLoop" for b in n.bases)
            for n in ast.walk(tree)
        ), name


def test_variants_are_built_from_one_named_setting_not_a_registry():
    """models.build(cfg) picks the class by model.variant from a literal table, importing only that
    module; no __new__, no __init_subclass__ and no list that imports fill."""
    for path in (PACKAGE / "models").glob("*.py"):
        tree = ast.parse(path.read_text())
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert not defined & {"__new__", "__init_subclass__"}, path.name
    from jepalab.config import CHOICES
    from jepalab.models.build import VARIANTS, model_class

    assert tuple(VARIANTS) == CHOICES["model.variant"]
    assert all(model_class(v).variant == v for v in VARIANTS)


def test_every_dispatch_table_names_what_config_checking_allows():
    """The lists a setting is checked against (config.CHOICES) and the tables the code dispatches on
    hold the same names: a planner or regulariser added to one and not the other fails here."""
    from jepalab.bench.suites import SUITE_CLASSES, SUITES
    from jepalab.config import CHOICES
    from jepalab.planning import PLANNERS
    from jepalab.training.objectives import REGULARIZERS

    assert tuple(PLANNERS) == CHOICES["plan.planner"]
    assert tuple(REGULARIZERS) == CHOICES["objective.regularizer"]
    assert tuple(SUITE_CLASSES) == SUITES
