"""The EDT-style decompressor, the GF(2) solver and the cSmap format."""
import numpy as np
import pytest

from sw_models.compression import formulas
from sw_models.compression.csmap import (CsmapEncoded, CsmapParams, decode_csmap, decode_map,
                                         encode_csmap, make_layout)
from sw_models.compression.edt import _TAPS, Decompressor
from sw_models.compression.gf2 import HARD, SOFT, back_substitute, eliminate, gf2_matvec


def scalar_decompress(dec, inputs):
    """Bit-by-bit hardware reference: shift, feed back, inject, read the phase shifter."""
    state = [0] * dec.length
    cells = np.zeros((dec.chains, dec.cycles), dtype=np.uint8)
    for c in range(dec.warmup + dec.cycles):
        out = state[-1]
        state = [out] + state[:-1]
        for t in _TAPS[dec.length]:
            state[t] ^= out
        for e in range(dec.channels):
            state[(e * dec.length) // dec.channels] ^= int(inputs[c, e])
        if c >= dec.warmup:
            for s, (a, b, d) in enumerate(dec.phase_shifter):
                cells[s, c - dec.warmup] = state[a] ^ state[b] ^ state[d]
    return cells


def test_decompressor_matches_scalar_reference_and_symbolic_model():
    dec = Decompressor(length=32, channels=3, chains=10, cycles=12, warmup=4, seed=5)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(3, dec.warmup + dec.cycles, dec.channels), dtype=np.uint8)
    cells = dec.decompress(x)
    g = dec.symbolic()
    for b in range(3):
        assert np.array_equal(cells[b], scalar_decompress(dec, x[b]))
        predicted = gf2_matvec(g, x[b].ravel(), dec.n_inputs)      # (T, S)
        assert np.array_equal(predicted.T, cells[b])


