"""Sentence-BERT: fine-tune a BERT checkpoint into a sentence-embedding model (run_sentence_embedding.py).

Read as data -> model -> evaluation -> run:
  data.py        sentence pairs from the task readers of bert.classifier.tasks (STS-B, GLUE-style TSV, AFQMC, BUSTM, OCNLI,
                 XNLI, ...), checked (file:line errors), tokenized one side at a time, written as TFRecords;
  model.py       the siamese encoder (one BertModel, both sides stacked in the batch dimension), mean/[CLS]
                 pooling, the cosine-MSE and multiple-negatives-ranking losses, the TPUEstimator model_fn;
  evaluation.py  Spearman/Pearson x100 of cosine vs gold (scored sets), accuracy/average precision with a
                 cosine threshold chosen on dev (binary sets), result and embedding files;
  run.py         `Args` (built from the flags) and `run(args, options)`: train, evaluate, predict, export to a
                 sentence-transformers directory.
"""
