"""True random number generation from VCMA-MTJ p-bits (seed 004, Section III, Figs. 11-18).

trng.kta pulses MTJ p-bits of the integrated arrays (one device and an array of 1024, in
reset and in toggle mode) and writes out their bits; this driver first measures every
device's switching curve with the same program (a sweep of pulse amplitudes) and fits
each device's 50% amplitude, so the "calibrated" streams pulse each device at its own
(MPULSEV), and the raw ones at the nominal 1.5 V. Every stream is scored by the NIST
SP800-22 battery (vm/devices/nist.py), its Shannon entropy on 4096 bits (Fig. 18), the
inter-sample Hamming distance (Fig. 17) and its autocorrelation at lags 1..16 (Fig. 16).
The standalone chip's curves against pulse width and amplitude (Figs. 11, 12) and the
array's per-device curves (Fig. 13) are measured too, and are the plot.
"""

from __future__ import annotations

import math

import numpy as np

from ktasm.programs import Options, Result, StatsTotal, assemble, report, run_machine

SUMMARY = "true random bits from MTJ p-bits: the NIST SP800-22 battery, entropy, Figs. 11-18"

N = 1024  # = the program's array size
DEVICES = {"one_reset": 0, "one_toggle": 1, "array_reset": 2, "array_toggle": 3}  # the program's codes
SOLO = 4  # the standalone-chip array
SEQUENCE_BITS, QUICK_SEQUENCE_BITS = 1 << 20, 1 << 16
CHUNKS = 4  # sequences per stream: the excursion tests use the first one with J >= 500
CAL_VOLTS = np.linspace(0.8, 2.2, 15)  # the calibration sweep (and Fig. 13)
CAL_PULSES, QUICK_CAL_PULSES = 400, 100
TRIM_BITS, QUICK_TRIM_BITS = 1 << 24, 1 << 18  # device pulses of the trim after the fit
WIDTHS = np.linspace(0.05e-9, 3.0e-9, 60)  # Fig. 11 at 1.5 V
VOLTS = np.linspace(0.4, 2.6, 45)  # Fig. 12 at the first peak
CURVE_PULSES, QUICK_CURVE_PULSES = 40, 10
NOMINAL_VOLTS = 1.5  # the seed's 50% amplitude (Fig. 12)
ENTROPY_BITS = 4096  # Fig. 18
SBS_BITS = 300  # Fig. 14: one stochastic bit stream
LAGS = 16
STREAMS = tuple(f"{d}_{c}" for d in DEVICES for c in ("raw", "calibrated"))


def first_peak_width() -> float:
    """t*: where the model's damped precession first peaks (the pulse width of 50%)."""
    from vm.config import mtj_first_peak

    return mtj_first_peak()


AIMS = (
    (
        "array_reset_calibrated: every NIST SP800-22 test passes at alpha = 0.01",
        lambda m: all(p is not None and p >= 0.01 for p in m["nist"]["array_reset_calibrated"].values()),
    ),
    (
        "array_reset_calibrated: Shannon entropy >= 0.9999 on 4096 bits (Fig. 18: 0.999986)",
        lambda m: m["entropy"]["array_reset_calibrated"] >= 0.9999,
    ),
    (
        "calibrated streams: inter-sample Hamming distance 0.5 +- 0.01 (Fig. 17)",
        lambda m: all(abs(m["hamming_mean"][f"{d}_calibrated"] - 0.5) <= 0.01 for d in DEVICES),
    ),
    (
        "standalone chip: first switching peak at 700 +- 50 ps (Fig. 11)",
        lambda m: abs(m["curves"]["first_peak_ps"] - 700) <= 50,
    ),
    (
        "standalone chip: 50% switching at 1.5 +- 0.05 V with a ~1 V window (Fig. 12)",
        lambda m: (
            abs(m["curves"]["half_switching_v"] - 1.5) <= 0.05 and 0.8 <= m["curves"]["window_v"] <= 1.2
        ),
    ),
)


