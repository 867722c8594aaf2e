"""Reading comprehension (SQuAD 1.1/2.0, CMRC 2018, DRCD), read as data -> model -> run.

data: SQuAD-format JSON to examples and sliding-window features; model: the span head, its records and the
model_fn; postprocess: logits to answer spans (predictions.json, nbest, null odds); scoring: the official
SQuAD v1.1/v2.0 and CMRC 2018 evaluation rules.
"""
