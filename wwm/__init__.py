"""Chinese whole-word masking and pretraining-data creation (no TensorFlow import).

Modules: segmenters (jieba default), alignment (word id per token position), masking (whole-word budgeted
masking), instances (Google's NSP logic, packing, dynamic masking), fast_records (the same alignment, instances,
masks and records from the C extension _fast_records.c, byte for byte), fast_tokenizer (batch tokenization of
lines with tokenization.py, or optionally Rust WordPiece where it equals it), tfrecord (TFRecord writing
without TensorFlow), pipeline (streaming, parallel, reproducible driver used by create_pretraining_data.py).
The C extensions (_fast_records, _fast_segmenter: jieba's algorithm, _fast_wordpiece: WordPiece ids) are optional
builds; without them the Python code gives the same output.
"""