# ---------------------------------------------------------------------- runs
def _data(
    task: int, device: int, pulses: int, calibrated: int = 0, sweep=None, stream=None, amps=None
) -> dict:
    amps_one, amps_arr = (
        amps if amps is not None else (np.full((2, 1), NOMINAL_VOLTS), np.full((2, N), NOMINAL_VOLTS))
    )
    return {
        "settings": np.array([[task, device, pulses, calibrated]], dtype=np.float64),
        "sweep": np.asarray(
            sweep if sweep is not None else [[NOMINAL_VOLTS, first_peak_width()]], dtype=np.float64
        ),
        "stream": np.asarray(
            stream if stream is not None else [[NOMINAL_VOLTS, first_peak_width()]], dtype=np.float64
        ),
        "amps_one": amps_one,
        "amps_arr": amps_arr,
    }


DEVICE_SEED = 0xD5  # every run of the driver sees the same devices (their v50, rp, TMR0)


def sweep(
    program, device: int, rows, pulses: int, seed: int, total: StatsTotal, device_seed: int = DEVICE_SEED
) -> np.ndarray:
    """Switching probability of every device of `device` at each (volts, width) row."""
    rows = np.asarray(rows, dtype=np.float64)
    n = 1 if device in (0, 1) else N
    out = run_machine(
        program,
        _data(0, device, pulses, sweep=rows),
        seed=seed,
        total=total,
        output_capacity=len(rows) * n,
        device_seed=device_seed,
    )
    return out.reshape(len(rows), n) / pulses


def stream(
    program,
    device: int,
    bits: int,
    seed: int,
    total: StatsTotal,
    calibrated=None,
    device_seed: int = DEVICE_SEED,
) -> np.ndarray:
    """`bits` bits from `device` (pulse after pulse, devices in order), as uint8."""
    n = 1 if device in (0, 1) else N
    pulses = bits // n
    out = run_machine(
        program,
        _data(1, device, pulses, calibrated=int(calibrated is not None), amps=calibrated),
        seed=seed,
        total=total,
        output_capacity=pulses * n,
        device_seed=device_seed,
    )
    return out.astype(np.uint8)


def fit_line(volts: np.ndarray, p: np.ndarray, pulses: int) -> tuple[np.ndarray, np.ndarray]:
    """Each device's (50% amplitude, logit slope per volt): a weighted least-squares line
    through logit(P) against V (P clipped half a count from 0 and 1; weights n P (1 - P))."""
    clipped = np.clip(p, 0.5 / pulses, 1 - 0.5 / pulses)
    logit = np.log(clipped / (1 - clipped))
    w = pulses * clipped * (1 - clipped)
    v = volts[:, None]
    sw, sv, sl = w.sum(0), (w * v).sum(0), (w * logit).sum(0)
    svv, svl = (w * v * v).sum(0), (w * v * logit).sum(0)
    slope = (sw * svl - sv * sl) / (sw * svv - sv * sv)
    intercept = (sl - slope * sv) / sw
    return -intercept / slope, slope


