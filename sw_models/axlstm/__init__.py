"""AxLSTM (dissertation chapter 5): approximate computing for sequence-to-sequence LSTMs.

Modules:
    data      offline benchmarks standing in for Table 5.1 (num2words translation, MNIST "video" captions)
    model     the torch seq2seq (stacked LSTM encoder-decoder, eq. 3.2 cells) and its training loops
    onnx_model  export to / import from ONNX (standard `LSTM` operators, vocabularies in the metadata)
    engine    numpy inference engine: skipped timesteps do no work, reduced states use sliced matrices
    approx    the Input Analyzer (DTS: StateEffect, InputDiff, section 5.1.2) and the State Minimizer
              (DSR: eqs. 5.1 and 5.2, section 5.1.3)
    design    Algorithm 1 (section 5.1.4) with retraining under the approximations
    evaluate  BLEU (sacrebleu), wall-clock and operation counts, Figs. 5.4-5.7 data
    plots     the figures
"""
