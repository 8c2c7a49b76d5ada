"""Variety for `bounce` (data.variety=wide, or picture: the same at bounce's own pace and gravity): the
same physics, drawn and filmed many ways.

A world model trained on one renderer learns that renderer: on violation-of-expectation clips drawn
another way its error on ordinary frames rises until the events drown in it (docs/measurements.md,
"Intuitive physics drawn another way"). Here every clip gets a `Style` of its own, drawn from its
seed apart from the scene's (the same seed gives the same scene with or without variety):

- the picture: background (flat, gradient, value-noise texture or stripes), object colours, an
  outline or none, occluder (flat, striped or textured) and wall (flat or brick) looks, a ground
  strip along the bottom or none;
- the camera: the source drawn at 48-96 px and resized to 64, sensor noise, a brightness and
  contrast change, lossy compression through a video codec (MPEG-4 Part 2, at a random bit rate);
- the physics' pace: frame rates of 8-20 per second (with data.variety=wide the model is not told the
  rate and has to read it off the frames; with wide-rate each clip's frame interval is its action)
  and gravity 0.6-1.6 times the scene's.
"""

from __future__ import annotations

import colorsys
import io
from dataclasses import dataclass, replace

import numpy as np

from .bounce import FPS, PALETTE, SIZE, SceneSpec, coverage, pixel_grid, rect_mask

BACKGROUNDS = ("flat", "gradient", "noise", "stripes")


@dataclass(frozen=True)
class Style:
    size: int  # side of the source picture in pixels, resized to SIZE
    background: str  # one of BACKGROUNDS
    colors: tuple  # two background colours (flat uses the first)
    texture_seed: int  # the noise texture and stripes' draw
    occluder: str  # flat | stripes | noise
    occluder_colors: tuple
    barrier: str  # flat | brick
    barrier_colors: tuple
    ground: tuple | None  # (height in arena units, colour) of a strip along the bottom, or None
    palette: tuple  # object colours, replacing PALETTE's one for one
    outline: bool  # objects drawn with a darker rim
    noise: float  # sensor noise, standard deviation in grey levels
    gain: float  # contrast
    offset: float  # brightness, grey levels
    bit_rate: int  # MPEG-4 bits per second; 0: no compression
    fps: float
    gravity_scale: float

    def painter(self, spec: SceneSpec) -> Painter:
        return Painter(spec, self)


def _hsv(h: float, s: float, v: float) -> tuple:
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))


def sample_style(rng: np.random.Generator) -> Style:
    h = rng.uniform(0, 1)
    dark = rng.random() < 0.5  # dark or light scenes: objects keep their contrast either way
    bg_v = (rng.uniform(0.1, 0.35), rng.uniform(0.1, 0.45)) if dark else (rng.uniform(0.7, 0.95), rng.uniform(0.55, 1))
    colors = (_hsv(h, rng.uniform(0, 0.6), bg_v[0]), _hsv(h + rng.uniform(-0.2, 0.2), rng.uniform(0, 0.6), bg_v[1]))
    hues = (rng.uniform(0, 1) + np.arange(len(PALETTE)) / len(PALETTE) + rng.uniform(-0.04, 0.04, len(PALETTE))) % 1
    obj_v = (0.75, 1.0) if dark else (0.35, 0.7)
    palette = tuple(_hsv(float(x), rng.uniform(0.45, 1.0), rng.uniform(*obj_v)) for x in rng.permutation(hues))
    occ_h = rng.uniform(0, 1)
    return Style(
        size=int(rng.integers(48, 97)),
        background=str(rng.choice(BACKGROUNDS)),
        colors=colors,
        texture_seed=int(rng.integers(2**31)),
        occluder=str(rng.choice(["flat", "stripes", "noise"])),
        occluder_colors=(
            _hsv(occ_h, rng.uniform(0, 0.5), rng.uniform(0.4, 0.8)),
            _hsv(occ_h + 0.1, rng.uniform(0, 0.5), rng.uniform(0.3, 0.9)),
        ),
        barrier=str(rng.choice(["flat", "brick"])),
        barrier_colors=(
            _hsv(rng.uniform(0, 1), rng.uniform(0, 0.6), rng.uniform(0.5, 0.9)),
            _hsv(rng.uniform(0, 1), rng.uniform(0, 0.3), rng.uniform(0.2, 0.5)),
        ),
        ground=(float(rng.uniform(0.02, 0.06)), _hsv(rng.uniform(0, 1), rng.uniform(0.2, 0.7), rng.uniform(0.2, 0.7)))
        if rng.random() < 0.5
        else None,
        palette=palette,
        outline=bool(rng.random() < 0.3),
        noise=float(rng.uniform(0, 6)) if rng.random() < 0.7 else 0.0,
        gain=float(rng.uniform(0.8, 1.2)),
        offset=float(rng.uniform(-20, 20)),
        bit_rate=int(rng.choice([0, 60_000, 120_000, 250_000])),
        fps=float(rng.uniform(8, 20)),
        gravity_scale=float(rng.uniform(0.6, 1.6)),
    )


def picture_only(style: Style) -> Style:
    """The style's look and camera at bounce's own pace and gravity (data.variety=picture): what the
    picture's variety does, apart from the pace's."""
    return replace(style, fps=FPS, gravity_scale=1.0)


