import warnings

import numpy as np
import pytest

av = pytest.importorskip("av")

from jepalab.data.video import VideoError, find_videos, iter_clips, iter_frames, video_info  # noqa: E402
from jepalab.data.video import write_video as write_frames  # noqa: E402


def moving_square(frames, width, height):
    """A white square on black; frame i has the square at column 2*i."""
    video = np.zeros((frames, height, width, 3), np.uint8)
    for i in range(frames):
        col = (2 * i) % (width - 12)
        video[i, height // 3 : height // 3 + 12, col : col + 12] = 255
    return video


def write_video(path, frames=30, fps=30, width=96, height=72, codec="mpeg4", pix_fmt=None):
    return write_frames(path, moving_square(frames, width, height), fps, codec)


def test_clips_have_the_requested_shape_and_rate(tmp_path):
    path = write_video(tmp_path / "a.mp4", frames=60, fps=30)
    info = video_info(path)
    assert (info.width, info.height) == (96, 72) and info.fps == pytest.approx(30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an intact file raises no "truncated" warning
        clips = list(iter_clips(path, frames=8, fps=10, size=64))
    # 2 s at 10 fps = 20 frames -> two non-overlapping clips of 8
    assert len(clips) == 2 and clips[0].shape == (8, 64, 64, 3) and clips[0].dtype == np.uint8
    assert len(list(iter_frames(path, fps=None))) == 60


def test_odd_sizes_and_other_containers(tmp_path):
    path = write_video(tmp_path / "odd.mkv", frames=40, width=97, height=41, codec="ffv1")
    frames = list(iter_frames(path, fps=None, size=32))
    assert len(frames) == 40 and frames[0].shape == (32, 32, 3)
    # the square enters the centre crop and moves right, frame after frame
    cols = [np.nonzero(f[..., 0] > 128)[1].mean() for f in frames if (f[..., 0] > 128).any()]
    assert len(cols) > 10 and all(b >= a for a, b in zip(cols, cols[1:]))
    webm = write_video(tmp_path / "v.webm", frames=10, fps=25, codec="libvpx")
    assert len(list(iter_frames(webm, fps=None))) == 10


def test_variable_source_rates_resample_to_the_target(tmp_path):
    for src in (12, 25, 50):
        path = write_video(tmp_path / f"r{src}.mp4", frames=2 * src, fps=src)
        n = len(list(iter_frames(path, fps=10)))
        assert 19 <= n <= 21, (src, n)  # 2 s of video at 10 fps, whatever the source rate


def test_damaged_files_give_clear_errors(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoError, match="empty.mp4: empty file"):
        list(iter_frames(empty))
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    with pytest.raises(VideoError, match="notes.mp4: not a readable video"):
        list(iter_frames(text))
    good = write_video(tmp_path / "good.mkv", frames=40, codec="ffv1")
    data = good.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.warns(UserWarning, match="cut.mkv: .*truncated"):
        frames = list(iter_frames(cut, fps=None))
    assert 0 < len(frames) < 40  # what decoded before the cut, and no more
    cut_mp4 = tmp_path / "cut.mp4"  # an mp4 keeps its index at the end: half a file is unreadable
    mp4 = write_video(tmp_path / "whole.mp4", frames=40).read_bytes()
    cut_mp4.write_bytes(mp4[: len(mp4) // 2])
    with pytest.raises(VideoError, match="cut.mp4: not a readable video"):
        list(iter_frames(cut_mp4))
    (tmp_path / "whole.mp4").unlink()
    cut_mp4.unlink()
    with pytest.raises(VideoError, match="no such file or folder"):
        find_videos([tmp_path / "missing"])
    assert [p.name for p in find_videos(tmp_path)] == sorted(["cut.mkv", "empty.mp4", "good.mkv", "notes.mp4"])


def test_write_video_round_trips_losslessly_in_mkv(tmp_path):
    video = np.random.default_rng(0).integers(0, 255, (6, 33, 47, 3), dtype=np.uint8)
    path = write_frames(tmp_path / "exact.mkv", video, fps=10)
    back = np.stack(list(iter_frames(path, fps=None, size=33)))  # short side already 33: no scaling
    assert np.array_equal(back, video[:, :, 7:40])  # centre crop of the 47-wide frames
    with pytest.raises(ValueError, match="even frame sides"):
        write_frames(tmp_path / "odd.mp4", video)
