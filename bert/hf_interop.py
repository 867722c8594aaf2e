"""Conversion between checkpoints with Google BERT's variable names and Hugging Face `transformers` BERT models.

Export reads a TensorFlow checkpoint (any optimizer slots are ignored) and writes a directory that
`transformers.AutoModel*.from_pretrained` loads: config.json, model.safetensors (written with
`safetensors.numpy`, so torch is not needed), vocab.txt, tokenizer_config.json, special_tokens_map.json and,
on request, the module files of sentence-transformers.

Import reads a Hugging Face BERT directory (model.safetensors, pytorch_model.bin, or their sharded forms) and
writes a TensorFlow checkpoint with Google's variable names plus bert_config.json and vocab.txt, so
run_classifier.py / run_squad.py / run_pretraining.py can start from it with --init_checkpoint.

Layouts: a TF dense `kernel` is [in, out], a torch `Linear.weight` is [out, in], so dense kernels are
transposed. Google's output-layer matrices (`cls/seq_relationship/output_weights`, the classifier's
`output_weights`, `cls/squad/output_weights`) are already stored [out, in] (Google multiplies with
transpose_b=True) and are copied as they are. The masked-LM decoder is tied to the word embeddings on both
sides, so only its bias is stored.
"""
import collections
import json
import os

import numpy as np
import tensorflow as tf

import tokenization
from bert import checkpoints
from bert import file_io
from bert.errors import UsageError

HEADS = ("none", "pretraining", "masked_lm", "classifier", "squad")
ARCHITECTURES = {
    "none": "BertModel",
    "pretraining": "BertForPreTraining",
    "masked_lm": "BertForMaskedLM",
    "classifier": "BertForSequenceClassification",
    "squad": "BertForQuestionAnswering",
}
SPECIAL_TOKENS_MAP = {"unk_token": tokenization.UNK_TOKEN, "sep_token": tokenization.SEP_TOKEN,
                      "pad_token": tokenization.PAD_TOKEN, "cls_token": tokenization.CLS_TOKEN,
                      "mask_token": tokenization.MASK_TOKEN}
# tf_slim.layers.layer_norm (used by bert.modeling, as in Google's code) hard-codes this epsilon.
TF_LAYER_NORM_EPSILON = 1e-12
# Google's bert_config.json fields, in their order.
BERT_CONFIG_FIELDS = ("attention_probs_dropout_prob", "hidden_act", "hidden_dropout_prob", "hidden_size",
                      "initializer_range", "intermediate_size", "max_position_embeddings", "num_attention_heads",
                      "num_hidden_layers", "type_vocab_size", "vocab_size")
REQUIRED_CONFIG_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                          "intermediate_size", "max_position_embeddings", "type_vocab_size")
CHECKPOINT_BASENAME = "bert_model.ckpt"

# One tensor's correspondence: TF variable name, HF parameter name, whether the matrix is transposed.
Rule = collections.namedtuple("Rule", ["tf_name", "hf_name", "transpose"])


def _dense(tf_scope, hf_scope):
  return [Rule(tf_scope + "/kernel", hf_scope + ".weight", True), Rule(tf_scope + "/bias", hf_scope + ".bias", False)]


def _layer_norm(tf_scope, hf_scope):
  return [Rule(tf_scope + "/gamma", hf_scope + ".weight", False),
          Rule(tf_scope + "/beta", hf_scope + ".bias", False)]


def _output_layer(tf_scope, hf_scope):
  """Google's [out, in] `output_weights`/`output_bias` pairs; tf_scope "" means the root scope."""
  prefix = tf_scope + "/" if tf_scope else ""
  return [Rule(prefix + "output_weights", hf_scope + ".weight", False),
          Rule(prefix + "output_bias", hf_scope + ".bias", False)]


def backbone_rules(num_hidden_layers, with_pooler=True):
  """Rules for BertModel, with HF names relative to the model (no "bert." prefix).

  Args:
    num_hidden_layers: number of Transformer layers.
    with_pooler: include bert/pooler/dense.

  Returns:
    A list of Rule.
  """
  rules = [
      Rule("bert/embeddings/word_embeddings", "embeddings.word_embeddings.weight", False),
      Rule("bert/embeddings/token_type_embeddings", "embeddings.token_type_embeddings.weight", False),
      Rule("bert/embeddings/position_embeddings", "embeddings.position_embeddings.weight", False),
  ]
  rules += _layer_norm("bert/embeddings/LayerNorm", "embeddings.LayerNorm")
  for i in range(num_hidden_layers):
    tf_layer, hf_layer = "bert/encoder/layer_%d" % i, "encoder.layer.%d" % i
    for part in ("query", "key", "value"):
      rules += _dense("%s/attention/self/%s" % (tf_layer, part), "%s.attention.self.%s" % (hf_layer, part))
    rules += _dense(tf_layer + "/attention/output/dense", hf_layer + ".attention.output.dense")
    rules += _layer_norm(tf_layer + "/attention/output/LayerNorm", hf_layer + ".attention.output.LayerNorm")
    rules += _dense(tf_layer + "/intermediate/dense", hf_layer + ".intermediate.dense")
    rules += _dense(tf_layer + "/output/dense", hf_layer + ".output.dense")
    rules += _layer_norm(tf_layer + "/output/LayerNorm", hf_layer + ".output.LayerNorm")
  if with_pooler:
    rules += _dense("bert/pooler/dense", "pooler.dense")
  return rules


