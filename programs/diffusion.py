"""Neural-SDE diffusion (VP-SDE) with probabilistic differential pairs as the network and
their p-bits as the noise.

A small noise-prediction MLP is trained here, digitally (NumPy, Adam), by denoising score
matching, with a second loss term that shapes its last layer's MC-dropconnect variance
(analytic, see `dropconnect_variance`). Its weights are programmed into `.pairs` arrays and
the reverse SDE runs in the VM (diffusion.kta) in four ways, all on the same network:

- `insitu_network`: the network's own last layer runs at q < 1 (q per step, from the
  schedule), so its MC-dropconnect spread is the SDE's sqrt(beta dt) noise: no other noise
  source (seed 004's claim);
- `noise_block`: the network at q = 1 plus the noise of a separate block of pairs driven by
  a constant input at q = 0.5 (pairs as an in-memory Gaussian source);
- `exsitu`: the network at q = 1 plus ex-situ p-bits: the same MTJs pulsed, their bits
  sensed, latched and moved over a bus (MSENSE), then counted into Gaussians;
- `no_noise`: the negative control.

Before them, one calibration run on the same devices (`calibrate`, the program's mode 4)
measures layer 3's per-cell mean at q = 1, at q = 0 and at q_cal (`calibration_q`: amid
the run's q3), and layers 1 and 2's at q = 1; correction arrays (read at q = 1) then take
off every layer's cell errors from the devices' rp and TMR spread (every mode) and, scaled
by 1 - q3, the error of each of layer 3's p-bits' own q from its v50 spread
(insitu_network): uncalibrated, that error took insitu_network from its twin's 0.002 to
0.13 on eight Gaussians.

Beside them, `digital`: the same rounded network in float64 NumPy with exact Gaussian
noise. Samples are scored by MMD^2 against fresh samples of the target; each mode's modeled
time and energy per sample (and of its noise: minus the no-noise control) are reported.

The data sets: eight Gaussians and two moons in the plane, and `digits`: the 2-D latent
space of an autoencoder of scikit-learn's 8x8 digits (programs/latent.py). There the
truth is the held-out images' latents, the band compares training latents with them, and
the decoded samples are judged by a classifier trained on real digits (`class_entropy`,
`classifier_confidence`, per mode like `mmd2`).
"""

from __future__ import annotations

import numpy as np

from ktasm.programs import Options, Result, StatsTotal, assemble, latent, report, run_machine, weights

SUMMARY = "VP-SDE reverse diffusion: weights in probabilistic pairs, p-bit dropconnect as the noise"

PLANE_SETS = ("eight_gaussians", "two_moons")
DATASETS = PLANE_SETS + ("digits",)  # digits: the autoencoder's latent space (latent.py)
MODES = {"no_noise": 0, "noise_block": 1, "exsitu": 2, "insitu_network": 3}  # the program's codes
CALIBRATE = 4  # the program's calibration of layer 3 (`calibrate`)
MMD_KEYS = {  # metric name of each mode's MMD^2 (`mmd2` is the noise block's, as before)
    "noise_block": "mmd2",
    "insitu_network": "mmd2_insitu_network",
    "exsitu": "mmd2_exsitu",
    "no_noise": "mmd2_no_noise",
    "digital": "mmd2_digital",
}
BETA_MIN, BETA_MAX = 0.1, 20.0
T_EPS = 1e-3  # the reverse SDE stops here (the score is singular at t = 0)
HIDDEN = 48  # = the program's .pairs sizes
FREQUENCIES = (1.0, 2.0, 4.0, 8.0)
N_IN = 2 + 1 + 2 * len(FREQUENCIES)  # x, t, sin/cos features
NOISE_PAIRS = 64  # = the program's noise block: pairs per output
LEVELS = 15  # = the program's levels of layer 3 (its dropconnect is the noise): 16 weight values
HIDDEN_LEVELS = 63  # = the program's levels of layers 1 and 2 (q = 1): 64 weight values
CALIBRATION_READS = 64  # layer 3's calibration, per column (`calibrate`): reads at q = 1 and 0
# MACs at q_cal x q_cal (1 - q_cal) (`calibration_macs`): B's standard error alike at any q_cal
CALIBRATION_WEIGHT, QUICK_CALIBRATION_WEIGHT = 500.0, 60.0
CALIBRATION_MACS = 6000  # `correction`'s and `calibrate`'s default
CALIBRATION_OUTPUTS = 6 * HIDDEN + (N_IN + HIDDEN) * HIDDEN  # layer 3's sums, then layers 1-2's
PBIT_VOLTS = 1.5  # the ex-situ p-bits' pulse: v50 (Fig. 12) for the first peak (Fig. 11)
SAMPLES, QUICK_SAMPLES = 2000, 500
DIGIT_SAMPLES, QUICK_DIGIT_SAMPLES = 1000, 300  # at most the training latents (the band's draws)
DIGIT_ENTROPY_TOLERANCE = 0.1  # the aim: class entropy within 10% of log 10
STEPS, QUICK_STEPS = 100, 60
TRAIN_STEPS, QUICK_TRAIN_STEPS = 20000, 1500  # the shipped weights: TRAIN_STEPS, seed 0
QAT_FRACTION = 0.3
LEARNING_RATE, LR_DECAY = 3e-3, 1e-3  # Adam's rate, decayed exponentially by LR_DECAY over training
GAIN_CLIPS = tuple(k / 20 for k in range(6, 21))  # gains tried, x a row's largest |w|: the least error wins
FLOOR_DRAWS, QUICK_FLOOR_DRAWS = 20, 4
MMD_SIGMAS = (0.1, 0.2, 0.5, 1.0, 2.0)
FLOOR_P95_REFERENCE = 1.9e-3  # PHYSICS.md section 4, eight Gaussians at n = 2000
SUM_H2 = 24.0  # the target of sum_j h2_j^2 (of HIDDEN): sets the last layer's dropconnect variance
VARIANCE_WEIGHT = 1.0
GAIN_STRETCH = (
    1.0  # layer 3's common gain over its largest weight  # of the variance term in the training loss
)


