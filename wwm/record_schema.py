"""The pretraining record schema: the feature names create_pretraining_data.py writes and run_pretraining.py
reads, in one place for both (wwm/pipeline.py encodes them, bert/pretraining/data.py parses and checks them).

Google's records (and ours without --dynamic_masking) hold, in this order, the padded token ids, mask and
segment ids [max_seq_length], the masked positions, their original ids and weights [max_predictions_per_seq]
(weight 0 marks padding) and the next-sentence label [1]. --dynamic_masking records keep the ids unmasked and
replace the masked-LM features by word_ids [max_seq_length] (word index 0.. per position, -1 for [CLS], [SEP]
and padding), from which the input pipeline draws new whole-word masks every epoch.
"""
INPUT_IDS = "input_ids"
INPUT_MASK = "input_mask"
SEGMENT_IDS = "segment_ids"
MASKED_LM_POSITIONS = "masked_lm_positions"
MASKED_LM_IDS = "masked_lm_ids"
MASKED_LM_WEIGHTS = "masked_lm_weights"
NEXT_SENTENCE_LABELS = "next_sentence_labels"
WORD_IDS = "word_ids"

SEQUENCE_FEATURES = (INPUT_IDS, INPUT_MASK, SEGMENT_IDS)
PREDICTION_FEATURES = (MASKED_LM_POSITIONS, MASKED_LM_IDS, MASKED_LM_WEIGHTS)
# The features of each kind of record, in the order they are written (the order fixes the bytes).
STATIC_MASKING_FEATURES = SEQUENCE_FEATURES + PREDICTION_FEATURES + (NEXT_SENTENCE_LABELS,)
DYNAMIC_MASKING_FEATURES = SEQUENCE_FEATURES + (NEXT_SENTENCE_LABELS, WORD_IDS)
# Features holding token ids (embedding rows / output classes of the model).
TOKEN_ID_FEATURES = (INPUT_IDS, MASKED_LM_IDS)