def masked_lm_rules():
  """Rules of the masked-LM head (decoder weight tied to the word embeddings, so not listed)."""
  rules = _dense("cls/predictions/transform/dense", "cls.predictions.transform.dense")
  rules += _layer_norm("cls/predictions/transform/LayerNorm", "cls.predictions.transform.LayerNorm")
  rules.append(Rule("cls/predictions/output_bias", "cls.predictions.bias", False))
  return rules


def next_sentence_rules():
  """Rules of the next-sentence head."""
  return _output_layer("cls/seq_relationship", "cls.seq_relationship")


def head_rules(head):
  """Rules of a task head, with absolute HF names.

  Args:
    head: one of HEADS.

  Returns:
    A list of Rule (empty for "none").
  """
  if head == "none":
    return []
  if head == "pretraining":
    return masked_lm_rules() + next_sentence_rules()
  if head == "masked_lm":
    return masked_lm_rules()
  if head == "classifier":
    return _output_layer("", "classifier")
  if head == "squad":
    return _output_layer("cls/squad", "qa_outputs")
  raise UsageError("--head=%s is not one of %s" % (head, ",".join(HEADS)))


def export_rules(num_hidden_layers, head, with_pooler=None):
  """All rules of the HF model class for `head`, with the names that class's save_pretrained would write.

  BertModel saved on its own has no prefix; task models keep the backbone under "bert.".

  Args:
    num_hidden_layers: number of Transformer layers.
    head: one of HEADS.
    with_pooler: include the pooler; by default exactly when the transformers class has one
      (BertForQuestionAnswering and BertForMaskedLM have none).

  Returns:
    A list of Rule.
  """
  if with_pooler is None:
    with_pooler = head not in ("squad", "masked_lm")
  backbone = backbone_rules(num_hidden_layers, with_pooler)
  if head == "none":
    return backbone
  prefixed = [Rule(r.tf_name, "bert." + r.hf_name, r.transpose) for r in backbone]
  return prefixed + head_rules(head)


def expected_tf_shapes(config, head, num_labels=None):
  """Shapes (TF layout) that the variables of `head` must have under `config`.

  Args:
    config: bert_config dict.
    head: one of HEADS.
    num_labels: rows of the classifier's output_weights (None: not checked).

  Returns:
    dict tf_name -> tuple shape (entries with None dimensions are checked only on the known ones).
  """
  h, inter, vocab = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
  shapes = {}
  for rule in export_rules(config["num_hidden_layers"], head, with_pooler=True):
    name = rule.tf_name
    if name.endswith("word_embeddings"):
      shape = (vocab, h)
    elif name.endswith("token_type_embeddings"):
      shape = (config["type_vocab_size"], h)
    elif name.endswith("position_embeddings"):
      shape = (config["max_position_embeddings"], h)
    elif "/intermediate/dense/" in name:
      shape = (h, inter) if name.endswith("kernel") else (inter,)
    elif "/output/dense/" in name and "/attention/" not in name and name.startswith("bert/encoder"):
      shape = (inter, h) if name.endswith("kernel") else (h,)
    elif name.endswith("kernel"):
      shape = (h, h)
    elif name == "cls/predictions/output_bias":
      shape = (vocab,)
    elif name in ("cls/seq_relationship/output_weights", "cls/squad/output_weights"):
      shape = (2, h)
    elif name in ("cls/seq_relationship/output_bias", "cls/squad/output_bias"):
      shape = (2,)
    elif name == "output_weights":
      shape = (num_labels, h)
    elif name == "output_bias":
      shape = (num_labels,)
    else:  # biases, gamma, beta
      shape = (h,)
    shapes[name] = shape
  return shapes


def _shape_matches(actual, expected):
  return len(actual) == len(expected) and all(e is None or a == e for a, e in zip(actual, expected))


def check_shapes(shapes, expected, source):
  """Raises UsageError listing every tensor whose shape disagrees with the config."""
  bad = ["%s %s (config says %s)" % (name, list(shapes[name]), [d if d is not None else "?" for d in want])
         for name, want in expected.items() if name in shapes and not _shape_matches(tuple(shapes[name]), want)]
  if bad:
    raise UsageError("%s does not match the config: %s" % (source, "; ".join(bad)))


# ---------------------------------------------------------------------------------------------------------------
# Config, vocabulary and activation names.


def load_json(path, what):
  """Reads a JSON object from `path`, raising UsageError naming `what` (e.g. a flag) on failure."""
  try:
    with open(path, encoding="utf-8") as f:
      value = json.load(f)
  except FileNotFoundError:
    raise UsageError("%s: %s does not exist" % (what, path)) from None
  except (OSError, ValueError) as e:
    raise UsageError("%s: cannot read %s: %s" % (what, path, e)) from None
  if not isinstance(value, dict):
    raise UsageError("%s: %s is not a JSON object" % (what, path))
  return value