def _within_band(key: str, s: str):
    return lambda m: m[s][key] <= 3 * m[s]["mmd2_floor_p95"] if s in m else None


def _entropy(key: str):
    def check(m):
        if "digits" not in m:
            return None
        return abs(m["digits"][key] - np.log(latent.CLASSES)) <= DIGIT_ENTROPY_TOLERANCE * np.log(
            latent.CLASSES
        )

    return check


def _cheaper(s: str):
    def check(m):
        if s not in m:
            return None
        c = m[s]["costs"]
        return all(c["insitu_network"][k] < c["exsitu"][k] for k in ("noise_time_s", "noise_energy_j"))

    return check


AIMS = (
    [
        (f"{s}: {mode} MMD^2 within 3x the true-vs-true band (its 95th percentile)", _within_band(key, s))
        for s in DATASETS
        for mode, key in (("insitu_network", "mmd2_insitu_network"), ("noise_block", "mmd2"))
    ]
    + [
        (
            f"{s}: the noise-free control fails clearly (MMD^2 > 5x insitu_network and > 10x the band)",
            lambda m, s=s: (
                m[s]["mmd2_no_noise"] > max(5 * m[s]["mmd2_insitu_network"], 10 * m[s]["mmd2_floor_p95"])
                if s in m
                else None
            ),
        )
        for s in DATASETS
    ]
    + [
        (f"{s}: insitu_network noise cheaper per sample than ex-situ, in time and in energy", _cheaper(s))
        for s in DATASETS
    ]
    + [
        (f"digits: {mode}'s generated digits' class entropy within 10% of log 10", _entropy(key))
        for mode, key in (
            ("insitu_network", "class_entropy_insitu_network"),
            ("noise_block", "class_entropy"),
        )
    ]
)


# ---------------------------------------------------------------------- targets
def eight_gaussians(n: int, rng: np.random.Generator) -> np.ndarray:
    """PHYSICS.md section 4: (0.5 N(0, I) + centre) / 1.414, centres at radius 4."""
    angles = np.arange(8) * np.pi / 4
    centres = 4.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return (0.5 * rng.standard_normal((n, 2)) + centres[rng.integers(0, 8, n)]) / 1.414


def two_moons(n: int, rng: np.random.Generator) -> np.ndarray:
    """Two interleaved half circles with Gaussian jitter 0.1, centred and scaled by 1.5."""
    upper = rng.random(n) < 0.5
    angle = rng.random(n) * np.pi
    x = np.where(upper, np.cos(angle), 1.0 - np.cos(angle))
    y = np.where(upper, np.sin(angle), 0.5 - np.sin(angle))
    points = np.stack([x - 0.5, y - 0.25], axis=1) * 1.5
    return points + 0.1 * rng.standard_normal((n, 2))


TARGETS = {"eight_gaussians": eight_gaussians, "two_moons": two_moons}


# ---------------------------------------------------------------------- VP-SDE
def beta(t):
    return BETA_MIN + t * (BETA_MAX - BETA_MIN)


def alpha(t):
    """Mean factor of x_t given x_0: exp(-1/2 int_0^t beta)."""
    return np.exp(-0.5 * (BETA_MIN * t + 0.5 * (BETA_MAX - BETA_MIN) * t * t))


def features(t: np.ndarray) -> np.ndarray:
    """Time features (len(t) x (N_IN - 2)): t, then sin and cos at FREQUENCIES."""
    t = np.asarray(t, dtype=np.float64)[:, None]
    w = np.pi * np.asarray(FREQUENCIES)[None, :]
    return np.concatenate([t, np.sin(w * t), np.cos(w * t)], axis=1)


