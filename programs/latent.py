"""Latent digit generation for the diffusion program: scikit-learn's 8x8 digits, a small
autoencoder trained in NumPy, and a classifier trained on real digits that scores what the
decoder makes of the VM's latent samples.

The autoencoder (64 -> AE_HIDDEN -> LATENT -> AE_HIDDEN -> 64, tanh, sigmoid output) is
trained by mean squared reconstruction error with Adam, deterministically per seed. Its
latents are standardised (zero mean, unit spread per dimension, from the training images),
so the diffusion runs on the same VP-SDE, the same .kta program and the same modes as the
2-D data sets (LATENT = 2 = the program's x). Decoding and classifying happen outside the VM.
"""

from __future__ import annotations

import numpy as np

from ktasm.programs import require

LATENT = 2  # = the diffusion program's x: the same .kta, the same modes
AE_HIDDEN = 64
AE_STEPS, QUICK_AE_STEPS = 8000, 2000
AE_BATCH = 128
HELD_OUT = 0.3  # fraction of the images kept out of every training (the MMD^2's truth)
SPLIT_SEED = 0xD161  # one split for every run: the shipped weights were trained on it
CLASSES = 10


def digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 images, pixels scaled to [0, 1] (n x 64), and their labels."""
    bunch = require("sklearn.datasets", "the diffusion program's digits").load_digits()
    return bunch.data / 16.0, bunch.target.astype(np.int64)


def split(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and held-out images (fixed: SPLIT_SEED)."""
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    held = int(round(HELD_OUT * n))
    return np.sort(order[held:]), np.sort(order[:held])


# ---------------------------------------------------------------------- the autoencoder
def _layer(rng: np.random.Generator, fan_in: int, fan_out: int) -> list[np.ndarray]:
    return [rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in), np.zeros(fan_out)]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def encode_raw(params, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w1, b1, w2, b2 = params[:4]
    h = np.tanh(images @ w1.T + b1)
    return h @ w2.T + b2, h


def decode_raw(params, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w3, b3, w4, b4 = params[4:8]
    h = np.tanh(z @ w3.T + b3)
    return _sigmoid(h @ w4.T + b4), h


def train_autoencoder(images: np.ndarray, steps: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Adam on the mean squared reconstruction error, learning rate decayed 10x. Returns
    the eight weight arrays, then the training latents' mean and spread (standardisation)."""
    params = _layer(rng, 64, AE_HIDDEN) + _layer(rng, AE_HIDDEN, LATENT)
    params += _layer(rng, LATENT, AE_HIDDEN) + _layer(rng, AE_HIDDEN, 64)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for step in range(1, steps + 1):
        lr = 3e-3 * 0.1 ** (step / steps)
        x = images[rng.integers(0, len(images), AE_BATCH)]
        z, h1 = encode_raw(params, x)
        y, h2 = decode_raw(params, z)
        g = 2.0 * (y - x) / x.size * y * (1.0 - y)  # through the sigmoid
        grads: list[np.ndarray] = [np.empty(0)] * 8
        grads[6], grads[7] = g.T @ h2, g.sum(0)
        g = (g @ params[6]) * (1.0 - h2 * h2)
        grads[4], grads[5] = g.T @ z, g.sum(0)
        g = g @ params[4]
        grads[2], grads[3] = g.T @ h1, g.sum(0)
        g = (g @ params[2]) * (1.0 - h1 * h1)
        grads[0], grads[1] = g.T @ x, g.sum(0)
        for k, gk in enumerate(grads):
            m[k] = 0.9 * m[k] + 0.1 * gk
            v[k] = 0.999 * v[k] + 0.001 * gk * gk
            params[k] -= lr * (m[k] / (1 - 0.9**step)) / (np.sqrt(v[k] / (1 - 0.999**step)) + 1e-8)
    z, _ = encode_raw(params, images)
    return params + [z.mean(0), z.std(0)]


def encode(ae, images: np.ndarray) -> np.ndarray:
    """Standardised latents (n x LATENT)."""
    return (encode_raw(ae, images)[0] - ae[8]) / ae[9]


def decode(ae, latents: np.ndarray) -> np.ndarray:
    """Images (n x 64, in [0, 1]) from standardised latents."""
    return decode_raw(ae, np.asarray(latents) * ae[9] + ae[8])[0]


def reconstruction_mse(ae, images: np.ndarray) -> float:
    return float(np.mean((decode(ae, encode(ae, images)) - images) ** 2))


# ---------------------------------------------------------------------- the judge
def classifier(images: np.ndarray, labels: np.ndarray):
    """Logistic regression on real (training) digits: the judge of generated ones."""
    linear_model = require("sklearn.linear_model", "the diffusion program's digits")
    return linear_model.LogisticRegression(C=1.0, max_iter=3000).fit(images, labels)


def class_entropy(probabilities: np.ndarray) -> float:
    """Entropy (nats) of the histogram of the classes the judge picks: log 10 when every
    digit is made equally often, 0 when one digit is made."""
    counts = np.bincount(np.argmax(probabilities, axis=1), minlength=CLASSES)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum()) + 0.0  # + 0.0: one class gives 0, not -0


def classifier_confidence(probabilities: np.ndarray) -> float:
    """The judge's mean probability of the class it picks (how digit-like the images are)."""
    return float(np.max(probabilities, axis=1).mean())


def mosaic(images: np.ndarray, columns: int = 8) -> np.ndarray:
    """The first columns^2 images tiled into one picture, a blank (0) pixel around each
    tile: tile (r, c) is at [9 r + 1 : 9 r + 9, 9 c + 1 : 9 c + 9]."""
    flat = np.asarray(images)[: columns * columns].reshape(-1, 8, 8)
    rows = len(flat) // columns
    grid = np.pad(flat[: rows * columns], ((0, 0), (1, 0), (1, 0))).reshape(rows, columns, 9, 9)
    return np.pad(grid.transpose(0, 2, 1, 3).reshape(rows * 9, columns * 9), ((0, 1), (0, 1)))
