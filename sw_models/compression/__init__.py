"""Pruning in ultra-low precision DNNs (dissertation chapter 7): sparse formats and the hybrid scheme.

Modules, one job each:
  pruning    AGP (cubic schedule, torch fine-tuning) and one-shot magnitude pruning
  quantize   P-bit symmetric quantizer that keeps the pruning zeros (§7.2.1)
  matrix     the M x N matrix view of conv / FC / RNN weights
  bits       fixed-width bit-field packing
  csc        EIE-style CSC (Fig. 7.1, eq. 7.1)         smap   sparsity map (eq. 7.3)
  edt        EDT-style LFSR decompressor (§3.7)        gf2    bit-packed GF(2) elimination
  csmap      compressed sparsity map via test-pattern compression (§7.1.2, eqs. 7.5-7.7)
  formulas   eqs. 7.1-7.7                              hybrid best format per layer / network
  evaluate   per-network encoding + cSmap grid search  container  compressed-model file
  models     AGP + export of the zoo's digitsconv       report / sweep / cli  `axsim compress`
"""
