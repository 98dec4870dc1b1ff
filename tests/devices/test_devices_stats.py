"""Device physics through the VM, checked against equations and statistics (fixed seeds;
tolerances stated in each test). Expected values are computed here from PHYSICS.md's
equations, never read back from the implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from ktasm.assembler import assemble_text
from vm import Machine

pytestmark = pytest.mark.slow  # statistics and whole runs: `-m 'not slow'` skips them


def run(src, data=None, seed=1, **vectors):
    m = Machine(assemble_text(src), data or {}, seed=seed)
    result = m.run()
    assert result.reason in ("end", "halted"), result.fault
    return m, result


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------- p-bits
def test_pbit_transfer_curve_follows_tanh():
    """<m> = tanh(beta I) at 21 inputs: chi-square of the +1 counts, p > 0.001."""
    inputs = np.linspace(-2, 2, 21)
    reps, beta = 3000, 0.8
    m, r = run(
        f"""
.vec i n=21
.vec s n=21
.data inputs
    VLD i, inputs, 0
    LOOP {reps}
        VPBIT s, i, {beta}
        VOUT s
    ENDLOOP
""",
        {"inputs": inputs[None, :]},
    )
    samples = r.outputs.reshape(reps, 21)
    assert set(np.unique(samples)) == {-1.0, 1.0}
    ups = (samples > 0).sum(axis=0)
    p = sigmoid(2 * beta * inputs)
    chi2 = np.sum((ups - reps * p) ** 2 / (reps * p * (1 - p)))
    assert stats.chi2.sf(chi2, 21) > 1e-3
    np.testing.assert_allclose(samples.mean(axis=0), np.tanh(beta * inputs), atol=4 / math.sqrt(reps))
    # the scalar p-bit is the same law
    m, r = run("LOOP 20000\n PBIT r1, 0.4, 1.5\n OUT r1\nENDLOOP\n")
    k = (r.outputs > 0).sum()
    assert abs(k - 20000 * sigmoid(1.2)) < 4 * math.sqrt(20000 * sigmoid(1.2) * (1 - sigmoid(1.2)))


def test_pdit_frequencies_follow_softmax():
    logits, beta, n = np.array([0.0, 1.0, -0.5, 2.0]), 0.7, 40000
    m, r = run(f"""
    MOV r0, {logits[0]}
    MOV r1, {logits[1]}
    MOV r2, {logits[2]}
    MOV r3, {logits[3]}
    LOOP {n}
        PDIT r9, r0..r3, {beta}
        OUT r9
    ENDLOOP
""")
    counts = np.bincount(r.outputs.astype(int), minlength=4)
    p = np.exp(beta * logits) / np.exp(beta * logits).sum()
    assert stats.chisquare(counts, n * p).pvalue > 1e-3


def test_coin_is_the_sign_of_a_low_voltage_read():
    """A balanced kT-bit's coin is fair; a leaning one follows its lean."""
    src = """
.core cols=1 seed=5
.aat x = 0
    SETY L0, x, {y0}, 0.05
    LOOP 4000
        COIN r1, L0, x
        OUT r1
    ENDLOOP
"""
    _, fair = run(src.format(y0=0.0))
    _, up = run(src.format(y0=0.05))
    _, down = run(src.format(y0=-0.05))
    assert abs(fair.outputs.mean()) < 4 / math.sqrt(4000)
    assert up.outputs.mean() > 0.3 and down.outputs.mean() < -0.3
    assert set(np.unique(fair.outputs)) == {-1.0, 1.0}


