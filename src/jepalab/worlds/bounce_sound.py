"""How bounce sounds (its audio sense): a click-and-ring for every collision, heard as a log-mel
spectrogram window per video frame.

    from jepalab.worlds.bounce_sound import impact_sound, frame_features
    wave = impact_sound(clip.collisions, fps=10)          # a click-and-ring for every collision
    audio = frame_features(wave, fps=10)                  # (T, MELS, STEPS) float32

Frame t's window is the sound heard since frame t-1 (frame 0 hears silence), cut into STEPS short
spectra and pooled into MELS mel bands: log(1 + power / REF), so silence is exactly 0 and a clip
without sound carries no audio signal at all. `bounce` synthesises its sound from collision events
(worlds/bounce.py counts the collisions that began between two frames): a short noise burst and a
damped ring, the sound of two hard things meeting.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 8000
MELS, STEPS = 16, 8
REF = 1e-3  # power that maps to log(2): quiet sounds stay near 0, impacts reach ~8-10


def impact_sound(collisions: np.ndarray, fps: float, seed: int = 0) -> np.ndarray:
    """(T,) collision counts per frame -> waveform (T * samples_per_frame,) float32. A collision
    counted at frame t happened between frames t-1 and t: its sound starts in that interval."""
    spf = int(round(SAMPLE_RATE / fps))
    wave = np.zeros(len(collisions) * spf, np.float64)
    rng = np.random.default_rng(seed)
    t = np.arange(int(0.08 * SAMPLE_RATE)) / SAMPLE_RATE
    for frame in np.flatnonzero(np.asarray(collisions) > 0):
        start = max(0, (frame - 1) * spf + int(rng.uniform(0.2, 0.8) * spf))
        ring = np.sin(2 * np.pi * rng.uniform(500, 900) * t) * np.exp(-t / 0.025)
        burst = rng.normal(0, 1, len(t)) * np.exp(-t / 0.004)
        sound = 0.5 * (ring + 0.5 * burst) * min(3, int(collisions[frame]))
        end = min(len(wave), start + len(sound))
        wave[start:end] += sound[: end - start]
    return wave.astype(np.float32)


def mel_filterbank(n_fft: int, mels: int = MELS, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(mels, n_fft // 2 + 1) triangular filters evenly spaced on the mel scale."""

    def to_mel(f):
        return 2595 * np.log10(1 + f / 700)

    def to_hz(m):
        return 700 * (10 ** (m / 2595) - 1)

    edges = to_hz(np.linspace(to_mel(0), to_mel(sample_rate / 2), mels + 2))
    freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    bank = np.zeros((mels, len(freqs)))
    for m in range(mels):
        lo, mid, hi = edges[m : m + 3]
        bank[m] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0, None)
    return bank


def frame_features(wave: np.ndarray, fps: float, mels: int = MELS, steps: int = STEPS) -> np.ndarray:
    """Waveform at SAMPLE_RATE -> (T, mels, steps) float32 log-mel windows, T = frames it spans."""
    spf = int(round(SAMPLE_RATE / fps))
    frames = len(wave) // spf
    hop = spf // steps
    n_fft = 1 << int(np.ceil(np.log2(hop * 2)))
    bank = mel_filterbank(n_fft, mels)
    window = np.hanning(n_fft)
    out = np.zeros((frames, mels, steps), np.float32)
    padded = np.concatenate([np.zeros(n_fft), wave.astype(np.float64)])
    for f in range(1, frames):  # frame 0 hears nothing before it
        for s in range(steps):
            end = n_fft + (f - 1) * spf + (s + 1) * hop  # the spectrum of the samples up to this point
            spectrum = np.abs(np.fft.rfft(padded[end - n_fft : end] * window)) ** 2 / n_fft
            out[f, :, s] = np.log1p(bank @ spectrum / REF)
    return out