def load_bert_config(path):
  """Reads a Google bert_config.json into a dict, checking the fields conversion needs."""
  config = load_json(path, "--bert_config_file")
  missing = [k for k in REQUIRED_CONFIG_FIELDS if k not in config]
  if missing:
    raise UsageError("--bert_config_file: %s lacks %s" % (path, ", ".join(missing)))
  return config


def count_vocab(path, what):
  """Number of tokens in a vocab.txt (one per line, as tokenization.load_vocab reads it)."""
  try:
    # Every line is a token, blank ones included: both tokenization.load_vocab and transformers count lines.
    with open(path, encoding="utf-8") as f:
      return sum(1 for _ in f)
  except FileNotFoundError:
    raise UsageError("%s: %s does not exist" % (what, path)) from None
  except (OSError, UnicodeDecodeError) as e:
    raise UsageError("%s: cannot read %s: %s" % (what, path, e)) from None


def check_vocab_size(vocab_path, vocab_size, what, config_name):
  """Raises UsageError when vocab.txt and the config disagree on the vocabulary size."""
  n = count_vocab(vocab_path, what)
  if n != vocab_size:
    raise UsageError("vocab size mismatch: %s has %d tokens but %s says vocab_size=%d" %
                     (vocab_path, n, config_name, vocab_size))


# Google's bert_config.json says "gelu" for the tanh approximation that its modeling.py computes; transformers
# reads "gelu" as the exact erf form and "gelu_new" as the tanh approximation.
TF_TO_HF_ACTIVATION = {"gelu": "gelu_new", "gelu_exact": "gelu", "relu": "relu", "tanh": "tanh",
                       "linear": "linear"}
HF_TO_TF_ACTIVATION = {"gelu": "gelu_exact", "gelu_python": "gelu_exact", "gelu_new": "gelu",
                       "gelu_pytorch_tanh": "gelu", "gelu_fast": "gelu", "relu": "relu", "tanh": "tanh",
                       "linear": "linear"}


def hf_activation(tf_act):
  """Name of the transformers activation that computes bert.modeling's `tf_act`."""
  try:
    return TF_TO_HF_ACTIVATION[tf_act.lower()]
  except KeyError:
    raise UsageError("hidden_act=%r has no transformers equivalent (known: %s)" %
                     (tf_act, ", ".join(sorted(TF_TO_HF_ACTIVATION)))) from None


def tf_activation(hf_act):
  """Name of the bert.modeling activation that computes transformers' `hf_act`."""
  if not isinstance(hf_act, str) or hf_act.lower() not in HF_TO_TF_ACTIVATION:
    raise UsageError("hidden_act=%r is not supported by bert.modeling (supported: %s)" %
                     (hf_act, ", ".join(sorted(HF_TO_TF_ACTIVATION))))
  return HF_TO_TF_ACTIVATION[hf_act.lower()]


def hf_config_dict(bert_config, head, num_labels=None, label_names=None):
  """Builds the transformers config.json for an exported model.

  Args:
    bert_config: Google bert_config dict.
    head: one of HEADS.
    num_labels: classifier head only.
    label_names: optional list of num_labels names for id2label.

  Returns:
    dict ready for json.dump.
  """
  config = {
      "architectures": [ARCHITECTURES[head]],
      "model_type": "bert",
      "attention_probs_dropout_prob": bert_config.get("attention_probs_dropout_prob", 0.1),
      "hidden_act": hf_activation(bert_config.get("hidden_act", "gelu")),
      "hidden_dropout_prob": bert_config.get("hidden_dropout_prob", 0.1),
      "hidden_size": bert_config["hidden_size"],
      "initializer_range": bert_config.get("initializer_range", 0.02),
      "intermediate_size": bert_config["intermediate_size"],
      "layer_norm_eps": TF_LAYER_NORM_EPSILON,
      "max_position_embeddings": bert_config["max_position_embeddings"],
      "num_attention_heads": bert_config["num_attention_heads"],
      "num_hidden_layers": bert_config["num_hidden_layers"],
      "pad_token_id": 0,
      "position_embedding_type": "absolute",
      "type_vocab_size": bert_config["type_vocab_size"],
      "vocab_size": bert_config["vocab_size"],
      "tie_word_embeddings": True,
  }
  if head == "classifier":
    names = list(label_names) if label_names else ["LABEL_%d" % i for i in range(num_labels)]
    if len(names) != num_labels:
      raise UsageError("--label_names has %d names but the classifier head has %d labels" %
                       (len(names), num_labels))
    if len(set(names)) != len(names):
      raise UsageError("--label_names has repeated names: %s" % ",".join(names))
    config["id2label"] = {str(i): name for i, name in enumerate(names)}
    config["label2id"] = {name: i for i, name in enumerate(names)}
  return config