def test_ising_sweeps_sample_the_boltzmann_law():
    """4x4 periodic lattice at beta = 0.35: <E> and <|M|> per site against exact
    enumeration of all 2^16 states, within 4 batch-means standard errors."""
    side, beta, sweeps = 4, 0.35, 20000
    m, r = run(f"""
.vec s n=16
    VFILL s, 1
    LOOP {sweeps}
        ISING s, 1, 0, {beta}
        VOUT s
    ENDLOOP
""")
    spins = r.outputs.reshape(sweeps, side, side)[1000:]
    energy = -(spins * np.roll(spins, 1, 1) + spins * np.roll(spins, 1, 2)).sum(axis=(1, 2)) / 16
    magnet = np.abs(spins.sum(axis=(1, 2))) / 16
    states = ((np.arange(2**16)[:, None] >> np.arange(16)) & 1) * 2.0 - 1
    grid = states.reshape(-1, side, side)
    e_all = -(grid * np.roll(grid, 1, 1) + grid * np.roll(grid, 1, 2)).sum(axis=(1, 2))
    w = np.exp(-beta * (e_all - e_all.min()))
    w /= w.sum()
    exact_e = (w * e_all).sum() / 16
    exact_m = (w * np.abs(grid.sum(axis=(1, 2)))).sum() / 16
    for series, exact in ((energy, exact_e), (magnet, exact_m)):
        batches = series[: len(series) // 50 * 50].reshape(50, -1).mean(axis=1)
        se = batches.std(ddof=1) / math.sqrt(50)
        assert abs(series.mean() - exact) < 4 * se, (series.mean(), exact, se)


# ---------------------------------------------------------------- MTJ
def switching_law(
    v, t, v50=1.5, w=0.23, t_half=0.7e-9, tau_phi=1.5e-9, t_prec=5e-9, delta0=19.9, vc=1.5, tau0=1e-9
):
    """PHYSICS.md section 2: precessional sigmoid x damped cosine (normalised at its first
    peak), then Neel-Brown escape for the part of a pulse beyond t_prec."""
    from scipy.optimize import minimize_scalar

    def d(s):
        return 0.5 * (1 - np.cos(np.pi * s / t_half) * np.exp(-s / tau_phi))

    peak = -minimize_scalar(
        lambda ns: -d(ns * 1e-9),
        bounds=(0.5e9 * t_half, 1.2e9 * t_half),
        method="bounded",
        options={"xatol": 1e-9},
    ).fun
    p = sigmoid((v - v50) / w) * d(min(t, t_prec)) / peak
    if t > t_prec:
        tau = tau0 * np.exp(delta0 * max(0.0, 1 - v / vc))
        p = 1 - (1 - p) * np.exp(-(t - t_prec) / tau)
    return p


@pytest.mark.parametrize(
    "volts,width",
    [
        (1.5, 0.6666e-9),
        (1.0, 0.7e-9),
        (1.9, 0.7e-9),
        (1.5, 0.3e-9),
        (1.5, 1.4e-9),
        (1.0, 300e-9),
        (0.8, 2e-6),
    ],
)
def test_mtj_switching_probability_follows_the_compact_model(volts, width):
    """Switched fraction of 20000 identical devices within 4 binomial sigmas of the model,
    over amplitude (the 1 V window around 1.5 V), duration (the precession) and the
    thermal regime of long, low pulses."""
    n = 20000
    m, r = run(f"""
.mtj d n={n} spread=0
.vec s n={n}
    MPULSE d, {volts}, {width}
    MSTATE s, d
    VSUM r0, s
    OUT r0
""")
    p = switching_law(volts, width)
    assert abs(r.outputs[0] - n * p) <= 4 * math.sqrt(n * p * (1 - p)) + 1, (r.outputs[0] / n, p)


def test_mtj_seed_figures_half_switching_at_1p5_volts_first_peak_and_window():
    v = np.linspace(0.5, 2.5, 401)
    p = switching_law(v, 0.6666e-9)
    assert abs(np.interp(0.5, p, v) - 1.5) < 0.01
    assert 0.9 < np.interp(0.9, p, v) - np.interp(0.1, p, v) < 1.1  # ~1 V stochastic window
    t = np.linspace(0.05e-9, 3e-9, 600)
    assert abs(t[np.argmax([switching_law(1.5, s) for s in t])] - 0.7e-9) < 0.06e-9


def _stream(mode, q, n_devices=32, pulses=3000, seed=3):
    w = 0.23  # the switching window: V(q) = v50 + w ln(q/(1-q)) at the first peak
    volts = 1.5 + w * math.log(q / (1 - q))
    m, r = run(
        f"""
.mtj d n={n_devices} spread=0 mode={mode}
.vec s n={n_devices}
    LOOP {pulses}
        MPULSE d, {volts}, {_first_peak()}
        MSTATE s, d
        VOUT s
    ENDLOOP
""",
        seed=seed,
    )
    return r.outputs.reshape(pulses, n_devices).T, m


def _first_peak(t_half=0.7e-9, tau_phi=1.5e-9):
    a = math.pi / t_half
    return (math.pi - math.atan(1 / (a * tau_phi))) / a


def test_toggle_stream_autocorrelation_is_one_minus_2q_to_the_k():
    q = 0.2
    bits, _ = _stream("toggle", q)
    s = 2 * bits - 1
    s = s - s.mean(axis=1, keepdims=True)
    for k in range(1, 6):
        rho = (s[:, k:] * s[:, :-k]).mean() / (s * s).mean()
        se = math.sqrt((1 + (1 - 2 * q) ** 2) / (1 - (1 - 2 * q) ** 2) / s.size)
        assert abs(rho - (1 - 2 * q) ** k) < 5 * se, (k, rho)


@pytest.mark.parametrize("mode", ["reset", "toggle"])
def test_half_probability_streams_pass_monobit_runs_and_autocorrelation(mode):
    """NIST SP800-22-style checks on the concatenated stream: monobit and runs tests
    (p > 0.001) and |autocorrelation| at lags 1..8 within 4/sqrt(n)."""
    bits, _ = _stream(mode, 0.5)
    stream = bits.ravel()
    n = stream.size
    s_obs = abs((2 * stream - 1).sum()) / math.sqrt(n)
    assert math.erfc(s_obs / math.sqrt(2)) > 1e-3
    pi = stream.mean()
    runs = 1 + np.count_nonzero(stream[1:] != stream[:-1])
    p_runs = math.erfc(abs(runs - 2 * n * pi * (1 - pi)) / (2 * math.sqrt(2 * n) * pi * (1 - pi)))
    assert p_runs > 1e-3
    x = 2 * bits - 1.0
    for k in range(1, 9):
        assert abs((x[:, k:] * x[:, :-k]).mean()) < 4 / math.sqrt(x[:, k:].size)


def test_tmr_at_200_millivolts_is_0p862_of_tmr0():
    m, r = run("""
.mtj d n=2 spread=0 read_noise=0 tmr=1.5
.vec g n=2
.vec r n=2
    MPULSE d, 3, 1e-6
    MREAD g, d, 0.2
    VOUT g
    MRESET d
    MREAD g, d, 0.2
    VOUT g
    MRES r, d, 0.0
    VOUT r
""")
    g_ap, g_p, r_p = r.outputs[0], r.outputs[2], r.outputs[4]
    assert r_p == pytest.approx(5e3)
    assert (g_p / g_ap - 1) / 1.5 == pytest.approx(1 / 1.16, rel=1e-12)
    assert (g_p / g_ap - 1) / 1.5 == pytest.approx(0.862, abs=5e-4)


def test_mtj_costs_are_added_to_stats():
    m, r = run(".mtj d n=100 spread=0 mode=toggle\n MPULSE d, 1.5, 2e-9\n MPULSE d, 1.5, 3e-9\n")
    mtj = r.stats["by_family"]["mtj"]
    assert mtj["time_s"] == pytest.approx(5e-9)
    # every device draws V^2/R for the pulse: between all-AP and all-P bounds
    assert 100 * 1.5**2 / 1e4 * 5e-9 <= mtj["energy_j"] <= 100 * 1.5**2 / 5e3 * 5e-9
    assert r.stats["modeled_time_s"] == pytest.approx(5e-9)


# ---------------------------------------------------------------- probabilistic pairs
def test_pair_states_at_q_half_are_quarter_half_quarter():
    rows, cols = 40, 50
    signs = np.where(np.random.default_rng(0).random((rows, cols)) < 0.5, 1.0, -1.0)
    reps = 20
    m, r = run(
        f"""
.pairs w rows={rows} cols={cols} read_noise=0.02
.vec x n={cols}
.vec y n={rows}
.vec cells n={rows * cols}
.data weights
    PPLOAD w, weights
    LOOP {reps}
        PPMAC y, w, x, 0.5
        PPSTATE cells, w
        VOUT cells
    ENDLOOP
""",
        {"weights": signs},
    )
    cells = r.outputs
    plus, zero, minus = (cells > 0.5).sum(), (np.abs(cells) <= 0.5).sum(), (cells < -0.5).sum()
    n = cells.size
    assert stats.chisquare([plus, zero, minus], [n / 4, n / 2, n / 4]).pvalue > 1e-3
    # three separated states: 2% read noise is ~0.05 dG per read, so 7 sigma is 0.35 dG
    assert np.all(np.abs(cells - np.round(cells)) < 0.35)


@pytest.mark.parametrize("levels,q", [(1, 0.5), (1, 0.3), (3, 0.7)])
def test_masked_mac_mean_and_variance_match_dropconnect(levels, q):
    """E[y] = q W x and Var[y] = q(1-q) sum_jk (s_jk/levels)^2 x_j^2 (scale 1): the PHYSICS.md
    formula for sign weights, summed over the pairs of multi-level weights."""
    rows, cols, reps = 4, 30, 6000
    rng = np.random.default_rng(1)
    weights = rng.uniform(-1, 1, (rows, cols))
    x = rng.normal(size=cols)
    data = {"weights": weights, "input": x[None, :]}

    def products(q, reps):
        return run(
            f"""
.pairs w rows={rows} cols={cols} levels={levels} read_noise=0 spread=0
.vec x n={cols}
.vec y n={rows}
.data weights
.data input
    PPLOAD w, weights
    VLD x, input, 0
    LOOP {reps}
        PPMAC y, w, x, {q}
        VOUT y
    ENDLOOP
""",
            data,
        )[1].outputs.reshape(reps, rows)

    y = products(q, reps)
    n_pos = np.floor((weights + 1) / 2 * levels + 0.5)
    pair_signs = np.where(np.arange(levels)[None, None, :] < n_pos[..., None], 1.0, -1.0) / levels
    w_q = pair_signs.sum(axis=2)
    mean = q * w_q @ x
    var = q * (1 - q) * ((pair_signs**2).sum(axis=2) * x[None, :] ** 2).sum(axis=1)
    assert np.all(np.abs(y.mean(axis=0) - mean) < 4 * np.sqrt(var / reps))
    ratio = y.var(axis=0, ddof=1) / var
    assert np.all(np.abs(ratio - 1) < 4 * math.sqrt(2 / reps)), ratio
    # q = 1: the deterministic product of the rounded weights
    np.testing.assert_allclose(products(1, 1)[0], w_q @ x, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("levels", [1, 5])
def test_mac_read_noise_is_every_devices_read_error_summed(levels):
    """q = 1 with read noise sigma: each of a cell's 2*levels devices reads G (1 + sigma z),
    so Var[y_i] = sigma^2 (G_P^2 + G_AP^2) / (levels dG^2) sum_j x_j^2 (scale 1), with G_P =
    1/rp, G_AP = 1/(rp (1 + TMR(v))), TMR(v) = tmr / (1 + (v/vh)^2): the compact model."""
    rows, cols, reps, sigma = 3, 20, 5000, 0.05
    rp, tmr, vh, v = 5000.0, 1.5, 0.5, 0.2
    rng = np.random.default_rng(2)
    x = rng.normal(size=cols)
    y = run(
        f"""
.pairs w rows={rows} cols={cols} levels={levels} read_noise={sigma} rp={rp} tmr={tmr} vh={vh} v_read={v}
.vec x n={cols}
.vec y n={rows}
.data weights
.data input
    PPLOAD w, weights
    VLD x, input, 0
    LOOP {reps}
        PPMAC y, w, x, 1
        VOUT y
    ENDLOOP
""",
        {"weights": rng.choice([-1.0, 1.0], (rows, cols)), "input": x[None, :]},
    )[1].outputs.reshape(reps, rows)
    g_p = 1 / rp
    g_ap = 1 / (rp * (1 + tmr / (1 + (v / vh) ** 2)))
    var = sigma**2 * (g_p**2 + g_ap**2) / (levels * (g_p - g_ap) ** 2) * np.sum(x**2)
    ratio = y.var(axis=0, ddof=1) / var
    assert np.all(np.abs(ratio - 1) < 4 * math.sqrt(2 / reps)), ratio


# ---------------------------------------------------------------- Langevin
def double_well_reference(temperature):
    v = lambda x: (x * x - 1) ** 2  # noqa: E731
    z = integrate.quad(lambda x: math.exp(-v(x) / temperature), -4, 4)[0]
    moments = [
        integrate.quad(lambda x, k=k: x**k * math.exp(-v(x) / temperature), -4, 4)[0] / z for k in (2, 4)
    ]
    grid = np.linspace(-4, 4, 400001)
    dens = np.exp(-v(grid) / temperature)
    cdf = np.concatenate([[0], np.cumsum((dens[1:] + dens[:-1]) / 2)])
    cdf /= cdf[-1]
    return moments, lambda x: np.interp(x, grid, cdf)


def _double_well_samples(temperature, dt, n, tf=4.0, windows=1, seed=2):
    m, r = run(
        f"""
.bank h n={n} j2=-4 j3=0 j4=4 temperature={temperature} dt={dt} tf={tf} rail=5
.vec zero n={n}
    RELAX h, zero
    LOOP {windows}
        RELAX h, zero
        VOUT h
    ENDLOOP
""",
        seed=seed,
    )
    return r.outputs.reshape(windows, n), r


@pytest.mark.parametrize("temperature,exact", [(0.5, (0.85214, 0.97714)), (0.25, (0.91767, 0.98017))])
def test_double_well_samples_the_boltzmann_density(temperature, exact):
    (m2, m4), cdf = double_well_reference(temperature)
    assert (m2, m4) == pytest.approx(exact, abs=1e-5)  # the PHYSICS.md numbers
    samples, _ = _double_well_samples(temperature, 0.002, 16384)
    x = samples[0]
    assert stats.kstest(x, cdf).pvalue > 1e-3
    for k, exact_k in ((2, m2), (4, m4)):
        se = (x**k).std() / math.sqrt(x.size)
        assert abs((x**k).mean() - exact_k) < 3 * se, (k, (x**k).mean(), exact_k, se)


def test_halving_dt_halves_the_euler_maruyama_bias():
    (m2, _), _ = double_well_reference(0.5)
    bias = []
    for dt in (0.04, 0.02):
        samples, _ = _double_well_samples(0.5, dt, 65536, tf=2.0, windows=6)
        bias.append((samples**2).mean() - m2)
    assert 1.5 < bias[0] / bias[1] < 2.7, bias


def test_relax_costs_its_window_whatever_the_width():
    times = []
    for n in (4, 4096):
        _, r = _double_well_samples(0.5, 0.05, n, tf=0.5)
        times.append(r.stats["by_family"]["langevin"]["time_s"])
    assert times[0] == times[1] == pytest.approx(2 * 0.5 * 1e-9)


def test_ou_sampler_is_exact_no_euler_maruyama_inflation():
    """window = tau0 (theta h = 1): EM would inflate the variance 2x; the exact step keeps
    scale^2, and lag-1 correlation exp(-1)."""
    n, steps = 4096, 200
    m, r = run(f"""
.ou s n={n} tau0=1e-7 window=1e-7
    OUS s, 2, 1.5
    LOOP {steps}
        OUS s, 2, 1.5
        VOUT s
    ENDLOOP
""")
    x = r.outputs.reshape(steps, n)[20:]
    np.testing.assert_array_equal(m.vector("s"), x[-1])  # an .ou name is its state vector
    assert abs(x.mean() - 2) < 4 * 1.5 / math.sqrt(x.size) * math.sqrt((1 + math.e**-1) / (1 - math.e**-1))
    assert abs(x.var() / 1.5**2 - 1) < 0.03
    c = x - x.mean()
    assert abs((c[1:] * c[:-1]).mean() / (c * c).mean() - math.exp(-1)) < 0.01
    assert r.stats["by_family"]["langevin"]["time_s"] == pytest.approx((steps + 1) * 1e-7)


def test_mixture_sampler_draws_the_mixture():
    table = np.array([[1.0, -3.0, 0.5], [2.0, 1.0, 1.0], [1.0, 4.0, 0.3]])
    n = 20000
    m, r = run(
        f"""
.ou s n={n} tau0=1e-8 window=1e-6
.data mix
    MIXS s, mix
    VOUT s
""",
        {"mix": table},
    )
    weights = table[:, 0] / table[:, 0].sum()

    def cdf(x):
        return sum(
            w * stats.norm.cdf(x, mean, scale) for w, (_, mean, scale) in zip(weights, table, strict=True)
        )

    assert stats.kstest(r.outputs, cdf).pvalue > 1e-3


# ---------------------------------------------------------------- faults and checkpoints
@pytest.mark.parametrize(
    "body,message",
    [
        # bad values in registers: the same constants are refused by the assembler
        ("MOV r5, 1.5\n PPMAC y, w, x, r5", "keep probability q = 1.5 out of range [0, 1]"),
        ("MOV r5, 4\n VGET r1, x, r5", "vector index 4 out of range"),
        ("MOV r5, -1e-9\n MPULSE d, 1.5, r5", "pulse -1e-09 is not a finite amplitude and a width >= 0"),
        ("MOV r5, -1\n OUS o, 0, r5", "sampler scale -1 must be a finite number >= 0"),
        ("PBIT r1, r2, 1\n DIV r2, 1, r3", "division by zero"),
    ],
)
def test_device_faults_stop_with_a_message(body, message):
    src = f""".pairs w rows=2 cols=4
.vec x n=4
.vec y n=2
.mtj d n=3
.ou o n=2
    {body}
"""
    r = Machine(assemble_text(src)).run()
    assert r.reason == "fault"
    assert r.fault.message == message


def test_checkpoint_of_devices_resumes_bit_for_bit(tmp_path):
    src = """
.bank h n=64 j2=-4 j4=4 temperature=0.5 dt=0.05 tf=0.5
.mtj d n=16 mode=toggle
.pairs w rows=3 cols=4 levels=2
.vec x n=4
.vec y n=3
.vec cur n=64
.vec s n=16
.data weights
    PPLOAD w, weights
    VFILL x, 0.5
    LOOP 40
        RELAX h, cur
        MPULSE d, 1.5, 0.7e-9
        MSTATE s, d
        PPMAC y, w, x, 0.5
        VOUT y
        VOUT s
        VGET r1, h, 7
        OUT r1
    ENDLOOP
"""
    weights = np.array([[1, -1, 0.5, 0], [-0.3, 1, 1, -1], [0, 0, 1, 1.0]])
    program = assemble_text(src)
    whole = Machine(program, {"weights": weights}, seed=4).run()
    first = Machine(program, {"weights": weights}, seed=4)
    first.run(max_steps=123)
    first.save_checkpoint(tmp_path / "c.npz")
    resumed = Machine(program, {"weights": weights}, seed=99)
    resumed.load_checkpoint(tmp_path / "c.npz")
    rest = resumed.run()
    np.testing.assert_array_equal(rest.outputs, whole.outputs)
    assert rest.stats["modeled_energy_j"] == whole.stats["modeled_energy_j"]
