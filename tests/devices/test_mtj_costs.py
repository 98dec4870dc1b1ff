"""The MTJ profiles and the cost model: each energy term against a hand computation on a
tiny case (V^2 G t per pulse and read, the periphery's per-bit terms), the q = 1 MAC that
writes nothing, the ex-situ bits that are the sampled p-bits, and the profile's numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ktasm.assembler import assemble_text
from vm import Machine
from vm.config import DEVICE_KINDS, INTEGRATED, MTJ_DEVICE_KEYS
from vm.devices import pbit

DEFAULTS = {k.key: k.default for k in MTJ_DEVICE_KEYS}


def machine(src, data=None, seed=1):
    m = Machine(assemble_text(src), data or {}, seed=seed, output_capacity=1 << 12)
    return m


def run(src, data=None, seed=1):
    m = machine(src, data, seed)
    result = m.run()
    assert result.reason in ("end", "halted"), result.fault
    return m, result


def g(parallel, v, rp, tmr, vh=0.5):
    return 1 / rp if parallel else 1 / (rp * (1 + tmr / (1 + (v / vh) ** 2)))


def first_peak(t_half=0.7e-9, tau_phi=1.5e-9):
    a = math.pi / t_half
    return (math.pi - math.atan(1 / (a * tau_phi))) / a


def mtj_cost(r):
    family = r.stats["by_family"]["mtj"]
    return family["time_s"], family["energy_j"]


# ---------------------------------------------------------------- profiles
def test_integrated_profile_sets_its_figures_and_explicit_keys_win():
    program = assemble_text(
        ".mtj d n=2 profile=integrated tmr=0.5\n.pairs w rows=1 cols=1 profile=integrated\n"
    )
    mtj, pairs = (d["values"] for d in program.devices)
    assert mtj["tmr"] == 0.5 and mtj["rp"] == INTEGRATED["rp"] and mtj["spread"] == INTEGRATED["spread"]
    assert pairs["tmr"] == pytest.approx(INTEGRATED["tmr"])
    # Fig. 7: 65% at a 200 mV read, through TMR(V) = TMR0 / (1 + (V / vh)^2)
    assert INTEGRATED["tmr"] / (1 + (0.2 / DEFAULTS["vh"]) ** 2) == pytest.approx(0.65)
    standalone = assemble_text(".mtj d n=2\n").devices[0]["values"]
    assert standalone["profile"] == "standalone"
    assert {k: standalone[k] for k in DEFAULTS} == DEFAULTS
    assert DEVICE_KINDS["mtj"].resolve({"profile": "integrated"})["rp_spread"] == INTEGRATED["rp_spread"]


def test_device_spreads_are_drawn_per_device_with_the_declared_statistics():
    m = machine(".mtj d n=20000 profile=integrated\n")
    off_rp, n = m.vec_meta[m.dev_meta[0, 3]]
    off_tmr, _ = m.vec_meta[m.dev_meta[0, 4]]
    rps, tmrs = m.vec[off_rp : off_rp + n], m.vec[off_tmr : off_tmr + n]
    se = 4 / math.sqrt(n)
    assert np.std(np.log(rps)) == pytest.approx(INTEGRATED["rp_spread"], rel=se)
    assert np.mean(np.log(rps)) == pytest.approx(math.log(INTEGRATED["rp"]), abs=se * INTEGRATED["rp_spread"])
    assert np.std(tmrs) / INTEGRATED["tmr"] == pytest.approx(INTEGRATED["tmr_spread"], rel=se)


# ---------------------------------------------------------------- energy terms
def test_toggle_pulse_is_v2_g_t_of_the_state_the_pulse_sees():
    src = ".mtj d n=1 rp=1e4 tmr=1 spread=0 mode=toggle\n.vec s n=1\n MPULSE d, 1.0, 1e-9\n MSTATE s, d\n VOUT s\n"
    m, r = run(src)
    time, energy = mtj_cost(r)
    assert time == pytest.approx(1e-9)
    assert energy == pytest.approx(1.0**2 * g(True, 1.0, 1e4, 1.0) * 1e-9, rel=1e-12)  # it starts parallel


def test_reset_mode_pulse_adds_the_reset_term_and_its_time():
    src = ".mtj d n=1 rp=1e4 tmr=1 spread=0\n MPULSE d, 1.5, 0.5e-9\n"
    _, r = run(src)
    time, energy = mtj_cost(r)
    t_half, v_reset = DEFAULTS["t_half"], DEFAULTS["v_reset"]
    assert time == pytest.approx(0.5e-9 + t_half)
    expected = v_reset**2 * g(True, v_reset, 1e4, 1) * t_half + 1.5**2 * g(True, 1.5, 1e4, 1) * 0.5e-9
    assert energy == pytest.approx(expected, rel=1e-12)


def test_read_and_reset_energies():
    src = ".mtj d n=2 rp=2e4 tmr=1 spread=0 read_noise=0\n.vec gg n=2\n MREAD gg, d, 0.2\n MRESET d\n"
    _, r = run(src)
    time, energy = mtj_cost(r)
    t_read, t_half, v_reset = DEFAULTS["read_time"], DEFAULTS["t_half"], DEFAULTS["v_reset"]
    assert time == pytest.approx(t_read + t_half)
    expected = 2 * (0.2**2 / 2e4 * t_read + v_reset**2 / 2e4 * t_half)
    assert energy == pytest.approx(expected, rel=1e-12)


def test_sense_is_the_sampled_bits_with_its_periphery_cost():
    src = (
        ".mtj d n=40 spread=0.2 rp=1e4 tmr=1\n.vec b n=40\n.vec s n=40\n"
        " MPULSE d, 1.5, 0.7e-9\n MSTATE s, d\n MSENSE b, d\n VOUT s\n VOUT b\n"
    )
    _, r = run(src)
    states, bits = r.outputs[:40], r.outputs[40:]
    np.testing.assert_array_equal(bits, states)  # the ex-situ bits are the p-bits sampled
    assert 0 < states.sum() < 40
    p = DEVICE_KINDS["mtj"].defaults()
    periphery = r.stats["by_family"]["periphery"]
    assert periphery["time_s"] == pytest.approx(
        math.ceil(40 / p["sense_amps"]) * p["t_sense"] + math.ceil(40 / p["bus_width"]) * p["t_bus"]
    )
    sensed = sum(p["v_sense"] ** 2 * g(s == 0, p["v_sense"], 1e4, 1) * p["t_sense"] for s in states)
    assert periphery["energy_j"] == pytest.approx(
        sensed + 40 * (p["e_sense"] + p["e_latch"] + p["e_bus"]), rel=1e-12
    )


PAIRS = ".pairs w rows=1 cols=2 rp=1e4 tmr=1 spread=0 read_noise=0\n.data weights\n.vec x n=2\n.vec y n=1\n"


def test_pairs_load_and_mac_energies_by_hand():
    vw, vr, v_reset = 2.5, 0.2, DEFAULTS["v_reset"]
    t_half, t_read = DEFAULTS["t_half"], DEFAULTS["read_time"]
    rp, tmr = 1e4, 1.0
    data = {"weights": np.array([[1.0, -1.0]])}
    steps = ["PPLOAD w, weights", "VFILL x, 1", "PPMAC y, w, x, 1", "PPMAC y, w, x, 1", "PPMAC y, w, x, 0"]
    costs = []
    for k in range(1, len(steps) + 1):
        _, r = run(PAIRS + "".join(f" {s}\n" for s in steps[:k]), data)
        costs.append(mtj_cost(r))
    # PPLOAD: every device of both pairs written once (all start antiparallel, state 0)
    load = 4 * vw**2 * g(False, vw, rp, tmr) * t_half
    assert costs[0][1] == pytest.approx(load, rel=1e-12)
    assert costs[0][0] == pytest.approx(t_half)  # one row
    # the first q = 1 MAC writes each p-bit to its data bit's complement, then reads
    # pair 0: D = 1 (P), P was 1 -> 0; pair 1: D = 0, P was 0 -> 1
    writes = v_reset**2 * (g(True, v_reset, rp, tmr) + g(False, v_reset, rp, tmr)) * t_half
    read = vr**2 * 2 * (g(True, vr, rp, tmr) + g(False, vr, rp, tmr)) * t_read
    assert costs[2][1] - costs[1][1] == pytest.approx(writes + read, rel=1e-12)
    assert costs[2][0] - costs[1][0] == pytest.approx(t_half + t_read)
    # a second q = 1 MAC writes nothing: only the read
    assert costs[3][1] - costs[2][1] == pytest.approx(read, rel=1e-12)
    assert costs[3][0] - costs[2][0] == pytest.approx(t_read)
    # q = 0 writes every p-bit back to its data bit
    assert costs[4][1] - costs[3][1] == pytest.approx(writes + read, rel=1e-12)


def test_q1_mac_leaves_p_bits_alone_and_matches_w_x():
    data = {"weights": np.array([[1.0, -1.0]])}
    m, r = run(
        PAIRS + " PPLOAD w, weights\n VFILL x, 1\n PPMAC y, w, x, 1\n PPMAC y, w, x, 1\n VOUT y\n", data
    )
    off, n = m.vec_meta[m.dev_meta[0, 2]]
    np.testing.assert_array_equal(m.vec[off : off + n], [0.0, 1.0])  # complements of D = (1, 0)
    assert r.outputs[0] == pytest.approx(0.0)  # 1 * 1 + (-1) * 1


def test_stochastic_mac_pulse_terms():
    data = {"weights": np.array([[1.0, -1.0]])}
    base = PAIRS + " PPLOAD w, weights\n VFILL x, 1\n"
    _, r0 = run(base, data)
    _, r1 = run(base + " PPMAC y, w, x, 0.5\n", data)
    t0, e0 = mtj_cost(r0)
    t1, e1 = mtj_cost(r1)
    t_star, t_half, v_reset = first_peak(), DEFAULTS["t_half"], DEFAULTS["v_reset"]
    assert t1 - t0 == pytest.approx(t_half + t_star + DEFAULTS["read_time"])
    # after PPLOAD P = D: pair 0 parallel, pair 1 antiparallel; each reset, then pulsed at v50
    resets = v_reset**2 * (g(True, v_reset, 1e4, 1) + g(False, v_reset, 1e4, 1)) * t_half
    pulses = 1.5**2 * (g(True, 1.5, 1e4, 1) + g(False, 1.5, 1e4, 1)) * t_star
    reads_low = 0.2**2 * 2 * (g(False, 0.2, 1e4, 1)) * DEFAULTS["read_time"] * 2
    reads_high = 0.2**2 * 2 * (g(True, 0.2, 1e4, 1)) * DEFAULTS["read_time"] * 2
    assert resets + pulses + reads_low <= e1 - e0 <= resets + pulses + reads_high


def test_generic_pbit_cost_is_the_integrated_device():
    window, energy = pbit.mtj_pbit_cost()
    t_star = first_peak()
    assert window == pytest.approx(DEFAULTS["t_half"] + t_star)
    expected = (DEFAULTS["v_reset"] ** 2 * DEFAULTS["t_half"] + DEFAULTS["v50"] ** 2 * t_star) / INTEGRATED[
        "rp"
    ]
    assert energy == pytest.approx(expected)
    assert (pbit.WINDOW_S, pbit.ENERGY_PER_BIT_J) == (window, energy)
