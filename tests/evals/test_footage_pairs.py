"""Real-footage discontinuity pairs: the continuous clip and its broken twin agree until the cut."""

import numpy as np

from jepalab.data.video import write_video
from jepalab.evals.footage_pairs import KINDS, WINDOW, footage_pairs


def test_twins_agree_until_the_discontinuity_of_each_kind(tmp_path):
    t = np.arange(80)[:, None, None, None]
    ramp = np.broadcast_to((t * 3) % 250, (80, 32, 32, 3)).astype(np.uint8)  # every frame its own shade
    video = write_video(tmp_path / "pan.mkv", ramp, fps=10)
    pairs = footage_pairs([video], fps=10, size=32, per_video=6)
    assert len(pairs) == 6 and {p.category for p in pairs} == set(KINDS)
    for p in pairs:
        d = p.diverge_frame
        assert p.possible.shape == p.impossible.shape == (WINDOW, 32, 32, 3)
        assert np.array_equal(p.possible[:d], p.impossible[:d]) and not np.array_equal(p.possible[d], p.impossible[d])