def pack_rows(a, rhs):
    v = a.shape[1]
    bits = np.concatenate([a, rhs[:, None]], axis=1).astype(np.uint8)
    pad = np.zeros((a.shape[0], (v // 64 + 1) * 64), dtype=np.uint8)
    pad[:, :v + 1] = bits
    return np.packbits(pad, axis=1, bitorder="little").view(np.uint64)


def test_gf2_solves_consistent_systems_and_flags_contradictions():
    rng = np.random.default_rng(2)
    b, r, v = 6, 40, 70
    a = rng.integers(0, 2, size=(b, r, v), dtype=np.uint8)
    x0 = rng.integers(0, 2, size=(b, v), dtype=np.uint8)
    rhs = (np.einsum("brv,bv->br", a, x0) % 2).astype(np.uint8)
    rhs[5, 3] ^= 1                      # system 5: row 3 now contradicts the others?
    a[5, 10] = a[5, 3]                  # make it a duplicate with the original right-hand side
    rhs[5, 10] = rhs[5, 3] ^ 1
    rows = np.stack([pack_rows(a[k], rhs[k]) for k in range(b)])
    kinds = np.full((b, r), HARD, dtype=np.int8)
    el = eliminate(rows, kinds, v)
    x = back_substitute(el)
    assert el.failed.tolist() == [False] * 5 + [True]
    for k in range(5):
        assert np.array_equal((a[k].astype(int) @ x[k]) % 2, rhs[k])


def test_gf2_soft_rows_never_override_hard_rows():
    rng = np.random.default_rng(3)
    v, hard_n, soft_n = 30, 20, 40
    a = rng.integers(0, 2, size=(hard_n + soft_n, v), dtype=np.uint8)
    rhs = rng.integers(0, 2, size=hard_n + soft_n, dtype=np.uint8)
    kinds = np.array([[HARD] * hard_n + [SOFT] * soft_n], dtype=np.int8)
    el = eliminate(pack_rows(a, rhs)[None], kinds, v)
    assert not el.failed[0]
    x = back_substitute(el)[0]
    got = (a.astype(int) @ x) % 2
    assert np.array_equal(got[:hard_n], rhs[:hard_n])
    # every soft row the solver kept as a pivot is satisfied; the hard-only solution also solves hard rows
    kept_soft = np.flatnonzero(el.pivot[0, hard_n:] >= 0) + hard_n
    assert kept_soft.size > 0
    assert np.array_equal(got[kept_soft], rhs[kept_soft])
    plain = back_substitute(el, use=kinds == HARD)[0]
    assert np.array_equal(((a.astype(int) @ plain) % 2)[:hard_n], rhs[:hard_n])


def sparse_codes(m, n, sparsity, seed):
    rng = np.random.default_rng(seed)
    codes = rng.choice([-1, 1], size=(m, n))
    codes[rng.random((m, n)) < sparsity] = 0
    return codes


@pytest.mark.parametrize("alpha,beta,fc", [(1, 1, 0.0), (2, 1, 0.5), (1, 2, 1.0), (2, 2, 0.25)])
def test_csmap_round_trip_is_lossless_and_covers_every_one(alpha, beta, fc):
    codes = sparse_codes(70, 45, 0.8, seed=alpha * 10 + beta)
    # E forced and raw_choice off so that blocks go through the decompressor (fc = 1 needs every
    # cell as a care bit: no E below the block size solves it, every block is raw)
    params = CsmapParams(alpha=alpha, beta=beta, fc=fc, block=(16, 16), channels=5 if fc < 1 else None,
                         raw_choice=False)
    enc = encode_csmap(codes, 2, params, where="toy")
    dsm = decode_map(enc)
    assert np.all(dsm[codes != 0])                 # every non-zero is located
    assert np.array_equal(decode_csmap(enc), codes)
    back = CsmapEncoded.from_bytes(enc.to_bytes(), 70, 45, 2, params, enc.channels,
                                   enc.values.size, enc.raw.size)
    assert np.array_equal(decode_csmap(back), codes)
    # independent recount: rebuild dSM block by block with the scalar (bit-by-bit) decompressor
    lay = make_layout(70, 45, params)
    dec = enc_decompressor(enc)
    ref = np.zeros((lay.grid[0] * lay.bm, lay.grid[1] * lay.bn), dtype=bool)
    solved, raw_off = 0, 0
    for k in range(lay.n_blocks):
        r, c = divmod(k, lay.grid[1])
        rows = slice(r * lay.bm, (r + 1) * lay.bm)
        cols = slice(c * lay.bn, (c + 1) * lay.bn)
        if enc.bypass[k]:
            h, w = min(lay.bm, 70 - r * lay.bm), min(lay.bn, 45 - c * lay.bn)
            ref[r * lay.bm:r * lay.bm + h, c * lay.bn:c * lay.bn + w] = \
                enc.raw[raw_off:raw_off + h * w].reshape(h, w).astype(bool)
            raw_off += h * w
            continue
        x = enc.inputs[solved].reshape(dec.warmup + dec.cycles, dec.channels)
        cells = scalar_decompress(dec, x)
        i, j = np.meshgrid(np.arange(lay.bm), np.arange(lay.bn), indexing="ij")
        ref[rows, cols] = cells[alpha * i, beta * j + i % alpha].astype(bool)
        solved += 1
    assert raw_off == enc.raw.size and solved == len(enc.inputs)
    assert solved > 0 or fc == 1.0
    assert np.array_equal(ref[:70, :45], dsm)
    location = lay.n_blocks + solved * dec.n_inputs + raw_off
    assert enc.total_bits == location + 2 * int(ref[:70, :45].sum())
    # eq. 7.7 with C and S_dSM taken from the recount gives the measured ratio
    c_ratio, s_dsm = 70 * 45 / location, 1 - ref[:70, :45].mean()
    assert 70 * 45 * 2 / enc.total_bits == pytest.approx(formulas.csmap_lossy_ratio(s_dsm, 2, c_ratio))
    if fc == 1.0:
        assert np.array_equal(dsm, codes != 0)     # all zeros constrained: lossless map


def enc_decompressor(enc):
    from sw_models.compression.csmap import make_decompressor
    return make_decompressor(make_layout(enc.m, enc.n, enc.params), enc.channels, enc.params)


def test_csmap_preference_reduces_spurious_ones():
    codes = sparse_codes(64, 64, 0.9, seed=7)
    enc = encode_csmap(codes, 2, CsmapParams(fc=0.0, block=(32, 32), channels=8, raw_choice=False), where="toy")
    assert enc.stats["bypassed"] < enc.stats["blocks"]
    assert enc.spurious < enc.spurious_plain
    plain = encode_csmap(codes, 2, CsmapParams(fc=0.0, block=(32, 32), channels=8, prefer=False,
                                                 raw_choice=False))
    assert plain.spurious == plain.spurious_plain >= enc.spurious
    assert np.array_equal(decode_csmap(plain), codes)


def test_csmap_one_bit_is_forced_lossless():
    codes = sparse_codes(20, 20, 0.5, seed=1)
    enc = encode_csmap(codes, 1, CsmapParams(fc=0.0, block=(10, 10)))
    assert np.array_equal(decode_map(enc), codes != 0)
    assert np.array_equal(decode_csmap(enc), codes)


def test_csmap_rejects_tiny_layer_and_bad_params_by_name():
    with pytest.raises(ValueError, match="fc1.*too small"):
        encode_csmap(np.ones((1, 9), dtype=int), 2, where="fc1")
    with pytest.raises(ValueError, match="conv2.*f_c"):
        make_layout(8, 8, CsmapParams(fc=1.5), where="conv2")


def test_corrupt_csmap_stream_is_detected():
    codes = sparse_codes(32, 32, 0.7, seed=2)
    enc = encode_csmap(codes, 4, CsmapParams(block=(16, 16)))
    data = enc.to_bytes()
    with pytest.raises(ValueError):
        CsmapEncoded.from_bytes(data[:5], 32, 32, 4, enc.params, enc.channels, enc.values.size, enc.raw.size)


def test_csmap_stores_raw_blocks_when_compression_cannot_pay_off():
    codes = sparse_codes(40, 36, 0.3, seed=4)        # dense map, 8-bit values: bypass wins
    enc = encode_csmap(codes, 8, CsmapParams(fc=0.0, block=(16, 16)))
    assert enc.bypass.all() and enc.inputs.size == 0 and enc.spurious == 0
    assert enc.location_bits == enc.bypass.size + 40 * 36
    assert np.array_equal(decode_map(enc), codes != 0)
    assert np.array_equal(decode_csmap(enc), codes)