def tf_bert_config_dict(hf_config):
  """Builds Google's bert_config.json from a transformers config.json (raising on what bert.modeling lacks)."""
  source = "config.json"
  model_type = hf_config.get("model_type")
  if model_type != "bert":
    raise UsageError("%s: model_type is %r, not 'bert'; only BERT models can be imported" % (source, model_type))
  missing = [k for k in REQUIRED_CONFIG_FIELDS if k not in hf_config]
  if missing:
    raise UsageError("%s lacks %s" % (source, ", ".join(missing)))
  if hf_config.get("position_embedding_type", "absolute") != "absolute":
    raise UsageError("%s: position_embedding_type=%s is not supported (bert.modeling has absolute positions only)"
                     % (source, hf_config["position_embedding_type"]))
  if hf_config.get("is_decoder") or hf_config.get("add_cross_attention"):
    raise UsageError("%s: decoder / cross-attention BERT models are not supported" % source)
  config = {
      "attention_probs_dropout_prob": hf_config.get("attention_probs_dropout_prob", 0.1),
      "hidden_act": tf_activation(hf_config.get("hidden_act", "gelu")),
      "hidden_dropout_prob": hf_config.get("hidden_dropout_prob", 0.1),
      "initializer_range": hf_config.get("initializer_range", 0.02),
  }
  for key in REQUIRED_CONFIG_FIELDS:
    config[key] = hf_config[key]
  return {key: config[key] for key in BERT_CONFIG_FIELDS}


# ---------------------------------------------------------------------------------------------------------------
# Export: TF checkpoint -> HF directory.


def detect_head(variable_names):
  """Chooses the head whose variables a checkpoint holds (squad, classifier, pretraining, masked_lm, none).

  A masked-LM head without the next-sentence head (RoBERTa-style pretraining without NSP) is "masked_lm".
  """
  names = set(variable_names)
  if "cls/squad/output_weights" in names:
    return "squad"
  if "output_weights" in names:
    return "classifier"
  if "cls/predictions/output_bias" in names:
    return "pretraining" if "cls/seq_relationship/output_weights" in names else "masked_lm"
  return "none"


def open_checkpoint(checkpoint):
  """Opens a TF checkpoint for reading.

  Args:
    checkpoint: checkpoint prefix or directory.

  Returns:
    (prefix, CheckpointReader, dict variable name -> shape).
  """
  if not checkpoint:
    raise UsageError("--init_checkpoint is required")
  prefix = checkpoints.resolve_checkpoint(checkpoint)
  try:
    reader = tf.train.load_checkpoint(prefix)
  except (tf.errors.OpError, ValueError) as e:
    raise UsageError("--init_checkpoint: cannot read %s: %s" % (prefix, str(e).splitlines()[0])) from None
  return prefix, reader, reader.get_variable_to_shape_map()


def check_required_variables(prefix, shapes, rules, bert_config, head, purpose):
  """Raises UsageError listing every variable of `rules` the checkpoint lacks, or whose shape is wrong.

  Args:
    prefix: checkpoint prefix (for the message).
    shapes: the checkpoint's variable name -> shape.
    rules: the Rules whose TF variables are required.
    bert_config: Google bert_config dict.
    head: the head the rules belong to (for the expected shapes).
    purpose: what the variables are needed for, e.g. "--head=squad".
  """
  missing = [r.tf_name for r in rules if r.tf_name not in shapes]
  if missing:
    raise UsageError("checkpoint %s lacks %d variable(s) needed for %s: %s" %
                     (prefix, len(missing), purpose, ", ".join(missing)))
  num_labels = shapes["output_weights"][0] if head == "classifier" else None
  expected = expected_tf_shapes(bert_config, head, num_labels)
  check_shapes(shapes, {r.tf_name: expected[r.tf_name] for r in rules}, "checkpoint %s" % prefix)


def check_bert_checkpoint(checkpoint, bert_config, with_pooler=True):
  """Checks that a checkpoint holds every BertModel variable with the shapes `bert_config` implies.

  Google's scripts silently leave absent variables at their random initial values; tools that only run the
  encoder call this first.

  Args:
    checkpoint: checkpoint prefix or directory.
    bert_config: Google bert_config dict.
    with_pooler: also require bert/pooler/dense.

  Returns:
    The checkpoint prefix.
  """
  prefix, _, shapes = open_checkpoint(checkpoint)
  rules = backbone_rules(bert_config["num_hidden_layers"], with_pooler)
  check_required_variables(prefix, shapes, rules, bert_config, "none", "BertModel")
  return prefix