def schedule(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Reverse Euler-Maruyama from t = 1 to T_EPS: per step the input row (two zeros for x,
    then the time features) and the coefficients (cx, ce, cz) of
    x <- cx x + ce eps_hat(x, t) + cz z, i.e. x + [beta x / 2 + beta s] dt + sqrt(beta dt) z
    with the score s = -eps_hat / sigma(t)."""
    times = np.linspace(1.0, T_EPS, steps + 1)[:-1]
    dt = (1.0 - T_EPS) / steps
    b = beta(times)
    sigma = np.sqrt(1.0 - alpha(times) ** 2)
    inputs = np.concatenate([np.zeros((steps, 2)), features(times)], axis=1)
    coefficients = np.stack([1.0 + 0.5 * b * dt, -b * dt / sigma, np.sqrt(b * dt)], axis=1)
    return inputs, coefficients


# ---------------------------------------------------------------------- the network
def init_network(rng: np.random.Generator) -> list[np.ndarray]:
    sizes = (N_IN, HIDDEN, HIDDEN, 2)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        params.append(rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in))
        params.append(np.zeros(fan_out))
    return params


def forward(params, inputs: np.ndarray):
    """eps_hat for inputs (n x N_IN); also the activations for backprop."""
    w1, b1, w2, b2, w3, b3 = params
    h1 = np.tanh(inputs @ w1.T + b1)
    h2 = np.tanh(h1 @ w2.T + b2)
    return h2 @ w3.T + b3, (inputs, h1, h2)


def train(target, steps: int, rng: np.random.Generator, batch: int = 512) -> list[np.ndarray]:
    """Denoising score matching (noise prediction) with Adam, learning rate decayed by
    LR_DECAY (1000x: the rounded weights' phase needs small steps, see below), plus
    VARIANCE_WEIGHT * (sum_j h2_j^2 / SUM_H2 - 1)^2: the last layer's MC-dropconnect variance
    is proportional to sum_j h2_j^2 (`layer3_variance`), so this term makes the network's own
    spread the one the schedule's q asks for (`insitu_q`) at every x and t.
    The last QAT_FRACTION of the steps run the forward pass on the weights as the pairs
    will hold them (rounded; gradients pass straight through to the float weights), so the
    network learns to live with the pairs' weight values (HIDDEN_LEVELS + 1 in layers 1 and
    2, LEVELS + 1 in layer 3). Trained without rounding, the network scores an MMD^2 of 3e-4
    on eight Gaussians in float64 (below the band) but 0.013-0.018 rounded to 16 values;
    with this QAT phase (1000x decay: the straight-through steps stay below the rounding's
    step) 0.005-0.006 at 16 values in every layer, 0.0015-0.0024 with 64 in layers 1 and 2
    (64 in layer 3 too: 0.0016-0.0018, and a 4x lower q3), and 0.0036-0.0058 with the
    rounding from the first step (n = 2000, 20000 steps, two draws)."""
    params = init_network(rng)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1_, b2_, eps = 0.9, 0.999, 1e-8
    for step in range(1, steps + 1):
        lr = LEARNING_RATE * LR_DECAY ** (step / steps)
        x0 = target(batch, rng)
        t = rng.uniform(T_EPS, 1.0, batch)
        a = alpha(t)[:, None]
        noise = rng.standard_normal((batch, 2))
        xt = a * x0 + np.sqrt(1.0 - a * a) * noise
        inputs = np.concatenate([xt, features(t)], axis=1)
        used = as_held(params) if step > (1.0 - QAT_FRACTION) * steps else params
        out, (x_in, h1, h2) = forward(used, inputs)
        w1, _, w2, _, w3, _ = used
        g_out = 2.0 * (out - noise) / batch
        g_w3 = g_out.T @ h2
        ratio = (h2 * h2).sum(1, keepdims=True) / SUM_H2 - 1.0
        g_h2 = (g_out @ w3 + VARIANCE_WEIGHT * 4.0 * ratio * h2 / (SUM_H2 * batch)) * (1.0 - h2 * h2)
        g_w2 = g_h2.T @ h1
        g_h1 = (g_h2 @ w2) * (1.0 - h1 * h1)
        g_w1 = g_h1.T @ x_in
        grads = [g_w1, g_h1.sum(0), g_w2, g_h2.sum(0), g_w3, g_out.sum(0)]
        for k, g in enumerate(grads):
            m[k] = b1_ * m[k] + (1 - b1_) * g
            v[k] = b2_ * v[k] + (1 - b2_) * g * g
            params[k] -= lr * (m[k] / (1 - b1_**step)) / (np.sqrt(v[k] / (1 - b2_**step)) + eps)
    return params


def quantise(w: np.ndarray, common: bool = False, levels: int = LEVELS) -> tuple[np.ndarray, np.ndarray]:
    """The table PPLOAD takes (entries in [-1, 1]) and one gain per output row, applied
    after the MAC in the periphery: w ~= gains[:, None] * table. common: one gain for every
    row (the last layer: its rows' dropconnect variances are then alike). The gain is the
    one of GAIN_CLIPS x the largest |w| that rounds with the least squared error (clipping
    a few large weights buys a finer step for the rest: the eight-Gaussian network trained
    without rounding went from 0.052 to 0.036 rounded, layer 2 alone from 0.030 to 0.014)."""
    top = np.abs(w).max(axis=1)
    top[top == 0] = 1.0
    if common:
        top[:] = top.max() * GAIN_STRETCH
    best, gains = np.full(len(w), np.inf), top
    for clip in GAIN_CLIPS:
        g = top * clip
        error = ((_on_grid(np.clip(w / g[:, None], -1.0, 1.0), levels) * g[:, None] - w) ** 2).sum(1)
        total = np.full(len(w), error.sum()) if common else error
        better = total < best
        gains = np.where(better, g, gains)
        best = np.where(better, total, best)
    return np.clip(w / gains[:, None], -1.0, 1.0), gains


def _on_grid(table: np.ndarray, levels: int = LEVELS) -> np.ndarray:
    """Table entries as PPLOAD rounds them: levels + 1 values in [-1, 1]."""
    return (2.0 * np.floor((table + 1.0) * 0.5 * levels + 0.5) - levels) / levels


def rounded(w: np.ndarray, common: bool = False, levels: int = LEVELS) -> np.ndarray:
    """w as the pairs hold it: each row's table rounded to levels + 1 values (PPLOAD)."""
    table, gains = quantise(w, common, levels)
    return _on_grid(table, levels) * gains[:, None]


def as_held(params) -> list[np.ndarray]:
    """The network as the pairs hold it (layers 1 and 2 at HIDDEN_LEVELS, layer 3 at
    LEVELS with its common gain)."""
    w1, b1, w2, b2, w3, b3 = params
    return [rounded(w1, levels=HIDDEN_LEVELS), b1, rounded(w2, levels=HIDDEN_LEVELS), b2,
            rounded(w3, common=True, levels=LEVELS), b3]  # fmt: skip


def pairs_mac_variance(x: np.ndarray, q, scale: float = 1.0, levels: int = LEVELS) -> np.ndarray:
    """The MC-dropconnect variance of one output of `PPMAC out, w, x, q` on a `.pairs` array
    of `levels` and `scale`: q (1 - q) sum over the row's devices of w_c^2 x_j^2, every device
    of a cell a +-scale/levels step kept with probability q (PPLOAD's thermometer code:
    all of a cell's devices are non-zero), = q (1 - q) scale^2 / levels sum_j x_j^2,
    whatever the weights (levels = 1: q (1 - q) sum_j W_j^2 x_j^2). x: (..., cols)."""
    return q * (1.0 - q) * scale * scale / levels * (np.asarray(x) ** 2).sum(-1)


def layer3_variance(h2: np.ndarray, gain: float, q) -> np.ndarray:
    """Variance of eps_hat (each output) when layer 3 runs at q with the gain / q that keeps
    its mean unbiased: (gain / q)^2 pairs_mac_variance = gain^2 (1 - q) / (q LEVELS) sum h2^2."""
    return (gain / q) ** 2 * pairs_mac_variance(h2, q, levels=LEVELS)


def insitu_q(steps: int, gain: float) -> np.ndarray:
    """Layer 3's q per step for insitu_network: the SDE asks for x-noise cz^2 = ce^2 V, i.e.
    V = cz^2 / ce^2 = sigma^2 / (beta dt) in eps_hat; with sum h2^2 = SUM_H2 (the training
    term) layer3_variance = V when (1 - q) / q = V / V0, V0 = gain^2 SUM_H2 / LEVELS."""
    _, coefficients = schedule(steps)
    want = (coefficients[:, 2] / coefficients[:, 1]) ** 2
    v0 = gain * gain * SUM_H2 / LEVELS
    return v0 / (v0 + want)


def layer3_gain(params) -> float:
    """The last layer's common gain (GAIN_STRETCH x its largest weight: a higher q, fewer
    of the devices' own offsets, for coarser weights)."""
    return float(quantise(params[4], common=True, levels=LEVELS)[1][0])


def sample_numpy(
    params, n: int, steps: int, rng: np.random.Generator, noise: bool = True, network_gain: float = 0.0
) -> np.ndarray:
    """The same reverse SDE in float64 NumPy with exact Gaussian noise: the digital
    reference the VM's samples are compared with. network_gain > 0: instead, insitu_network's
    twin: no added noise, layer 3 MC-dropconnect sampled device by device at insitu_q
    (`dropconnect_layer3`) on ideal devices."""
    inputs, coefficients = schedule(steps)
    qs = insitu_q(steps, network_gain) if network_gain > 0 else None
    x = rng.standard_normal((n, 2))
    for k in range(steps):
        row = np.repeat(inputs[k : k + 1], n, axis=0)
        row[:, :2] = x
        eps_hat, (_, _, h2) = forward(params, row)
        cx, ce, cz = coefficients[k]
        if qs is not None:
            x = cx * x + ce * (dropconnect_layer3(params, h2, network_gain, qs[k], rng) + params[5])
        else:
            x = cx * x + ce * eps_hat + (cz * rng.standard_normal((n, 2)) if noise else 0.0)
    return x


def dropconnect_layer3(params, h2: np.ndarray, gain: float, q: float, rng) -> np.ndarray:
    """Layer 3 (bias excluded) as the pairs compute it at q with the gain / q, on ideal
    devices: each cell's LEVELS devices in PPLOAD's thermometer code (n_pos at +1/LEVELS,
    the rest at -1/LEVELS), each kept with probability q: (K+ - K-) / LEVELS per cell with
    K+ ~ Bin(n_pos, q), K- ~ Bin(LEVELS - n_pos, q), a fresh draw per sample."""
    table = quantise(params[4], common=True, levels=LEVELS)[0]
    n_pos = np.floor((table + 1.0) * 0.5 * LEVELS + 0.5).astype(np.int64)
    shape = (len(h2),) + n_pos.shape
    kept = rng.binomial(np.broadcast_to(n_pos, shape), q) - rng.binomial(
        np.broadcast_to(LEVELS - n_pos, shape), q
    )
    return (gain / q) * np.einsum("nrc,nc->nr", kept / LEVELS, h2)


# ---------------------------------------------------------------------- metric
def mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with the kernel sum_s exp(-|a - b|^2 / s^2), s in MMD_SIGMAS (this
    form reproduces PHYSICS.md's true-vs-true 95th percentile, 1.9e-3 at n = 2000)."""

    def gram(a, b):
        d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
        np.maximum(d, 0.0, out=d)
        return sum(np.exp(-d / (s * s)) for s in MMD_SIGMAS)

    kxx, kyy, kxy = gram(x, x), gram(y, y), gram(x, y)
    n, m = len(x), len(y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
        + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        - 2.0 * kxy.mean()
    )


# ---------------------------------------------------------------------- the run
def pbit_width() -> float:
    """t*: where the model's damped precession first peaks (the pulse width of 50%)."""
    from vm.config import mtj_first_peak

    return mtj_first_peak()


def program_data(params, steps: int, samples: int, mode: int, fix: dict | None = None) -> dict:
    """The tables diffusion.kta reads. fix: layer 3's correction (`correction`), none when
    omitted (its arrays then hold zeros at a zero gain)."""
    inputs, coefficients = schedule(steps)
    amplitude = 2.0 * coefficients[:, 2] / np.sqrt(NOISE_PAIRS)  # q(1-q) K c^2 = cz^2 at q = 1/2
    chop = np.where(np.arange(steps) % 2 == 0, 1.0, -1.0)
    select = np.zeros((2, 2 * NOISE_PAIRS))
    select[0, :NOISE_PAIRS] = 1.0
    select[1, NOISE_PAIRS:] = 1.0
    gain = layer3_gain(params)
    q3 = insitu_q(steps, gain) if mode == MODES["insitu_network"] else np.ones(steps)
    fix = fix or {"fa": np.zeros((2, HIDDEN)), "fb": np.zeros((2, HIDDEN)), "sa": 0.0, "sb": 0.0,
                  "f1": np.zeros((HIDDEN, N_IN)), "f2": np.zeros((HIDDEN, HIDDEN)),
                  "fg": np.zeros((2, HIDDEN))}  # fmt: skip
    data = {
        "inputs": inputs,
        "coef": np.column_stack(
            [
                coefficients,
                chop * amplitude,
                chop * coefficients[:, 2] / np.sqrt(NOISE_PAIRS),
                q3,
                gain / q3,
                q3 - 1.0,
                np.full(steps, -gain * fix["sa"]),
                -gain * fix["sb"] * (1.0 - q3),
            ]
        ),
        "noise_signs": np.tile(np.where(np.arange(NOISE_PAIRS) % 2 == 0, 1.0, -1.0), (2, 1)),
        "select": select,
        "settings": np.array(
            [[samples, mode, PBIT_VOLTS, pbit_width(), calibration_q(params), CALIBRATION_READS]],
            dtype=np.float64,
        ),
        "onehot": np.eye(HIDDEN),
        "fa": fix["fa"],
        "fb": fix["fb"],
        "onehot1": np.eye(N_IN),
        "f1": fix["f1"],
        "f2": fix["f2"],
        "fg": fix["fg"],
    }
    for k in range(3):
        table, gains = quantise(params[2 * k], common=k == 2, levels=LEVELS if k == 2 else HIDDEN_LEVELS)
        data[f"w{k + 1}"] = table
        if k < 2:
            data[f"g{k + 1}"] = gains[None, :]
        data[f"b{k + 1}"] = params[2 * k + 1][None, :]
    return data


def calibration_q(params) -> float:
    """Layer 3's calibration q: the median of the run's q3 (`insitu_q`, 0.02-0.05 on the
    three data sets). M(q) is linear in 1 - q only to first order in the p-bits' logit
    shifts; their second order, E[q_c] / q - 1 (a common gain error, e^(s^2/2) - 1 as q -> 0),
    grows at small q: measured on eight Gaussians' devices, the part of M - W1 along the
    table is 0.012 x T at q = 0.3, 0.058 x T at q = 0.06, so B taken at 0.3 left layer 3 ~4%
    short at the run's q3 (0.04-0.13): insitu_network 0.0085 (0.3) -> 0.0027 (0.06)."""
    return float(np.median(insitu_q(STEPS, layer3_gain(params))))


def calibration_macs(q_cal: float, weight: float = CALIBRATION_WEIGHT) -> int:
    """MACs at q_cal for B's standard error, sqrt(1 / (LEVELS weight)) per cell: the path's
    per-MAC variance (1 - q) / (q LEVELS), over (1 - q)^2. Measured on two moons (q_cal
    0.034): 6000 MACs gave insitu_network 0.055, 15000 (this rule's) 0.019."""
    return int(np.ceil(weight / (q_cal * (1.0 - q_cal))))


def correction(params, outputs: np.ndarray, macs: int = CALIBRATION_MACS, q_cal: float | None = None) -> dict:
    """Layer 3's correction tables from a calibration run's outputs (mode 4: per column the
    sums of `macs` MACs at q_cal (`calibration_q`), then CALIBRATION_READS at q = 1 and at
    q = 0). In table units, the insitu path (MAC(q) - (1 - q) MAC(0)) / q has the mean
    M(q) = W1 + (1 - q) B to first order in the devices' logit shifts (each p-bit's q_c =
    sigmoid(logit q + (v50 - v50_c) / w): q_c / q ~ 1 + (1 - q) delta_c), W1 the q = 1 MAC
    (its devices' rp and TMR); so C0 = W1 - T and B = (M(q_cal) - W1) / (1 - q_cal) are what
    the program takes off (fa = C0 / sa, fb = B / sb, each array's gain its largest entry)."""
    sums = outputs[: 6 * HIDDEN].reshape(HIDDEN, 3, 2)  # column, (q_cal, q = 1, q = 0), row
    mean_q = sums[:, 0].T / macs
    w_one = sums[:, 1].T / CALIBRATION_READS
    w_zero = sums[:, 2].T / CALIBRATION_READS
    table = _on_grid(quantise(params[4], common=True, levels=LEVELS)[0], LEVELS)
    q_cal = calibration_q(params) if q_cal is None else q_cal
    m_cal = (mean_q - (1.0 - q_cal) * w_zero) / q_cal
    c0 = w_one - table
    b = (m_cal - w_one) / (1.0 - q_cal)
    sa, sb = float(np.abs(c0).max()) or 1.0, float(np.abs(b).max()) or 1.0
    fix = {"fa": c0 / sa, "fb": b / sb, "sa": sa, "sb": sb}
    # layers 1 and 2 (q = 1): each cell's error W1 - T, per row its own gain
    rest = outputs[6 * HIDDEN :] / CALIBRATION_READS
    hidden = (rest[: N_IN * HIDDEN].reshape(N_IN, HIDDEN).T, rest[N_IN * HIDDEN :].reshape(HIDDEN, HIDDEN).T)
    fg = np.zeros((2, HIDDEN))
    for k, measured in enumerate(hidden):
        table, gains = quantise(params[2 * k], levels=HIDDEN_LEVELS)
        error = measured - _on_grid(table, HIDDEN_LEVELS)
        top = np.abs(error).max(axis=1)
        top[top == 0] = 1.0
        fix[f"f{k + 1}"] = error / top[:, None]
        fg[k] = -gains * top
    fix["fg"] = fg
    return fix


def calibrate(program, params, seed: int, device_seed: int, total: StatsTotal,
              macs: int = CALIBRATION_MACS, q_cal: float | None = None) -> dict:  # fmt: skip
    """Run the calibration (mode 4) on the devices of device_seed at q_cal (default
    `calibration_q`); its correction."""
    q_cal = calibration_q(params) if q_cal is None else q_cal
    data = program_data(params, 1, macs, CALIBRATE)
    data["settings"][0, 4] = q_cal
    outputs = run_machine(program, data, seed=seed, total=total, output_capacity=CALIBRATION_OUTPUTS,
                          device_seed=device_seed)  # fmt: skip
    return correction(params, outputs, macs, q_cal)


def noise_costs(samples: int = 4, steps: int = 20, seed: int = 3) -> dict:
    """The modeled cost of the noise block's and the ex-situ p-bits' noise (Table II's
    comparison, the same 2 x K p-bits per step and sample), counted: the program run in
    those modes and the noise-free one on the same (untrained: costs do not depend on the
    weights' values) network, the noise-free run subtracted. Returns, under "in_situ" (the
    noise block) and "ex_situ": bits, time_s, energy_j, bits_per_ns, pj_per_bit."""
    program = assemble("diffusion")
    params = init_network(np.random.default_rng(seed))
    spent = {}
    for name in ("no_noise", "noise_block", "exsitu"):
        total = StatsTotal()
        run_machine(program, program_data(params, steps, samples, MODES[name]), seed=seed, total=total,
                    output_capacity=2 * samples)  # fmt: skip
        stats = total.as_dict()
        spent[name] = (stats["modeled_time_s"], stats["modeled_energy_j"])
    bits = samples * steps * 2 * NOISE_PAIRS
    out = {}
    for key, name in (("in_situ", "noise_block"), ("ex_situ", "exsitu")):
        time = spent[name][0] - spent["no_noise"][0]
        energy = spent[name][1] - spent["no_noise"][1]
        out[key] = {"bits": bits, "time_s": time, "energy_j": energy,
                    "bits_per_ns": bits / (time * 1e9), "pj_per_bit": energy / bits * 1e12}  # fmt: skip
    return out


def metrics_from(arrays: dict) -> dict:
    """Per data set: each mode's MMD^2 (MMD_KEYS), the floor band, and per mode run in the VM
    its modeled cost per generated sample (MACs included) and that of its noise (minus the
    no-noise control's), from the `{set}_{mode}_cost` arrays (time_s, energy_j, samples);
    for digits also the judge's verdicts (`digit_metrics`)."""
    metrics = {}
    for name in DATASETS:
        if f"{name}_truth" not in arrays:
            continue
        metrics[name] = set_metrics(arrays, name)
        if name == "digits":
            metrics[name].update(digit_metrics(arrays))
    return metrics


def set_metrics(arrays: dict, name: str) -> dict:
    truth = arrays[f"{name}_truth"]
    floor = [mmd2(a, b) for a, b in zip(arrays[f"{name}_floor_a"], arrays[f"{name}_floor_b"], strict=True)]
    m: dict = {"samples": int(len(arrays[f"{name}_noise_block"]))}
    for mode, key in MMD_KEYS.items():
        m[key] = mmd2(arrays[f"{name}_{mode}"], truth)
    m["mmd2_insitu_network_digital"] = mmd2(arrays[f"{name}_insitu_network_digital"], truth)
    m["mmd2_floor"] = floor[0]
    m["mmd2_floor_p95"] = float(np.percentile(floor, 95))
    per_sample = {}
    for mode in MODES:
        time, energy, count = arrays[f"{name}_{mode}_cost"]
        per_sample[mode] = (float(time / count), float(energy / count))
    base = per_sample["no_noise"]
    m["costs"] = {
        mode: {
            "sample_time_s": t,
            "sample_energy_j": e,
            "noise_time_s": t - base[0],
            "noise_energy_j": e - base[1],
        }
        for mode, (t, e) in per_sample.items()
    }
    return m


def judged_keys() -> dict[str, str]:
    """The suffix of each judged image set's metrics: the modes as MMD_KEYS name them, then
    the references: held-out real digits, and their autoencoder reconstructions."""
    keys = {mode: key[len("mmd2") :] for mode, key in MMD_KEYS.items()}
    return keys | {"real": "_real", "decoded": "_decoded"}


def digit_metrics(arrays: dict) -> dict:
    """class_entropy and classifier_confidence (suffixed like mmd2) of each mode's decoded
    samples and of the references, from the judge's `digits_{set}_probs`; the
    autoencoder's held-out reconstruction error."""
    m: dict = {}
    for name, suffix in judged_keys().items():
        probabilities = arrays[f"digits_{name}_probs"]
        m[f"class_entropy{suffix}"] = latent.class_entropy(probabilities)
        m[f"classifier_confidence{suffix}"] = latent.classifier_confidence(probabilities)
    m["reconstruction_mse"] = float(
        np.mean((arrays["digits_decoded_images"] - arrays["digits_real_images"]) ** 2)
    )
    return m


def trained(options: Options, index: int, target) -> list[np.ndarray]:
    """Data set `index`'s network: the shipped one (seed 0, TRAIN_STEPS, also used by
    --quick) unless --retrain or another seed (then --quick trains QUICK_TRAIN_STEPS)."""
    name = DATASETS[index]
    steps = QUICK_TRAIN_STEPS if options.quick else TRAIN_STEPS
    rng = np.random.default_rng([options.seed, index, 0x7A1])
    return weights.trained(f"diffusion_{name}", options, lambda: train(target, steps, rng))


def autoencoder(options: Options) -> list[np.ndarray]:
    """The digits' autoencoder: shipped like the networks (seed 0), else trained."""
    images, _ = latent.digits()
    train_index, _ = latent.split(len(images))
    steps = latent.QUICK_AE_STEPS if options.quick else latent.AE_STEPS
    rng = np.random.default_rng([options.seed, 0xAE])
    return weights.trained(
        "diffusion_digits_autoencoder",
        options,
        lambda: latent.train_autoencoder(images[train_index], steps, rng),
    )


def resampler(points: np.ndarray):
    """A target that draws from a finite set (the training latents) with replacement."""
    return lambda n, rng: points[rng.integers(0, len(points), n)]


def train_all(options: Options) -> dict[str, list[np.ndarray]]:
    out = {f"diffusion_{name}": trained(options, k, TARGETS[name]) for k, name in enumerate(PLANE_SETS)}
    ae = autoencoder(options)
    out["diffusion_digits_autoencoder"] = ae
    images, _ = latent.digits()
    train_index, _ = latent.split(len(images))
    index = DATASETS.index("digits")
    out["diffusion_digits"] = trained(options, index, resampler(latent.encode(ae, images[train_index])))
    return out


def plane_set(options: Options, index: int, samples: int, draws: int) -> tuple[list[np.ndarray], dict]:
    """A 2-D target's network, truth and floor draws (fresh samples of the target)."""
    name = DATASETS[index]
    target = TARGETS[name]
    params = trained(options, index, target)
    truth_rng = np.random.default_rng([options.seed, index, 0x7E])
    arrays = {f"{name}_truth": target(samples, truth_rng)}
    arrays[f"{name}_floor_a"] = np.stack([target(samples, truth_rng) for _ in range(draws)])
    arrays[f"{name}_floor_b"] = np.stack([target(samples, truth_rng) for _ in range(draws)])
    return params, arrays


def digit_set(options: Options, index: int, samples: int, draws: int):
    """The digits' network on the autoencoder's training latents; the truth is the held-out
    images' latents, and a floor draw is `samples` training latents (other real digits,
    without replacement) against them: what a perfect generator would score. Also the
    autoencoder and the judge (trained on the training images), for `judge`."""
    images, labels = latent.digits()
    train_index, held_index = latent.split(len(images))
    ae = autoencoder(options)
    train_latents = latent.encode(ae, images[train_index])
    held = latent.encode(ae, images[held_index])
    params = trained(options, index, resampler(train_latents))
    rng = np.random.default_rng([options.seed, index, 0x7E])
    picks = [rng.choice(len(train_latents), samples, replace=False) for _ in range(draws)]
    arrays = {
        "digits_truth": held,
        "digits_floor_a": np.stack([train_latents[p] for p in picks]),
        "digits_floor_b": np.repeat(held[None], draws, axis=0),
        "digits_real_images": images[held_index],
        "digits_decoded_images": latent.decode(ae, held),
    }
    return params, arrays, ae, latent.classifier(images[train_index], labels[train_index])


def judge(arrays: dict, ae, judge_model) -> None:
    """Decode every mode's latent samples (outside the VM) and record the judge's class
    probabilities of them and of the references."""
    for name in judged_keys():
        if name not in ("real", "decoded"):
            arrays[f"digits_{name}_images"] = latent.decode(ae, arrays[f"digits_{name}"])
        arrays[f"digits_{name}_probs"] = judge_model.predict_proba(arrays[f"digits_{name}_images"])


def run(options: Options) -> Result:
    program = assemble("diffusion")
    steps = QUICK_STEPS if options.quick else STEPS
    draws = QUICK_FLOOR_DRAWS if options.quick else FLOOR_DRAWS
    total = StatsTotal()
    arrays: dict = {}
    jobs = len(DATASETS) * (1 + len(MODES))
    done = 0
    for index, name in enumerate(DATASETS):
        report(options, f"diffusion {name} training", done, jobs)
        if name == "digits":
            samples = QUICK_DIGIT_SAMPLES if options.quick else DIGIT_SAMPLES
            params, found, ae, judge_model = digit_set(options, index, samples, draws)
        else:
            samples = QUICK_SAMPLES if options.quick else SAMPLES
            params, found = plane_set(options, index, samples, draws)
        arrays.update(found)
        done += 1
        device_seed = options.seed * 1009 + 17 * index
        weight = QUICK_CALIBRATION_WEIGHT if options.quick else CALIBRATION_WEIGHT
        macs = calibration_macs(calibration_q(params), weight)
        fix = calibrate(program, params, device_seed + 5, device_seed, total, macs)
        for mode_name, mode in MODES.items():
            report(options, f"diffusion {name} {mode_name}", done, jobs)
            spent = StatsTotal()
            outputs = run_machine(
                program,
                program_data(params, steps, samples, mode, fix),
                seed=options.seed * 1009 + 17 * index + mode + 1,
                total=spent,
                output_capacity=2 * samples,
                device_seed=device_seed,
            )
            total.merge(spent)
            stats = spent.as_dict()
            arrays[f"{name}_{mode_name}"] = outputs.reshape(samples, 2)
            arrays[f"{name}_{mode_name}_cost"] = np.array(
                [stats["modeled_time_s"], stats["modeled_energy_j"], samples], dtype=np.float64
            )
            done += 1
        held = as_held(params)
        arrays[f"{name}_digital"] = sample_numpy(
            held, samples, steps, np.random.default_rng([options.seed, index, 0xD1])
        )
        arrays[f"{name}_insitu_network_digital"] = sample_numpy(
            held,
            samples,
            steps,
            np.random.default_rng([options.seed, index, 0xD2]),
            network_gain=layer3_gain(params),
        )
        if name == "digits":
            judge(arrays, ae, judge_model)
    report(options, "diffusion", jobs, jobs)
    return Result("diffusion", metrics_from(arrays), total.as_dict(), arrays)


PANELS = (
    ("truth", "target"),
    ("insitu_network", "in-situ (the network's dropconnect)"),
    ("noise_block", "noise block (pairs at q = 0.5)"),
    ("exsitu", "ex-situ (sensed p-bits)"),
    ("no_noise", "no noise (control)"),
)


def plot(arrays: dict, metrics: dict, path) -> None:
    """A row of samples per data set (digits: its latents, the held-out ones as the target),
    then the decoded digits per mode (the held-out real ones first)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = [name for name in DATASETS if name in metrics]
    rows = len(sets) + ("digits" in sets)
    fig, axes = plt.subplots(rows, len(PANELS), figsize=(3.2 * len(PANELS), 3.3 * rows), squeeze=False)
    for row, name in zip(axes, sets, strict=False):
        truth = arrays[f"{name}_truth"]
        lim = np.abs(truth).max() * 1.25
        for ax, (key, title) in zip(row, PANELS, strict=True):
            pts = arrays[f"{name}_{key}"]
            ax.scatter(truth[:, 0], truth[:, 1], s=2, c="lightgrey")
            ax.scatter(pts[:, 0], pts[:, 1], s=2, c="tab:blue" if key != "truth" else "black")
            label = f"\nMMD^2 {metrics[name][MMD_KEYS[key]]:.2g}" if key in MMD_KEYS else ""
            ax.set_title(f"{name}: {title}{label}", fontsize=8)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
    if "digits" in sets:
        suffixes = judged_keys()
        for ax, (key, title) in zip(axes[-1], PANELS, strict=True):
            key = "real" if key == "truth" else key
            m = metrics["digits"]
            ax.imshow(latent.mosaic(arrays[f"digits_{key}_images"]), cmap="gray_r", vmin=0, vmax=1)
            ax.set_title(
                f"digits decoded: {'held-out real' if key == 'real' else title}\nclass entropy "
                f"{m['class_entropy' + suffixes[key]]:.2f}, confidence {m['classifier_confidence' + suffixes[key]]:.2f}",
                fontsize=8,
            )
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
