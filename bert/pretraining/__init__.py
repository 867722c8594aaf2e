"""Pretraining (masked LM + next-sentence prediction), read as data -> model -> run.

data: the TFRecord input pipeline and its checks; dynamic_masking: whole-word masks drawn in the input
pipeline; model: the pretraining heads and model_fn; run: train and evaluate (Args, run); demo: the end-to-end
demonstration behind `make demo`.
"""
