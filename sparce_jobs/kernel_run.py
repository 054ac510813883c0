"""Kernel experiments: shapes, random sparse inputs (§4.4.2), a run, and the numpy oracle.

A kernel run builds the ELF (baseline, or SPARCE with the hand-written or SASA-compiled table),
writes inputs whose sparse operand has exactly round(sparsity * size) zeros at random positions,
simulates, and checks the output against numpy. The reference replays the kernel's own order of
operations (sequential fused multiply-adds, emulated exactly in float64 and rounded to float32),
so outputs are compared bit for bit; if a double-rounding corner case makes them differ, the run
falls back to a tolerance of rtol=1e-5, atol=1e-6 and says so.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from atomic_output import write_with
from gem5_configs.params import MINOR_DEFAULT, SystemParams
from kernels.build import INCLUDE_DIR, KERNEL_DIR, build, cache_root, kernel_spec

from sparce_sim.runner import SimResult, simulate

RTOL, ATOL = 1e-5, 1e-6

# shape presets: the AlexNet conv4 layer of Fig. 4.13 and small defaults that keep runs quick
SHAPES: dict[str, dict[str, dict[str, int]]] = {
    "dot": {"small": {"n": 1024}, "conv4": {"n": 384 * 9}},
    "dirconv": {"small": {"c": 16, "h": 8, "w": 8, "oc": 16},
                "conv4": {"c": 384, "h": 13, "w": 13, "oc": 384}},
    "sgemm": {"small": {"m": 64, "n": 64, "k": 64},
              "conv4": {"m": 384, "n": 13 * 13, "k": 384 * 9}},
}
# the source the SASA compiler rewrites for each kernel
COMPILED_SOURCE = {"sgemm": "sgemm_kernel_16x4.S", "dirconv": "dirconv.S", "dot": "dot.S"}


@dataclass
class KernelRun:
    result: SimResult
    reference: np.ndarray
    output: np.ndarray
    bit_exact: bool
    max_abs_err: float

    @property
    def ok(self) -> bool:
        return self.bit_exact or bool(np.allclose(self.output, self.reference, rtol=RTOL, atol=ATOL))


def dims_for(kernel: str, shape: str = "small", **overrides: int | None) -> dict[str, int]:
    kernel_spec(kernel)
    if shape not in SHAPES[kernel]:
        raise ValueError(f"unknown shape {shape!r} for {kernel}; known: {', '.join(SHAPES[kernel])}")
    dims = dict(SHAPES[kernel][shape])
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in dims:
            raise ValueError(f"kernel {kernel} has no dimension {key!r} (it has {', '.join(dims)})")
        if int(value) <= 0:
            raise ValueError(f"dimension {key}={value} must be positive")
        dims[key] = int(value)
    if kernel == "dot" and dims["n"] % 4:
        raise ValueError(f"dot: n={dims['n']} must be a multiple of 4 (the loop is unrolled by 4)")
    return dims


def build_params(kernel: str, dims: dict[str, int]) -> dict[str, int]:
    if kernel == "dot":
        return {"DOT_N": dims["n"]}
    if kernel == "dirconv":
        return {"C": dims["c"], "IH": dims["h"] + 2, "IW": dims["w"] + 2, "OC": dims["oc"], "KH": 3, "KW": 3}
    return {"GEMM_M": dims["m"], "GEMM_N": dims["n"], "GEMM_K": dims["k"]}


def make_inputs(kernel: str, dims: dict[str, int], sparsity: float, seed: int) -> dict[str, np.ndarray]:
    """Random inputs; the sparse operand gets exactly round(sparsity * size) zeros."""
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity {sparsity} outside [0, 1]")
    rng = np.random.default_rng(seed)
    if kernel == "dot":
        n = dims["n"]
        return {"INP": _sparse(rng, (n,), sparsity), "KER": _dense(rng, (n,))}
    if kernel == "dirconv":
        c, h, w, oc = dims["c"], dims["h"], dims["w"], dims["oc"]
        act = np.pad(_sparse(rng, (c, h, w), sparsity), ((0, 0), (1, 1), (1, 1)))
        return {"INP": act, "KER": _dense(rng, (oc, c, 3, 3))}
    m, n, k = dims["m"], dims["n"], dims["k"]
    # column major, as BLAS: A is M x K (weights), B is K x N (activations, the sparse operand)
    return {"A": np.asfortranarray(_dense(rng, (m, k))), "B": np.asfortranarray(_sparse(rng, (k, n), sparsity))}


def _dense(rng, shape) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def _sparse(rng, shape, sparsity: float) -> np.ndarray:
    x = rng.uniform(0.1, 2.0, size=shape).astype(np.float32)   # ReLU outputs: positive
    flat = x.reshape(-1)
    zeros = int(round(sparsity * flat.size))
    flat[rng.choice(flat.size, size=zeros, replace=False)] = 0.0
    return x


def to_memory(array: np.ndarray) -> np.ndarray:
    """Array in the byte order the kernel expects (Fortran arrays stay column major)."""
    return array.ravel(order="F" if array.flags.f_contiguous and array.ndim > 1 and not array.flags.c_contiguous else "C")


def reference(kernel: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The kernel's result by numpy, in the kernel's order of operations."""
    if kernel == "dot":
        acc = np.float32(0.0)
        prods = (inputs["KER"] * inputs["INP"]).astype(np.float32)    # fmul, rounded
        for p in prods:
            acc = np.float32(acc + p)                                 # fadd, rounded
        return np.array([acc], dtype=np.float32)
    if kernel == "dirconv":
        act, ker = inputs["INP"], inputs["KER"]
        oc, c = ker.shape[:2]
        oh, ow = act.shape[1] - 2, act.shape[2] - 2
        acc = np.zeros((oc, oh, ow), np.float32)
        for ci in range(c):
            for ky in range(3):
                for kx in range(3):
                    patch = act[ci, ky:ky + oh, kx:kx + ow].astype(np.float64)
                    acc = _fma(patch[None], ker[:, ci, ky, kx][:, None, None], acc)
        return acc.reshape(-1)
    a, b = inputs["A"], inputs["B"]
    acc = np.zeros((a.shape[0], b.shape[1]), np.float32)
    for k in range(a.shape[1]):
        acc = _fma(a[:, k:k + 1].astype(np.float64), b[k:k + 1, :], acc)
    return acc.ravel(order="F")


