"""Fixed-size feature vectors for image and sound files, for the built-in trainer.

No pretrained network and no download: small, classic descriptors that a logistic regression can
use and that are quick to compute for a few thousand files.

- image: the grey image at 16x16 (256 pixels) plus histograms of gradient orientations, 8 bins
  on a 4x4 grid of cells of the 32x32 image (128 values);
- sound: a 40-band log-mel spectrogram summarised over time: its mean and standard deviation,
  and its mean over each third of the sound (the order of syllables matters), 200 values.

A file that cannot be decoded gives a vector of zeros: it can still be labeled, and the model
simply learns nothing from it.
"""
from __future__ import annotations

import io
import logging
from functools import lru_cache

import numpy as np

from labelloop.errors import LabelloopError

log = logging.getLogger(__name__)

PIXELS = 16
GRADIENT_SIZE, CELLS, ORIENTATIONS = 32, 4, 8
IMAGE_DIM = PIXELS * PIXELS + CELLS * CELLS * ORIENTATIONS

SAMPLE_RATE = 16_000
MEL_BANDS, FRAME, HOP = 40, 512, 160
SEGMENTS = 3
SOUND_DIM = MEL_BANDS * (2 + SEGMENTS)


def image_features(data: bytes) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            grey = image.convert("L")
            small = np.asarray(grey.resize((PIXELS, PIXELS), Image.BILINEAR), dtype=np.float32) / 255
            medium = np.asarray(grey.resize((GRADIENT_SIZE, GRADIENT_SIZE), Image.BILINEAR), dtype=np.float32) / 255
    except Exception as error:  # noqa: BLE001 - Pillow raises many kinds of error on a bad file
        log.info("undecodable image: %s", error)
        return np.zeros(IMAGE_DIM, dtype=np.float32)
    return np.concatenate([small.ravel(), _orientation_histograms(medium)])


def _orientation_histograms(image: np.ndarray) -> np.ndarray:
    """Gradient magnitude summed per orientation bin and cell, normalised per cell."""
    dy, dx = np.gradient(image)
    magnitude = np.hypot(dx, dy)
    bins = ((np.arctan2(dy, dx) % np.pi) / np.pi * ORIENTATIONS).astype(int) % ORIENTATIONS
    cell = GRADIENT_SIZE // CELLS
    rows, cols = np.indices(image.shape) // cell
    index = (rows * CELLS + cols) * ORIENTATIONS + bins
    histograms = np.bincount(index.ravel(), magnitude.ravel(), CELLS * CELLS * ORIENTATIONS).reshape(-1, ORIENTATIONS)
    norms = np.linalg.norm(histograms, axis=1, keepdims=True)
    return (histograms / np.maximum(norms, 1e-6)).ravel().astype(np.float32)


def sound_features(data: bytes) -> np.ndarray:
    import soundfile

    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except Exception as error:  # noqa: BLE001 - libsndfile reports a bad file in several ways
        log.info("undecodable sound: %s", error)
        return np.zeros(SOUND_DIM, dtype=np.float32)
    mono = samples.mean(axis=1)
    if len(mono) == 0:
        return np.zeros(SOUND_DIM, dtype=np.float32)
    return _log_mel_summary(_resample(mono, rate))


def _resample(samples: np.ndarray, rate: int) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    if rate == SAMPLE_RATE:
        return samples
    common = gcd(int(rate), SAMPLE_RATE)
    return resample_poly(samples, SAMPLE_RATE // common, int(rate) // common).astype(np.float32)


@lru_cache(maxsize=1)
def _mel_filters() -> np.ndarray:
    """Triangular filters, equally spaced on the mel scale, over the FFT bins."""
    def mel(hz):
        return 2595 * np.log10(1 + hz / 700)

    def hz(m):
        return 700 * (10 ** (m / 2595) - 1)

    edges = hz(np.linspace(mel(50), mel(SAMPLE_RATE / 2), MEL_BANDS + 2))
    bins = np.fft.rfftfreq(FRAME, 1 / SAMPLE_RATE)
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - low) / (centre - low)
    falling = (high - bins) / (high - centre)
    return np.maximum(0, np.minimum(rising, falling))


def _log_mel_summary(samples: np.ndarray) -> np.ndarray:
    peak = np.abs(samples).max()
    if peak > 0:
        samples = samples / peak
    if len(samples) < FRAME:
        samples = np.pad(samples, (0, FRAME - len(samples)))
    frames = np.lib.stride_tricks.sliding_window_view(samples, FRAME)[::HOP] * np.hanning(FRAME)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    log_mel = np.log(power @ _mel_filters().T + 1e-6)
    if len(log_mel) < SEGMENTS:  # a sound shorter than a few frames
        log_mel = np.repeat(log_mel, SEGMENTS, axis=0)
    thirds = [part.mean(axis=0) for part in np.array_split(log_mel, SEGMENTS)]
    return np.concatenate([log_mel.mean(axis=0), log_mel.std(axis=0), *thirds]).astype(np.float32)


EXTRACTORS = {"image": (image_features, IMAGE_DIM), "sound": (sound_features, SOUND_DIM)}


def folder_features(platform, folder: str, kind: str):
    """``features(paths)``: the descriptors of files of a platform's folder, one row each (zeros for
    a file that cannot be read), for the hosts to hand the labeling webapp (similar items)."""
    extract, dim = EXTRACTORS[kind]

    def features(paths: list) -> np.ndarray:
        rows = np.zeros((len(paths), dim), dtype=np.float32)
        for n, path in enumerate(paths):
            try:
                with platform.open_folder_file(folder, "/" + path) as stream:
                    rows[n] = extract(stream.read())
            except (OSError, LabelloopError) as error:
                log.info("unreadable file %s: %s", path, error)
        return rows
    return features
