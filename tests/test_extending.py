"""docs/extending.md's examples run as written, in order."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "extending.md"


def test_the_extending_recipes_run():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 3
    scope: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), scope)  # noqa: S102 - our own documentation
    plan = scope["plan"]
    assert plan.actions.shape[0] == 2 and plan.actions.abs().max() <= 1
