"""One model, every benchmark: `jepalab bench` (run.py) evaluates one checkpoint on every suite
that applies (suites.py), with its baselines, over several seeds; manifest.py records and
verify.py re-checks what was measured; report.py writes the markdown and HTML reports."""

from .run import bench, load_results
from .suites import SUITES, BenchOptions

__all__ = ["bench", "load_results", "SUITES", "BenchOptions"]