def calibrate(
    program,
    device: int,
    pulses: int,
    trim_bits: int,
    seed: int,
    total: StatsTotal,
    devices: int = DEVICE_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """(each device's 50% amplitude, the sweep's P per row and device), measured by the
    program: a line fitted to the sweep, then a trim: the devices pulsed at those amplitudes
    (trim_bits device pulses in all) and each moved by (0.5 - its measured switching
    fraction) / (its slope at 50%, slope / 4). A toggle device switched where its bit flips."""
    rows = np.column_stack([CAL_VOLTS, np.full(len(CAL_VOLTS), first_peak_width())])
    p = sweep(program, device, rows, pulses, seed, total, devices)
    v50, slope = fit_line(CAL_VOLTS, p, pulses)
    n = 1 if device in (0, 1) else N
    amps_one, amps_arr = np.full((2, 1), NOMINAL_VOLTS), np.full((2, N), NOMINAL_VOLTS)
    if device in (0, 1):
        amps_one[device] = v50
    else:
        amps_arr[device - 2] = v50
    trim = max(trim_bits // n, 1) * n
    bits = stream(program, device, trim, seed + 1, total, (amps_one, amps_arr), devices)
    columns = bits.reshape(-1, n)
    if device in (1, 3):  # toggle mode
        measured = np.mean(columns[1:] != columns[:-1], axis=0)
    else:
        measured = columns.mean(axis=0)
    return v50 + (0.5 - measured) / (slope / 4.0), p


def fit_v50(volts: np.ndarray, p: np.ndarray, pulses: int) -> np.ndarray:
    """Each device's 50% amplitude from the fitted line alone."""
    return fit_line(volts, p, pulses)[0]


def run(options: Options) -> Result:
    program = assemble("trng")
    quick = options.quick
    cal_pulses = QUICK_CAL_PULSES if quick else CAL_PULSES
    curve_pulses = QUICK_CURVE_PULSES if quick else CURVE_PULSES
    bits = (QUICK_SEQUENCE_BITS if quick else SEQUENCE_BITS) * CHUNKS
    t_star = first_peak_width()
    total = StatsTotal()
    arrays: dict[str, np.ndarray] = {}
    jobs = len(DEVICES) + len(STREAMS) + 2
    done = 0
    seed = options.seed * 7919 + 1  # each run its own random stream, all the same devices
    devices = DEVICE_SEED + options.seed
    trim_bits = QUICK_TRIM_BITS if quick else TRIM_BITS
    v50_fit = {}
    for name, code in DEVICES.items():
        report(options, f"trng calibrate {name}", done, jobs)
        v50_fit[name], arrays[f"curve_{name}"] = calibrate(
            program, code, cal_pulses, trim_bits, seed + 100 + 2 * code, total, devices
        )
        done += 1
    arrays["curve_volts"] = CAL_VOLTS
    amps = (
        np.array([[v50_fit["one_reset"][0]], [v50_fit["one_toggle"][0]]]),
        np.stack([v50_fit["array_reset"], v50_fit["array_toggle"]]),
    )
    for name, code in DEVICES.items():
        for kind in ("raw", "calibrated"):
            report(options, f"trng {name} {kind}", done, jobs)
            calibrated = amps if kind == "calibrated" else None
            run_seed = seed + 1 + 2 * code + (kind == "calibrated")
            arrays[f"bits_{name}_{kind}"] = stream(program, code, bits, run_seed, total, calibrated, devices)
            done += 1
    report(options, "trng standalone curves", done, jobs)
    arrays["solo_widths"] = WIDTHS
    arrays["solo_p_width"] = sweep(
        program,
        SOLO,
        np.column_stack([np.full(len(WIDTHS), NOMINAL_VOLTS), WIDTHS]),
        curve_pulses,
        seed,
        total,
    ).mean(axis=1)
    arrays["solo_volts"] = VOLTS
    arrays["solo_p_volts"] = sweep(
        program, SOLO, np.column_stack([VOLTS, np.full(len(VOLTS), t_star)]), curve_pulses, seed, total
    ).mean(axis=1)
    arrays["sequence_bits"] = np.array([bits // CHUNKS])
    report(options, "trng", jobs, jobs)
    return Result("trng", metrics_from(arrays), total.as_dict(), arrays)


# ---------------------------------------------------------------------- metrics
def shannon_entropy(bits: np.ndarray) -> float:
    """Bits of entropy per bit from the frequency of ones."""
    p = float(np.mean(bits))
    if p in (0.0, 1.0):
        return 0.0
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def autocorrelation(x: np.ndarray, lags: int = LAGS) -> np.ndarray:
    """Normalised autocorrelation of the +-1 sequence at lags 1..lags (columns of a 2-D x:
    one device each, averaged)."""
    s = 2.0 * np.asarray(x, dtype=np.float64) - 1.0
    if s.ndim == 1:
        s = s[:, None]
    s = s - s.mean(axis=0)
    var = (s * s).mean(axis=0)
    var[var == 0] = 1.0
    return np.array([float(np.mean((s[:-k] * s[k:]).mean(axis=0) / var)) for k in range(1, lags + 1)])


def device_streams(bits: np.ndarray, name: str) -> np.ndarray:
    """The stream as (pulses, devices): one column per device."""
    n = 1 if name.startswith("one") else N
    return bits.reshape(-1, n)


def hamming_mean(columns: np.ndarray) -> float:
    """Mean normalised Hamming distance between different stochastic bit streams: the
    devices' streams of an array (neighbours), or one device's consecutive 300-bit streams."""
    if columns.shape[1] == 1:
        k = columns.shape[0] // SBS_BITS
        sbs = columns[: k * SBS_BITS, 0].reshape(k, SBS_BITS)
        return float(np.mean(sbs[1:] != sbs[:-1]))
    return float(np.mean(columns[:, 1:] != columns[:, :-1]))


def battery(bits: np.ndarray, sequence: int) -> dict:
    """The battery on the first sequence; the excursion tests on the first sequence of the
    stream where they apply (J >= 500 cycles), None if none."""
    from vm.devices import nist

    first = bits[:sequence].astype(np.int64)
    out = {name: nist.TESTS[name](first) for name in nist.NAMES}
    for name in ("random_excursions", "random_excursions_variant"):
        for k in range(len(bits) // sequence):
            p = nist.TESTS[name](bits[k * sequence : (k + 1) * sequence].astype(np.int64))
            if p is not None:
                out[name] = p
                break
    return out


def curve_figures(arrays: dict) -> dict:
    widths, p_w = arrays["solo_widths"], arrays["solo_p_width"]
    # the first peak: a parabola through the highest point of P(t) and its neighbours
    k = int(np.argmax(p_w[: int(np.searchsorted(widths, 1.5e-9))]))
    k = min(max(k, 1), len(widths) - 2)
    y0, y1, y2 = p_w[k - 1], p_w[k], p_w[k + 1]
    h = widths[1] - widths[0]
    denom = y0 - 2 * y1 + y2
    peak = widths[k] + (0.5 * h * (y0 - y2) / denom if denom != 0 else 0.0)
    volts, p_v = arrays["solo_volts"], arrays["solo_p_volts"]
    at = lambda level: float(np.interp(level, p_v, volts))  # noqa: E731  (P(V) rises)
    return {
        "first_peak_ps": float(peak * 1e12),
        "half_switching_v": at(0.5),
        "window_v": at(0.9) - at(0.1),
        "peak_probability": float(y1),
    }


def metrics_from(arrays: dict) -> dict:
    sequence = int(arrays["sequence_bits"][0])
    metrics: dict = {
        "nist": {},
        "entropy": {},
        "hamming_mean": {},
        "autocorrelation": {},
        "ones_fraction": {},
    }
    for name in STREAMS:
        bits = arrays[f"bits_{name}"]
        columns = device_streams(bits, name)
        metrics["nist"][name] = battery(bits, sequence)
        metrics["entropy"][name] = shannon_entropy(bits[:ENTROPY_BITS])
        metrics["hamming_mean"][name] = hamming_mean(columns)
        metrics["autocorrelation"][name] = autocorrelation(columns).tolist()
        metrics["ones_fraction"][name] = float(bits.mean())
    metrics["curves"] = curve_figures(arrays)
    p = arrays["curve_array_reset"]
    spread = fit_v50(arrays["curve_volts"], p, 10**6)  # the fitted 50% points of Fig. 13
    metrics["curves"]["array_v50_mean"] = float(np.mean(spread))
    metrics["curves"]["array_v50_std"] = float(np.std(spread))
    return metrics


def plot(arrays: dict, metrics: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    ax = axes[0]
    ax.plot(arrays["solo_widths"] * 1e9, arrays["solo_p_width"], "o-", ms=3)
    ax.axvline(metrics["curves"]["first_peak_ps"] / 1e3, color="grey", ls=":")
    ax.set(xlabel="pulse width (ns)", ylabel="P_sw", title="Fig. 11: standalone, 1.5 V")
    ax = axes[1]
    ax.plot(arrays["solo_volts"], arrays["solo_p_volts"], "o-", ms=3)
    ax.axvline(metrics["curves"]["half_switching_v"], color="grey", ls=":")
    ax.set(xlabel="pulse amplitude (V)", ylabel="P_sw", title="Fig. 12: standalone, first peak")
    ax = axes[2]
    curves = arrays["curve_array_reset"]
    ax.plot(arrays["curve_volts"], curves[:, :64], color="lightgrey", lw=0.6)
    ax.plot(arrays["curve_volts"], curves.mean(axis=1), color="red", lw=2)
    ax.set(xlabel="pulse amplitude (V)", ylabel="P_sw", title="Fig. 13: integrated array (64 devices, mean)")
    ax = axes[3]
    for name in ("one_toggle_raw", "one_toggle_calibrated", "array_reset_calibrated"):
        ax.plot(range(1, LAGS + 1), metrics["autocorrelation"][name], "o-", ms=3, label=name)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(xlabel="lag", ylabel="autocorrelation", title="Fig. 16")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