def _fma(x: np.ndarray, y: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """float32 fused multiply-add: x*y is exact in float64, the sum rounds once (to float32)."""
    return (x * y.astype(np.float64) + acc.astype(np.float64)).astype(np.float32)


def kernel_elf(kernel: str, dims: dict[str, int], sasa: str, system: SystemParams = MINOR_DEFAULT) -> Path:
    """Build the kernel: sasa is 'none', 'hand' or 'compiled' (through the SASA compiler, which
    fits the table and the producer distance to `system`, the simulated machine)."""
    params = build_params(kernel, dims)
    if sasa != "compiled":
        return build(kernel, params, sasa)
    try:
        from sasa_compiler.api import compile_file
    except ImportError as exc:
        raise ValueError(f"the SASA compiler is not available ({exc})") from None
    src = KERNEL_DIR / COMPILED_SOURCE[kernel]
    return build(kernel, params, "source",
                 replace={src.name: _compiled_source(src, params, compile_file, system)})


def _compiled_source(src: Path, params: dict[str, int], compile_file, system: SystemParams) -> Path:
    """The SASA compiler's output for `src` built with `params`, cached by everything it depends on:
    the source, the defines, the compiler's own code, the ISA include and the system parameters."""
    import sasa_compiler
    h = hashlib.sha256(src.read_bytes() + repr(sorted(params.items())).encode())
    for path in sorted(Path(sasa_compiler.__file__).parent.glob("*.py")) + [INCLUDE_DIR / "sparce.inc"]:
        h.update(path.read_bytes())
    h.update(json.dumps(system.as_dict(), sort_keys=True, default=str).encode())
    h.update(str(system.sparce_min_distance()).encode())      # derived in params.py's code
    out = cache_root() / "sasa" / f"{src.stem}-{h.hexdigest()[:16]}{src.suffix}"
    if not out.exists():                                 # atomic: a cached source is complete
        write_with(out, lambda tmp: compile_file(src, tmp, params=system,
                                                 defines={k: str(v) for k, v in params.items()}))
    return out


def run_kernel(kernel: str, dims: dict[str, int], sparsity: float = 0.0, seed: int = 0,
               sparce: bool = False, sasa: str = "none", params: SystemParams = MINOR_DEFAULT,
               max_insts: int | None = None, inputs: dict[str, np.ndarray] | None = None,
               profile: tuple[str, ...] = (), engine: str = "native") -> KernelRun:
    spec = kernel_spec(kernel)
    inputs = inputs if inputs is not None else make_inputs(kernel, dims, sparsity, seed)
    ref = reference(kernel, inputs)
    elf = kernel_elf(kernel, dims, sasa, params)
    result = simulate(elf, {name: to_memory(arr) for name, arr in inputs.items()},
                      {spec.output: ((ref.size,), np.float32)}, sparce=sparce, params=params,
                      max_insts=max_insts, profile=profile, engine=engine)
    out = result.outputs[spec.output]
    exact = bool(np.array_equal(out.view(np.uint32), ref.view(np.uint32)))
    err = float(np.max(np.abs(out.astype(np.float64) - ref))) if out.size else 0.0
    return KernelRun(result, ref, out, exact, err)
