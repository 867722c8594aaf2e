"""Sentence (pair) classification and regression (GLUE, CLUE, Chinese benchmarks), read as data -> model -> run.

tasks: one DataProcessor per benchmark; data: examples to features and TFRecords; model: Google's
classification head and the model_fn; run: train, evaluate, predict and export; outputs: the result and
submission files.
"""