def checkpoint_to_hf_state(checkpoint, bert_config, head="auto"):
  """Reads the tensors of `head` from a TF checkpoint and renames/transposes them for transformers.

  Args:
    checkpoint: checkpoint prefix or directory.
    bert_config: Google bert_config dict.
    head: one of HEADS, or "auto" to pick it from the variables present.

  Returns:
    (head, OrderedDict hf_name -> float32 numpy array, list of exported checkpoint variables, list of
    checkpoint variables left out).

  Raises:
    UsageError: unreadable checkpoint, missing variables (all listed), shapes that disagree with the config.
  """
  prefix, reader, shapes = open_checkpoint(checkpoint)
  if head == "auto":
    head = detect_head(shapes)
  # BertForMaskedLM has no pooler, but a model fine-tuned from the export (AutoModelForSequenceClassification)
  # needs it, so a pooler the checkpoint has is kept; transformers notes it as unused when loading the MLM.
  with_pooler = True if head == "masked_lm" and "bert/pooler/dense/kernel" in shapes else None
  rules = export_rules(bert_config["num_hidden_layers"], head, with_pooler)
  check_required_variables(prefix, shapes, rules, bert_config, head, "--head=%s" % head)
  state = collections.OrderedDict()
  for rule in rules:
    value = np.asarray(reader.get_tensor(rule.tf_name), dtype=np.float32)
    state[rule.hf_name] = np.ascontiguousarray(value.T if rule.transpose else value)
  used = {r.tf_name for r in rules}
  left_out = sorted(name for name in shapes if name not in used)
  return head, state, [r.tf_name for r in rules], left_out


def _write_json(path, value):
  """JSON in transformers' style (keys in the order given), written atomically."""
  file_io.write_json_atomically(path, value, sort_keys=False)


def _atomic_copy(src, dst):
  with open(src, "rb") as handle:
    file_io.write_bytes_atomically(dst, handle.read())


def new_file_mode():
  """The permissions open() gives a new file: 0o666 without the process umask (0o644 under umask 022)."""
  try:
    with open("/proc/self/status", encoding="ascii") as status:  # Linux: read without changing the umask
      for line in status:
        if line.startswith("Umask:"):
          return 0o666 & ~int(line.split()[1], 8)
  except (OSError, ValueError):
    pass
  umask = os.umask(0o022)
  os.umask(umask)
  return 0o666 & ~umask


def write_safetensors(state, path):
  """Writes a numpy state dict as model.safetensors with the metadata transformers requires.

  safetensors writes through a private temporary file (mode 0600); the file gets the mode of any other new
  file instead, so it is as readable as the config and vocabulary next to it.
  """
  from safetensors.numpy import save_file  # pylint: disable=g-import-not-at-top
  with file_io.atomic_output(path) as temporary:
    save_file(dict(state), temporary, metadata={"format": "pt"})
    os.chmod(temporary, new_file_mode())


def write_tokenizer_files(output_dir, vocab_file, do_lower_case, model_max_length):
  """Writes vocab.txt, tokenizer_config.json and special_tokens_map.json for transformers' BertTokenizer(Fast)."""
  _atomic_copy(vocab_file, os.path.join(output_dir, "vocab.txt"))
  tokenizer_config = {
      "tokenizer_class": "BertTokenizer",
      "do_lower_case": bool(do_lower_case),
      "do_basic_tokenize": True,
      "tokenize_chinese_chars": True,
      # None = follow do_lower_case, which is what tokenization.FullTokenizer does.
      "strip_accents": None,
      "model_max_length": model_max_length,
  }
  tokenizer_config.update(SPECIAL_TOKENS_MAP)
  _write_json(os.path.join(output_dir, "tokenizer_config.json"), tokenizer_config)
  _write_json(os.path.join(output_dir, "special_tokens_map.json"), SPECIAL_TOKENS_MAP)


SENTENCE_POOLING_MODES = ("none", "mean", "cls")