def styled_scene(spec: SceneSpec, style: Style) -> SceneSpec:
    """The scene at the style's pace and gravity, its objects in the style's colours."""
    swap = {tuple(c): style.palette[i] for i, c in enumerate(PALETTE)}
    objects = [replace(o, color=swap.get(tuple(o.color), o.color)) for o in spec.objects]
    return replace(spec, objects=objects, fps=style.fps, gravity=spec.gravity * style.gravity_scale, style=style)


# ---------------------------------------------------------------- drawing
def _texture(kind: str, colors: tuple, grid: tuple, rng: np.random.Generator) -> np.ndarray:
    """(side, side, 3) float on `grid` (pixel_grid): two colours mixed by a pattern."""
    X, Y = grid
    a, b = np.array(colors[0], np.float32), np.array(colors[1 % len(colors)], np.float32)
    if kind == "flat":
        mix = np.zeros_like(X)
    elif kind == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        t = X * np.cos(angle) + Y * np.sin(angle)
        mix = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    elif kind == "stripes":
        angle, period = rng.uniform(0, np.pi), rng.uniform(0.06, 0.25)
        mix = (np.sin(2 * np.pi * (X * np.cos(angle) + Y * np.sin(angle)) / period) > 0).astype(np.float32)
    else:  # value noise: a coarse random grid, smoothly upsampled
        from PIL import Image

        k, side = int(rng.integers(3, 9)), X.shape[0]
        coarse = Image.fromarray((rng.random((k, k)) * 255).astype(np.uint8))
        mix = np.asarray(coarse.resize((side, side), Image.BICUBIC), np.float32) / 255
    return a * (1 - mix[..., None]) + b * mix[..., None]


def _brick(colors: tuple, grid: tuple) -> np.ndarray:
    X, Y = grid
    rows = np.floor(Y / 0.05)
    mortar = ((Y % 0.05) < 0.012) | (((X + 0.05 * (rows % 2)) % 0.1) < 0.012)
    return np.where(mortar[..., None], np.array(colors[1], np.float32), np.array(colors[0], np.float32))


class Painter:
    """Draws the frames of one styled scene: the still parts once, the objects per frame."""

    def __init__(self, spec: SceneSpec, style: Style):
        rng = np.random.default_rng(style.texture_seed)
        self.spec, self.style = spec, style
        self.grid = pixel_grid(style.size)
        canvas = _texture(style.background, style.colors, self.grid, rng)
        if style.ground is not None:
            canvas[self.grid[1] >= 1 - style.ground[0]] = np.array(style.ground[1], np.float32)
        wall = rect_mask(spec.barrier, self.grid)
        walls = (
            _brick(style.barrier_colors, self.grid)
            if style.barrier == "brick"
            else np.broadcast_to(np.array(style.barrier_colors[0], np.float32), canvas.shape)
        )
        canvas[wall] = walls[wall]
        self.canvas = canvas
        self.occ = rect_mask(spec.occluder, self.grid)
        self.occluder = _texture(style.occluder, style.occluder_colors, self.grid, rng)

    def __call__(self, look) -> np.ndarray:
        """-> (SIZE, SIZE, 3) uint8."""
        from PIL import Image

        img = self.canvas.copy()
        for i, pose in enumerate(look.poses):
            if not look.present[i]:
                continue
            size, color = self.spec.objects[i].size, np.array(look.colors[i], np.float32)
            a = coverage(look.drawn[i], size, pose, self.grid)
            img = img * (1 - a[..., None]) + color * a[..., None]
            if self.style.outline:
                inner = coverage(look.drawn[i], max(size - 1.5 / self.style.size, 0.0), pose, self.grid)
                rim = np.clip(a - inner, 0, 1)[..., None]
                img = img * (1 - rim) + 0.45 * color * rim
        img[self.occ] = self.occluder[self.occ]
        picture = Image.fromarray(np.clip(img, 0, 255).round().astype(np.uint8))
        if self.style.size != SIZE:
            picture = picture.resize((SIZE, SIZE), Image.BILINEAR if self.style.size < SIZE else Image.BOX)
        return np.asarray(picture)


# ---------------------------------------------------------------- filming
def film(frames: np.ndarray, style: Style, seed: int) -> np.ndarray:
    """The camera's share: contrast and brightness, sensor noise, then lossy compression."""
    rng = np.random.default_rng([seed, 2])
    x = frames.astype(np.float32) * style.gain + style.offset
    if style.noise:
        x = x + rng.normal(0, style.noise, x.shape)
    x = np.clip(x, 0, 255).round().astype(np.uint8)
    return compress(x, style.bit_rate, style.fps) if style.bit_rate else x


def compress(frames: np.ndarray, bit_rate: int, fps: float) -> np.ndarray:
    """Encode (T, H, W, 3) uint8 frames as MPEG-4 Part 2 at `bit_rate` and decode them again."""
    from fractions import Fraction

    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=Fraction(round(fps * 100), 100))
        stream.width, stream.height, stream.pix_fmt, stream.bit_rate = (
            frames.shape[2],
            frames.shape[1],
            "yuv420p",
            bit_rate,
        )
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    buf.seek(0)
    with av.open(buf) as src:
        decoded = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
    if len(decoded) != len(frames):
        raise RuntimeError(f"the codec returned {len(decoded)} frames for {len(frames)}")
    return np.stack(decoded)
