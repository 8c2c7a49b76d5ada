"""The front page stays short, its Python example runs as printed, and every link in it and in
docs/ leads to a file that exists."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_readme_is_short_and_its_python_example_runs(tmp_path):
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 12 * 1024
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert blocks
    for code in blocks:  # in a scratch folder: the example writes data/quick and runs/quick
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    assert "distance to the goal" in done.stdout


def test_every_relative_link_in_the_readme_and_docs_exists():
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if not target.startswith(("http://", "https://", "mailto:")) and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken
