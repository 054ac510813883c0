"""CSC and Smap encoders against a plain-Python reference and against eqs. 7.1-7.4."""
import math

import numpy as np
import pytest

from sw_models.compression import formulas
from sw_models.compression.bits import pack_fields, unpack_fields
from sw_models.compression.csc import CSCEncoded, decode_csc, encode_csc, pointer_bits
from sw_models.compression.smap import SmapEncoded, decode_smap, encode_smap
from sw_models.compression.quantize import quantize


def random_codes(m, n, sparsity, bits, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(m, n)).astype(np.float32)
    w[rng.random((m, n)) < sparsity] = 0
    return quantize(w, bits).codes


def reference_csc(codes, index_bits):
    """Fig. 7.1 by hand: walk each column, emitting padding entries for long zero runs."""
    m, n = codes.shape
    values, counts, pointers = [], [], [0]
    top = (1 << index_bits) - 1
    for col in range(n):
        run, pending = 0, 0             # padding is only emitted once a later non-zero needs it
        for row in range(m):
            v = int(codes[row, col])
            if v == 0:
                run += 1
                if run > top:           # this zero becomes a padding entry
                    pending += 1
                    run = 0
                continue
            values += [0] * pending + [v]
            counts += [top] * pending + [run]
            run, pending = 0, 0
        pointers.append(len(values))
    return values, counts, pointers


@pytest.mark.parametrize("sparsity,bits,index_bits", [(0.5, 2, 4), (0.9, 4, 4), (0.97, 8, 3), (0.0, 6, 2)])
def test_csc_matches_reference_and_round_trips(sparsity, bits, index_bits):
    codes = random_codes(37, 23, sparsity, bits, seed=int(sparsity * 100) + bits)
    enc = encode_csc(codes, bits, index_bits)
    values, counts, pointers = reference_csc(codes, index_bits)
    from sw_models.compression.quantize import fields_to_codes
    assert fields_to_codes(enc.values, bits).tolist() == values
    assert enc.counts.tolist() == counts
    assert enc.pointers.tolist() == pointers
    assert np.array_equal(decode_csc(enc), codes)
    back = CSCEncoded.from_bytes(enc.to_bytes(), 37, 23, bits, index_bits, enc.n_entries)
    assert np.array_equal(decode_csc(back), codes)
    assert len(enc.to_bytes()) * 8 >= enc.total_bits


def test_csc_bits_match_eq_7_1_up_to_padding_and_log_rounding():
    m, n, p, i = 120, 50, 2, 4
    codes = random_codes(m, n, 0.9, p, seed=3)
    s = float(np.mean(codes == 0))
    enc = encode_csc(codes, p, i)
    assert enc.n_padding > 0                      # 90% sparsity with I = 4 forces padding entries
    formula = formulas.csc_bits(m, n, s, p, i)
    padding_gap = enc.n_padding * (p + i)         # eq. 7.1 counts only non-zeros
    log_gap = (n + 1) * (pointer_bits(m, n) - math.log2(m * n))  # integer pointer width
    assert 0 < pointer_bits(m, n) - math.log2(m * n) <= 1
    assert enc.total_bits == pytest.approx(formula + padding_gap + log_gap, abs=1e-6)
    assert formulas.dense_bits(m, n, p) / formula == pytest.approx(formulas.csc_ratio(m, n, s, p, i))


def test_csc_pointer_width_holds_mn_when_mn_is_power_of_two():
    codes = np.ones((16, 4), dtype=np.int64)      # S = 0, A[N] = 64 = M*N
    enc = encode_csc(codes, 2, 4)
    assert int(enc.pointers[-1]) == 64
    assert pointer_bits(16, 4) == 7 > math.log2(64)
    assert np.array_equal(decode_csc(enc), codes)


@pytest.mark.parametrize("sparsity,bits", [(0.5, 2), (0.7, 6), (0.95, 8), (0.3, 1)])
def test_smap_exact_and_equal_to_eq_7_3(sparsity, bits):
    m, n = 40, 30
    codes = random_codes(m, n, sparsity, bits, seed=bits)
    enc = encode_smap(codes, bits)
    s = float(np.mean(codes == 0))
    assert enc.total_bits == pytest.approx(formulas.smap_bits(m, n, s, bits), abs=1e-6)
    assert formulas.dense_bits(m, n, bits) / enc.total_bits == pytest.approx(formulas.smap_ratio(s, bits))
    back = SmapEncoded.from_bytes(enc.to_bytes(), m, n, bits, enc.values.size)
    assert np.array_equal(decode_smap(back), codes)


def test_pack_fields_round_trip_and_overflow():
    rng = np.random.default_rng(1)
    for width in (1, 3, 7, 13, 33):
        v = rng.integers(0, 1 << width, size=101, dtype=np.uint64)
        data = pack_fields(v, width)
        assert len(data) == (101 * width + 7) // 8
        assert np.array_equal(unpack_fields(data, 101, width), v)
    with pytest.raises(ValueError, match="does not fit"):
        pack_fields(np.array([8]), 3)


def test_eqs_7_4_and_7_6_hand_values():
    # worked by hand: P / (1/C + (1 - S) P)
    assert formulas.smap_ratio(0.9, 2) == pytest.approx(2 / 1.2)
    assert formulas.smap_ratio(0.9, 8) == pytest.approx(8 / 1.8)      # the paper's 4.44 maximum
    assert formulas.csmap_ratio(0.9, 2, 2.0) == pytest.approx(2 / 0.7)
    assert formulas.csmap_lossy_ratio(0.8, 4, 4.0) == pytest.approx(4 / 1.05)
    assert formulas.csc_ratio(64, 64, 0.7, 2) == pytest.approx(2 / (65 * 12 / 4096 + 0.3 * 6))