def write_sentence_transformers_files(output_dir, hidden_size, pooling, max_seq_length):
  """Writes modules.json and the Pooling config so sentence-transformers loads the directory as is.

  Args:
    output_dir: exported model directory.
    hidden_size: embedding dimension.
    pooling: "mean" or "cls".
    max_seq_length: longest input sentence-transformers feeds the model.
  """
  modules = [
      {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
      {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
  ]
  pooling_config = {
      "word_embedding_dimension": hidden_size,
      "pooling_mode_cls_token": pooling == "cls",
      "pooling_mode_mean_tokens": pooling == "mean",
      "pooling_mode_max_tokens": False,
      "pooling_mode_mean_sqrt_len_tokens": False,
  }
  os.makedirs(os.path.join(output_dir, "1_Pooling"), exist_ok=True)
  _write_json(os.path.join(output_dir, "modules.json"), modules)
  _write_json(os.path.join(output_dir, "1_Pooling", "config.json"), pooling_config)
  _write_json(os.path.join(output_dir, "sentence_bert_config.json"),
                     {"max_seq_length": max_seq_length, "do_lower_case": False})


ExportSummary = collections.namedtuple("ExportSummary", ["head", "architecture", "exported", "left_out"])


def export_hf(init_checkpoint, bert_config_file, vocab_file, output_dir, head="auto", do_lower_case=True,
              label_names=None, sentence_pooling="none"):
  """Writes a Hugging Face BERT directory from a TF checkpoint with Google's names.

  Args:
    init_checkpoint: checkpoint prefix or directory.
    bert_config_file: Google bert_config.json.
    vocab_file: vocab.txt used for training.
    output_dir: destination directory (created).
    head: one of HEADS or "auto".
    do_lower_case: written to tokenizer_config.json; must match the value used for training.
    label_names: classifier only: names for id2label, in label-id order.
    sentence_pooling: "none", or "mean"/"cls" to add sentence-transformers module files.

  Returns:
    ExportSummary.
  """
  if head != "auto" and head not in HEADS:
    raise UsageError("--head=%s is not one of auto,%s" % (head, ",".join(HEADS)))
  if sentence_pooling not in SENTENCE_POOLING_MODES:
    raise UsageError("--sentence_pooling=%s is not one of %s" % (sentence_pooling, ",".join(SENTENCE_POOLING_MODES)))
  bert_config = load_bert_config(bert_config_file)
  check_vocab_size(vocab_file, bert_config["vocab_size"], "--vocab_file", "--bert_config_file")
  head, state, exported, left_out = checkpoint_to_hf_state(init_checkpoint, bert_config, head)
  num_labels = state["classifier.weight"].shape[0] if head == "classifier" else None
  if label_names and head != "classifier":
    raise UsageError("--label_names applies to --head=classifier only (the head is %s)" % head)
  hf_config = hf_config_dict(bert_config, head, num_labels, label_names)
  file_io.make_dirs(output_dir, "--output_dir")
  write_safetensors(state, os.path.join(output_dir, "model.safetensors"))
  write_tokenizer_files(output_dir, vocab_file, do_lower_case, bert_config["max_position_embeddings"])
  if sentence_pooling != "none":
    write_sentence_transformers_files(output_dir, bert_config["hidden_size"], sentence_pooling,
                                      bert_config["max_position_embeddings"])
  # config.json last: its presence marks a complete directory for transformers.
  _write_json(os.path.join(output_dir, "config.json"), hf_config)
  return ExportSummary(head, ARCHITECTURES[head], exported, left_out)


# ---------------------------------------------------------------------------------------------------------------
# Import: HF directory -> TF checkpoint.

# Buffers and tied copies that transformers may store and that have no TF variable of their own.
_IGNORED_HF_SUFFIXES = ("embeddings.position_ids",)


def read_hf_weights(hf_dir):
  """Reads all tensors of a HF model directory as numpy arrays.

  Looks for model.safetensors, model.safetensors.index.json (shards), pytorch_model.bin and
  pytorch_model.bin.index.json, in that order. Only the .bin forms need torch.

  Returns:
    (file name read, dict name -> numpy array).
  """
  def path(name):
    return os.path.join(hf_dir, name)

  if os.path.isfile(path("model.safetensors")):
    return "model.safetensors", _read_safetensors([path("model.safetensors")])
  if os.path.isfile(path("model.safetensors.index.json")):
    shards = _shard_files(hf_dir, "model.safetensors.index.json")
    return "model.safetensors.index.json", _read_safetensors(shards)
  if os.path.isfile(path("pytorch_model.bin")):
    return "pytorch_model.bin", _read_torch_bins([path("pytorch_model.bin")])
  if os.path.isfile(path("pytorch_model.bin.index.json")):
    shards = _shard_files(hf_dir, "pytorch_model.bin.index.json")
    return "pytorch_model.bin.index.json", _read_torch_bins(shards)
  raise UsageError("--hf_dir: %s has no model.safetensors or pytorch_model.bin (TF/Flax-only repositories are "
                   "not supported)" % hf_dir)


def _shard_files(hf_dir, index_name):
  index = load_json(os.path.join(hf_dir, index_name), "--hf_dir")
  weight_map = index.get("weight_map")
  if not isinstance(weight_map, dict):
    raise UsageError("--hf_dir: %s has no weight_map" % os.path.join(hf_dir, index_name))
  shards = [os.path.join(hf_dir, name) for name in sorted(set(weight_map.values()))]
  absent = [s for s in shards if not os.path.isfile(s)]
  if absent:
    raise UsageError("--hf_dir: shard(s) listed in %s are missing: %s" % (index_name, ", ".join(absent)))
  return shards


def _read_safetensors(files):
  from safetensors.numpy import load_file  # pylint: disable=g-import-not-at-top
  tensors = {}
  for f in files:
    try:
      tensors.update(load_file(f))
    except Exception as e:  # safetensors raises its own error types for corrupt headers.
      raise UsageError("--hf_dir: cannot read %s: %s" % (f, e)) from None
  return tensors


def _read_torch_bins(files):
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise UsageError("--hf_dir: reading pytorch_model.bin needs torch (pip install torch), or convert the model to "
                     "model.safetensors") from None
  tensors = {}
  for f in files:
    try:
      state = torch.load(f, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle and zip errors of many kinds.
      raise UsageError("--hf_dir: cannot read %s: %s" % (f, e)) from None
    for name, value in state.items():
      tensors[name] = value.detach().to(torch.float32).numpy() if value.is_floating_point() else value.numpy()
  return tensors


def _canonical_hf_name(name):
  """Strips the task model's "bert." prefix and renames old LayerNorm.gamma/beta to weight/bias."""
  if name.startswith("bert."):
    name = name[len("bert."):]
  if name.endswith(".gamma"):
    name = name[:-len(".gamma")] + ".weight"
  elif name.endswith(".beta"):
    name = name[:-len(".beta")] + ".bias"
  return name


ImportSummary = collections.namedtuple("ImportSummary", ["checkpoint", "weights_file", "heads", "num_variables",
                                                         "ignored", "notes", "id2label", "do_lower_case"])


# transformers classes whose `classifier.*` is not run_classifier.py's pooled-output classifier.
_OTHER_CLASSIFIERS = ("BertForTokenClassification", "BertForMultipleChoice")


def hf_state_to_tf_variables(tensors, bert_config, architecture=None):
  """Maps HF tensors to Google's TF variables.

  Args:
    tensors: dict HF name -> numpy array.
    bert_config: Google bert_config dict (from tf_bert_config_dict).
    architecture: the transformers class named in config.json, if any.

  Returns:
    (OrderedDict tf_name -> numpy array, list of heads found, list of ignored HF names, list of notes).

  Raises:
    UsageError: backbone tensors missing (all listed) or shapes that disagree with the config.
  """
  canonical = {}
  for name, value in tensors.items():
    canonical[_canonical_hf_name(name)] = value
  notes = []
  variables = collections.OrderedDict()
  backbone = backbone_rules(bert_config["num_hidden_layers"], with_pooler=True)
  missing = [r.hf_name for r in backbone if r.hf_name not in canonical and not r.hf_name.startswith("pooler.")]
  if missing:
    raise UsageError("the Hugging Face weights lack %d BERT tensor(s): %s" % (len(missing), ", ".join(missing)))
  if "pooler.dense.weight" not in canonical:
    notes.append("no pooler weights (the model was saved without a pooler); bert/pooler/dense keeps its "
                 "initializer, which matters only for tasks that use the pooled [CLS] output")
    backbone = [r for r in backbone if not r.hf_name.startswith("pooler.")]
  found = []
  rules = list(backbone)
  groups = (("masked_lm", masked_lm_rules()), ("next_sentence", next_sentence_rules()),
            ("classifier", head_rules("classifier")), ("squad", head_rules("squad")))
  for name, group in groups:
    absent = [r.hf_name for r in group if r.hf_name not in canonical]
    if len(absent) == len(group):
      continue
    if name == "classifier" and architecture in _OTHER_CLASSIFIERS:
      notes.append("the classifier.* weights of %s have no counterpart in run_classifier.py (which classifies "
                   "the pooled [CLS] vector); they were left out" % architecture)
      continue
    if absent:
      raise UsageError("the Hugging Face weights hold an incomplete %s head; missing: %s" % (name, ", ".join(absent)))
    found.append(name)
    rules += group
  heads = ["pretraining"] + found[2:] if found[:2] == ["masked_lm", "next_sentence"] else found
  used = set()
  for rule in rules:
    value = np.asarray(canonical[rule.hf_name])
    if np.issubdtype(value.dtype, np.floating):
      value = value.astype(np.float32)
    variables[rule.tf_name] = np.ascontiguousarray(value.T if rule.transpose else value)
    used.add(rule.hf_name)
  num_labels = variables["output_weights"].shape[0] if "output_weights" in variables else None
  expected = {}
  for head in ("pretraining", "classifier", "squad"):
    expected.update(expected_tf_shapes(bert_config, head, num_labels))
  check_shapes({k: v.shape for k, v in variables.items()}, expected, "the Hugging Face weights")
  _check_tied_decoder(canonical, variables, notes)
  used.update(("cls.predictions.decoder.weight", "cls.predictions.decoder.bias"))
  ignored = sorted(name for name in canonical if name not in used and not name.endswith(_IGNORED_HF_SUFFIXES))
  return variables, heads, ignored, notes


def _check_tied_decoder(canonical, variables, notes):
  """Notes a masked-LM decoder that is not tied to the embeddings (the TF model always ties them)."""
  decoder = canonical.get("cls.predictions.decoder.weight")
  if decoder is not None and not np.array_equal(decoder, variables["bert/embeddings/word_embeddings"]):
    notes.append("cls.predictions.decoder.weight differs from the word embeddings; the TF model ties them, so "
                 "the decoder weight was dropped")


def write_tf_checkpoint(variables, checkpoint_prefix):
  """Writes numpy arrays as a TF (V2) checkpoint with exactly the given variable names.

  The bundle is what tf.compat.v1.train.Saver writes, so Saver.restore, tf.train.init_from_checkpoint and
  tf.train.list_variables read it. A `checkpoint` state file is written next to it.

  Args:
    variables: OrderedDict name -> numpy array.
    checkpoint_prefix: e.g. out/bert_model.ckpt.
  """
  file_io.make_parent_dirs(checkpoint_prefix, "--output_dir")
  directory = os.path.dirname(os.path.abspath(checkpoint_prefix))
  names = list(variables)
  tmp_prefix = checkpoint_prefix + ".tmp"
  with tf.Graph().as_default():
    # Placeholders keep the arrays out of the GraphDef (whose 2 GB limit a large model would exceed).
    feeds = [tf.compat.v1.placeholder(tf.as_dtype(variables[n].dtype), shape=variables[n].shape) for n in names]
    save_op = tf.raw_ops.SaveV2(prefix=tmp_prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                                tensors=feeds)
    with tf.compat.v1.Session() as sess:
      sess.run(save_op, feed_dict={p: variables[n] for p, n in zip(feeds, names)})
  for suffix in (".index", ".data-00000-of-00001"):
    os.replace(tmp_prefix + suffix, checkpoint_prefix + suffix)
  basename = os.path.basename(checkpoint_prefix)
  file_io.write_text_atomically(os.path.join(directory, "checkpoint"),
                     'model_checkpoint_path: "%s"\nall_model_checkpoint_paths: "%s"\n' % (basename, basename))


def hf_vocab_size(hf_dir):
  """Number of tokens of the HF directory's vocabulary (vocab.txt, else tokenizer.json)."""
  vocab_txt = os.path.join(hf_dir, "vocab.txt")
  if os.path.isfile(vocab_txt):
    return count_vocab(vocab_txt, "--hf_dir")
  return len(_tokenizer_json_vocab(hf_dir))


def write_hf_vocab(hf_dir, output_path):
  """Copies vocab.txt, or rebuilds it from tokenizer.json's WordPiece vocabulary when only that exists."""
  vocab_txt = os.path.join(hf_dir, "vocab.txt")
  if os.path.isfile(vocab_txt):
    _atomic_copy(vocab_txt, output_path)
  else:
    file_io.write_text_atomically(output_path, "".join(token + "\n" for token in _tokenizer_json_vocab(hf_dir)))


def _tokenizer_json_vocab(hf_dir):
  """Tokens ordered by id from tokenizer.json's WordPiece model."""
  tokenizer_json = os.path.join(hf_dir, "tokenizer.json")
  if not os.path.isfile(tokenizer_json):
    raise UsageError("--hf_dir: %s has neither vocab.txt nor tokenizer.json" % hf_dir)
  model = load_json(tokenizer_json, "--hf_dir").get("model", {})
  if model.get("type") != "WordPiece" or not isinstance(model.get("vocab"), dict):
    raise UsageError("--hf_dir: %s is not a WordPiece tokenizer and there is no vocab.txt" % tokenizer_json)
  return [token for token, _ in sorted(model["vocab"].items(), key=lambda item: item[1])]


def read_do_lower_case(hf_dir):
  """do_lower_case from tokenizer_config.json (None when the file does not say)."""
  path = os.path.join(hf_dir, "tokenizer_config.json")
  if not os.path.isfile(path):
    return None
  value = load_json(path, "--hf_dir").get("do_lower_case")
  return bool(value) if value is not None else None


def import_hf(hf_dir, output_dir):
  """Converts a Hugging Face BERT directory to a TF checkpoint with Google's names.

  Writes output_dir/bert_model.ckpt.*, checkpoint, bert_config.json and vocab.txt.

  Args:
    hf_dir: directory with config.json, weights, and vocab.txt (or tokenizer.json).
    output_dir: destination directory.

  Returns:
    ImportSummary.
  """
  if not os.path.isdir(hf_dir):
    raise UsageError("--hf_dir: %s is not a directory" % hf_dir)
  hf_config = load_json(os.path.join(hf_dir, "config.json"), "--hf_dir")
  try:
    bert_config = tf_bert_config_dict(hf_config)
  except UsageError as e:
    raise UsageError("--hf_dir: %s/%s" % (hf_dir, e)) from None
  notes = []
  eps = hf_config.get("layer_norm_eps", TF_LAYER_NORM_EPSILON)
  if not np.isclose(eps, TF_LAYER_NORM_EPSILON, rtol=0, atol=1e-9):
    notes.append("layer_norm_eps=%g but bert.modeling uses %g; outputs differ slightly" %
                 (eps, TF_LAYER_NORM_EPSILON))
  vocab_size = hf_vocab_size(hf_dir)
  if vocab_size != bert_config["vocab_size"]:
    raise UsageError("vocab size mismatch: the vocabulary in %s has %d tokens but its config.json says "
                     "vocab_size=%d" % (hf_dir, vocab_size, bert_config["vocab_size"]))
  weights_file, tensors = read_hf_weights(hf_dir)
  architectures = hf_config.get("architectures") or [None]
  variables, heads, ignored, weight_notes = hf_state_to_tf_variables(tensors, bert_config, architectures[0])
  notes += weight_notes
  file_io.make_dirs(output_dir, "--output_dir")
  write_hf_vocab(hf_dir, os.path.join(output_dir, "vocab.txt"))
  checkpoint = os.path.join(output_dir, CHECKPOINT_BASENAME)
  write_tf_checkpoint(variables, checkpoint)
  _write_json(os.path.join(output_dir, "bert_config.json"), bert_config)
  id2label = hf_config.get("id2label") if "classifier" in heads else None
  return ImportSummary(checkpoint, weights_file, heads, len(variables), ignored, notes, id2label,
                       read_do_lower_case(hf_dir))
