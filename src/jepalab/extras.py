"""Optional parts and the extra that installs each: a command that needs one says so in one line,
before it makes any output, instead of a traceback halfway through.

    require("export")      # -> None, or MissingExtra("... pip install 'jepalab[export]'")
"""

from __future__ import annotations

import importlib.util

# extra (pyproject.toml's optional-dependencies) -> (the modules it brings, what needs them)
EXTRAS = {
    "export": (("onnx", "onnxscript"), "ONNX export (jepalab export --format onnx)"),
    "lerobot": (("pyarrow",), "LeRobot datasets (jepalab import --lerobot, jepalab export-data --lerobot)"),
    "hub": (("huggingface_hub",), "the Hugging Face Hub (from_pretrained with a repo id, push_to_hub)"),
    "tensorboard": (("tensorboard",), "TensorBoard logging (train.logger=tensorboard)"),
    "hf": (("transformers",), "transformers' V-JEPA 2 (model.video_encoder=hf:..., jepalab surprise --model hf:...)"),
}


class MissingExtra(ValueError):
    """An optional dependency is not installed; the message names the extra that installs it."""


def missing(extra: str) -> list[str]:
    return [m for m in EXTRAS[extra][0] if importlib.util.find_spec(m) is None]


def require(extra: str) -> None:
    gone = missing(extra)
    if gone:
        raise MissingExtra(
            f"{EXTRAS[extra][1]} needs {', '.join(gone)}, which is not installed: pip install 'jepalab[{extra}]'"
        )
