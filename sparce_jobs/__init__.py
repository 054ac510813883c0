"""The jobs layer (ARCHITECTURE.md): everything that needs both the SASA compiler (`sasa_compiler`)
and the engine (`sparce_sim`), which never import each other (dissertation chapter 4, §4.2-§4.4).

- kernel_run: build a kernel (baseline, hand or compiled table), run it, check it against numpy;
- sweep, network: Fig. 4.13 sweeps and per-layer network runs (Figs. 4.10-4.12);
- run_cli: the `axsim run`, `sweep` and `network` commands;
- compile_cli, compile_verify, redundancy_check, kernel_verify: `axsim compile` and its --verify
  (engine runs of the compiled kernel, the dynamic redundancy check, qemu-aarch64 for any kernel);
- gem5_backend: `axsim gem5`, the same ELFs on gem5;
- openblas, openblas_cli: a SPARCE libopenblas from OpenBLAS's own source (§4.3.1).
"""
