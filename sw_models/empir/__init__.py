"""EMPIR: ensembles of mixed-precision DNNs against adversarial attacks (dissertation chapter 8).

Modules, one job each:
  quant      DoReFa quantizers of eq. 8.1 with straight-through (and BPDA) gradients
  models     MNISTconv / CIFARconv of Table 8.1 with quantized layers; CIFAR-10 batch loader
  train      training of one member, saved as a state dict and exported to ONNX (resumable)
  defenses   adversarial training (FGSM/PGD), defensive distillation, input-gradient regularization
  ensemble   averaging and max voting (tie rule), §8.2.2 attack gradients, one-graph ONNX export
  attacks    FGSM, BIM, PGD, CW-L2 (Table 8.2) and adaptive attacks (vote surrogate, per member, BPDA)
  overhead   eq. 8.2 with a documented Ops/s(bits) table; measured onnxruntime latency and bytes
  search     ensembles under the paper's constraints (<=25% overhead, <2% clean-accuracy loss)
  plots      Figs. 8.1, 8.3, 8.4, 8.5
  cli        the `axsim empir` sub-commands
"""
