"""The assimilation ledger as the teacher widens: bits streamed as AATs against the bits
a weight copy moves (m n b), for 64 -> H -> 10 teachers on the 8x8 digits.

The stream is the one ``programs/assimilation.py`` ships (its codecs, its examples, the
held-out pairs): its cost depends on the pixels' and the codes' codebooks and on the
number of examples, not on H. The weight copy's b is measured per teacher
(``copy_precision``: the fewest bits per value that keep its training accuracy within 0.5
points), so m n b is what that teacher needs. Prints one row per H and the H where the
stream falls to a tenth of the weights.

    python benchmarks/assimilation_ledger.py [--widths 128 512 2048 8192]
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_digits

from ktasm.programs import assimilation as A
from ktasm.programs.aatstream import AddressCodec, ThermometerCodec, VQCodec, WinnerCodec


def stream_bits(x: np.ndarray, train: np.ndarray, check: np.ndarray, teacher: A.Teacher) -> int:
    """Both streams' bits, as the program counts them (``Stream.bits``)."""
    pixels = ThermometerCodec.fit(x[train], A.STEPS)
    labels = teacher.predict(x[train]) if A.VQ_BY_CLASS else None
    code = VQCodec(A.VQ_GROUPS, A.VQ_SIZE).fit(teacher.hidden(x[train]), labels=labels)
    pairs = len(train) + len(check)
    hidden = pairs * (pixels.code_bits() + code.code_bits())
    output = pairs * (AddressCodec(code.groups, code.size).code_bits() + WinnerCodec(1, 10).code_bits())
    return int(np.ceil(hidden) + np.ceil(output))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[128, 512, 2048, 8192])
    args = parser.parse_args()
    digits = load_digits()
    x, y = digits.data / 16.0, digits.target
    train, check, test = A.split(len(y), 0)
    print(f"{'H':>6} {'b':>3} {'weight bits':>12} {'bits streamed':>14} {'ratio':>7} {'teacher acc':>11}")
    rows = []
    for width in args.widths:
        teacher = A.train_teacher(x[train], y[train], width, 0)
        b = A.copy_precision(teacher, x[train], y[train])
        weights = teacher.weight_values * b
        streamed = stream_bits(x, train, check, teacher)
        accuracy = float(np.mean(teacher.predict(x[test]) == y[test]))
        rows.append((width, weights, streamed))
        print(f"{width:>6} {b:>3} {weights:>12} {streamed:>14} {streamed / weights:>7.3f} {accuracy:>11.4f}")
    # weight bits grow as (64 + 1 + 10) H b: the width where the stream is a tenth of them
    width, weights, streamed = rows[-1]
    per_unit = weights / width
    print(f"stream <= weights / 10 from H ~ {10 * streamed / per_unit:.0f} (at b = {per_unit / 75:.1f})")


if __name__ == "__main__":
    main()
