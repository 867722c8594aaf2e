"""The BERT encoder and its pretraining heads, in TensorFlow 1 graph style (`tf.compat.v1`).

The public names and the checkpoint variable names follow Google's original `modeling.py`, so downstream code
that does `from bert import modeling` (or `import modeling`) and released checkpoints such as
chinese_L-12_H-768_A-12 or the HFL chinese-bert-wwm checkpoints keep working:

  bert/embeddings/{word,token_type,position}_embeddings, bert/embeddings/LayerNorm/{beta,gamma}
  bert/encoder/layer_N/attention/self/{query,key,value}/{kernel,bias}
  bert/encoder/layer_N/attention/output/{dense/{kernel,bias},LayerNorm/{beta,gamma}}
  bert/encoder/layer_N/intermediate/dense/{kernel,bias}
  bert/encoder/layer_N/output/{dense/{kernel,bias},LayerNorm/{beta,gamma}}
  bert/pooler/dense/{kernel,bias}
  cls/predictions/transform/{dense/{kernel,bias},LayerNorm/{beta,gamma}}, cls/predictions/output_bias
  cls/seq_relationship/{output_weights,output_bias}

Additions over Google's module:
  * `BertModel(..., compute_type=tf.bfloat16 or tf.float16)` runs the encoder in reduced precision while the
    variables stay float32 (a custom getter casts them when they are read); layer norm, the attention softmax
    and everything the model returns are float32.
  * The pretraining heads (`get_masked_lm_output`, `get_next_sentence_output`, `gather_indexes`) live here so
    that every script and tool shares one definition.
  * Bad configurations raise `bert.errors.UsageError` with one line naming the problem.
  * The query/key/value projections run as one matmul over the concatenated kernels (the three variables and
    their names are unchanged), which is faster on CPU and GPU.
"""
import collections
import copy
import json
import math
import numbers
import re

import six
import tensorflow as tf
import tf_slim

from bert.errors import UsageError

tf1 = tf.compat.v1

# Size fields of bert_config.json that must be positive integers.
_INTEGER_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                   "max_position_embeddings", "type_vocab_size")


class BertConfig(object):
  """Hyper-parameters of a BERT model (the contents of bert_config.json)."""

  def __init__(self,
               vocab_size,
               hidden_size=768,
               num_hidden_layers=12,
               num_attention_heads=12,
               intermediate_size=3072,
               hidden_act="gelu",
               hidden_dropout_prob=0.1,
               attention_probs_dropout_prob=0.1,
               max_position_embeddings=512,
               type_vocab_size=16,
               initializer_range=0.02):
    """Builds a config.

    Args:
      vocab_size: number of rows of the word embedding table.
      hidden_size: width of the encoder layers and the pooler.
      num_hidden_layers: number of Transformer layers.
      num_attention_heads: attention heads per layer; must divide `hidden_size`.
      intermediate_size: width of the feed-forward ("intermediate") layer.
      hidden_act: activation of the feed-forward layer and of the masked-LM transform ("gelu" is Google's tanh
        approximation; see `get_activation`).
      hidden_dropout_prob: dropout on embeddings, attention output, feed-forward output and pooler input.
      attention_probs_dropout_prob: dropout on the attention probabilities.
      max_position_embeddings: longest sequence the position table covers.
      type_vocab_size: number of segment ids (`token_type_ids`).
      initializer_range: stddev of the truncated-normal initializer of every weight matrix.
    """
    self.vocab_size = vocab_size
    self.hidden_size = hidden_size
    self.num_hidden_layers = num_hidden_layers
    self.num_attention_heads = num_attention_heads
    self.hidden_act = hidden_act
    self.intermediate_size = intermediate_size
    self.hidden_dropout_prob = hidden_dropout_prob
    self.attention_probs_dropout_prob = attention_probs_dropout_prob
    self.max_position_embeddings = max_position_embeddings
    self.type_vocab_size = type_vocab_size
    self.initializer_range = initializer_range

  @classmethod
  def from_dict(cls, json_object):
    """Builds a config from a dict; keys that are not config fields are kept as attributes (like Google's).

    Args:
      json_object: mapping of field name to value.

    Returns:
      A BertConfig.
    """
    config = cls(vocab_size=None)
    for key, value in six.iteritems(json_object):
      config.__dict__[key] = value
    return config

  @classmethod
  def from_json_file(cls, json_file):
    """Reads a bert_config.json file.

    Args:
      json_file: path of the file.

    Returns:
      A BertConfig, checked with `validate`.

    Raises:
      UsageError: the file is missing, unreadable, not a JSON object, or describes an impossible model.
    """
    try:
      with tf.io.gfile.GFile(json_file, "r") as reader:
        text = reader.read()
    except (tf.errors.NotFoundError, FileNotFoundError):
      raise UsageError("BERT config file %s does not exist" % json_file) from None
    except (tf.errors.OpError, OSError, UnicodeDecodeError) as e:
      raise UsageError("cannot read BERT config file %s: %s" % (json_file, _first_line(e))) from None
    try:
      fields = json.loads(text)
    except ValueError as e:
      raise UsageError("BERT config file %s is not valid JSON: %s" % (json_file, e)) from None
    if not isinstance(fields, dict):
      raise UsageError("BERT config file %s must hold a JSON object, got %s" % (json_file, type(fields).__name__))
    config = cls.from_dict(fields)
    config.validate(source=json_file)
    return config

  def validate(self, source="BERT config"):
    """Checks that the config describes a model that can be built.

    Args:
      source: where the config came from (a file name), used in the error message.

    Raises:
      UsageError: a required field is missing or not a positive integer, or `hidden_size` is not divisible by
        `num_attention_heads`.
    """
    for name in _INTEGER_FIELDS:
      value = getattr(self, name, None)
      if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise UsageError("%s: %s must be a positive integer, got %r" % (source, name, value))
    if self.hidden_size % self.num_attention_heads != 0:
      raise UsageError("%s: hidden_size %d is not divisible by num_attention_heads %d" %
                       (source, self.hidden_size, self.num_attention_heads))

  def to_dict(self):
    """Returns the config as a plain dict (a deep copy)."""
    return copy.deepcopy(self.__dict__)

  def to_json_string(self):
    """Returns the config as pretty-printed JSON with sorted keys."""
    return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"


def _first_line(error):
  """Returns the first line of an exception's message (TensorFlow errors can span many lines)."""
  text = str(error).strip()
  return text.splitlines()[0] if text else type(error).__name__


def check_sequence_length(config, seq_length, what="sequence length"):
  """Raises a one-line error when sequences are longer than the position table.

  Scripts call this on their `--max_seq_length` flag before building anything; `BertModel` calls it on the
  static length of its input.

  Args:
    config: a BertConfig.
    seq_length: the length to check.
    what: how the length is called in the message (e.g. "--max_seq_length").

  Raises:
    UsageError: `seq_length` > `config.max_position_embeddings`.
  """
  if seq_length > config.max_position_embeddings:
    raise UsageError("%s %d exceeds max_position_embeddings %d of the BERT config (the model has no position "
                     "embedding beyond it)" % (what, seq_length, config.max_position_embeddings))


def _float32_variable_getter(compute_type):
  """Returns a custom getter that stores variables in float32 and hands them out cast to `compute_type`.

  Layers that ask for a `compute_type` variable get a cast of a float32 variable, so checkpoints and optimizer
  updates stay float32 while the matmuls run in reduced precision. Requests for float32 (layer norm, the
  embedding tables) are passed through untouched.

  Args:
    compute_type: tf.DType the layers compute in.

  Returns:
    A function usable as `custom_getter` of a variable scope.
  """

  def cast_getter(getter, name, *args, **kwargs):
    requested = kwargs.get("dtype")
    if requested is None or tf.as_dtype(requested) != compute_type:
      return getter(name, *args, **kwargs)
    kwargs["dtype"] = tf.float32
    variable = getter(name, *args, **kwargs)
    return tf.cast(variable, compute_type)

  return cast_getter


class BertModel(object):
  """BERT encoder: embeddings, a stack of Transformer layers, and the [CLS] pooler.

  Example:

  ```python
  config = modeling.BertConfig.from_json_file("configs/bert_base_zh.json")
  model = modeling.BertModel(config=config, is_training=True, input_ids=input_ids,
                             input_mask=input_mask, token_type_ids=segment_ids)
  pooled = model.get_pooled_output()        # [batch, hidden], for classification
  sequence = model.get_sequence_output()    # [batch, seq, hidden], for tagging and span prediction
  ```
  """

  def __init__(self,
               config,
               is_training,
               input_ids,
               input_mask=None,
               token_type_ids=None,
               use_one_hot_embeddings=False,
               scope=None,
               compute_type=tf.float32,
               sequence_output_positions=None):
    """Builds the encoder graph.

    Args:
      config: BertConfig.
      is_training: True enables dropout; False makes the model deterministic (evaluation, prediction).
      input_ids: int32 Tensor [batch, seq_length].
      input_mask: optional int32 Tensor [batch, seq_length], 1 for real tokens and 0 for padding.
      token_type_ids: optional int32 Tensor [batch, seq_length] of segment ids.
      use_one_hot_embeddings: look the word embeddings up with a one-hot matmul (fast on TPU) instead of a
        gather.
      scope: variable scope name, "bert" by default.
      compute_type: dtype of the activations (tf.float32, tf.bfloat16 or tf.float16). Variables stay float32;
        layer norm, softmax and all returned tensors are float32.
      sequence_output_positions: optional int Tensor [batch, k]: compute the last encoder layer only at these
        positions and at [CLS] (the pooler's input). Pretraining needs no other row: the masked-LM head reads
        the masked positions, the next-sentence head the pooled [CLS]; with seq_length 128 and 20 predictions
        the last layer then costs about a third. get_sequence_output() and get_all_encoder_layers()[-1] are
        then [batch, k, hidden_size], the rows at these positions in their order.

    Raises:
      UsageError: the config is invalid, or the sequence length exceeds `max_position_embeddings`.
    """
    config = copy.deepcopy(config)
    config.validate()
    if not is_training:
      config.hidden_dropout_prob = 0.0
      config.attention_probs_dropout_prob = 0.0
    compute_type = tf.as_dtype(compute_type)
    if compute_type not in (tf.float32, tf.bfloat16, tf.float16):
      raise UsageError("compute_type must be float32, bfloat16 or float16, got %s" % compute_type.name)

    input_shape = get_shape_list(input_ids, expected_rank=2)
    batch_size, seq_length = input_shape[0], input_shape[1]
    if isinstance(seq_length, int):
      check_sequence_length(config, seq_length)
    if input_mask is None:
      input_mask = tf.ones(shape=[batch_size, seq_length], dtype=tf.int32)
    if token_type_ids is None:
      token_type_ids = tf.zeros(shape=[batch_size, seq_length], dtype=tf.int32)

    custom_getter = None if compute_type == tf.float32 else _float32_variable_getter(compute_type)
    with tf1.variable_scope(scope, default_name="bert", custom_getter=custom_getter):
      with tf1.variable_scope("embeddings"):
        # The tables are float32 (requested as such, so the custom getter leaves them alone): the masked-LM
        # head ties its output layer to the word table and must see full-precision weights.
        (word_embeddings, self.embedding_table) = embedding_lookup(
            input_ids=input_ids,
            vocab_size=config.vocab_size,
            embedding_size=config.hidden_size,
            initializer_range=config.initializer_range,
            word_embedding_name="word_embeddings",
            use_one_hot_embeddings=use_one_hot_embeddings)
        self.embedding_output = embedding_postprocessor(
            input_tensor=word_embeddings,
            use_token_type=True,
            token_type_ids=token_type_ids,
            token_type_vocab_size=config.type_vocab_size,
            token_type_embedding_name="token_type_embeddings",
            use_position_embeddings=True,
            position_embedding_name="position_embeddings",
            initializer_range=config.initializer_range,
            max_position_embeddings=config.max_position_embeddings,
            dropout_prob=config.hidden_dropout_prob)

      last_layer_positions = None
      if sequence_output_positions is not None:
        # [CLS] first (for the pooler), then the requested rows.
        last_layer_positions = tf.concat([tf.zeros([batch_size, 1], tf.int32),
                                          tf.cast(sequence_output_positions, tf.int32)], axis=1)
      with tf1.variable_scope("encoder"):
        attention_mask = create_attention_mask_from_input_mask(input_ids, input_mask)
        layer_outputs = transformer_model(
            input_tensor=tf.cast(self.embedding_output, compute_type),
            attention_mask=attention_mask,
            hidden_size=config.hidden_size,
            num_hidden_layers=config.num_hidden_layers,
            num_attention_heads=config.num_attention_heads,
            intermediate_size=config.intermediate_size,
            intermediate_act_fn=get_activation(config.hidden_act),
            hidden_dropout_prob=config.hidden_dropout_prob,
            attention_probs_dropout_prob=config.attention_probs_dropout_prob,
            initializer_range=config.initializer_range,
            do_return_all_layers=True,
            last_layer_positions=last_layer_positions)
        last_layer = layer_outputs[-1]  # row 0 is [CLS], also with last_layer_positions (which start there)
        if last_layer_positions is not None:
          layer_outputs[-1] = last_layer[:, 1:, :]
        self.all_encoder_layers = [tf.cast(layer, tf.float32) for layer in layer_outputs]
      self.sequence_output = self.all_encoder_layers[-1]

      with tf1.variable_scope("pooler"):
        # The pooled vector is the [CLS] position through a tanh dense layer; pretraining trains it on the
        # next-sentence task, which is why it is a useful sentence representation.
        first_token = tf.squeeze(last_layer[:, 0:1, :], axis=1)
        pooled = dense_layer(first_token, config.hidden_size, name="dense", activation=tf.tanh,
                             initializer_range=config.initializer_range)
        self.pooled_output = tf.cast(pooled, tf.float32)

  def get_pooled_output(self):
    """Returns the pooled [CLS] vector, float32 [batch, hidden_size]."""
    return self.pooled_output

  def get_sequence_output(self):
    """Returns the last encoder layer, float32 [batch, seq_length, hidden_size]."""
    return self.sequence_output

  def get_all_encoder_layers(self):
    """Returns the output of every encoder layer, a list of float32 [batch, seq_length, hidden_size]."""
    return self.all_encoder_layers

  def get_embedding_output(self):
    """Returns the embeddings after position/segment addition, layer norm and dropout (float32)."""
    return self.embedding_output

  def get_embedding_table(self):
    """Returns the float32 word embedding variable [vocab_size, hidden_size]."""
    return self.embedding_table


def gelu(x):
  """Gaussian Error Linear Unit, tanh approximation (as Google's BERT; Hugging Face calls it "gelu_new").

  Args:
    x: float Tensor.

  Returns:
    `x` with the activation applied.
  """
  cdf = 0.5 * (1.0 + tf.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * tf.pow(x, 3))))
  return x * cdf


def gelu_exact(x):
  """GELU with the exact Gaussian CDF (Hugging Face's "gelu")."""
  return x * 0.5 * (1.0 + tf.math.erf(x / math.sqrt(2.0)))


_ACTIVATIONS = {
    "linear": None,
    "relu": tf.nn.relu,
    "gelu": gelu,
    "gelu_new": gelu,
    "gelu_exact": gelu_exact,
    "tanh": tf.tanh,
}


def get_activation(activation_string):
  """Maps an activation name from bert_config.json to a function.

  Args:
    activation_string: "linear", "relu", "gelu" (tanh approximation, Google's), "gelu_new" (same),
      "gelu_exact" (erf) or "tanh"; an empty string or None means linear. A function is returned unchanged.

  Returns:
    A function, or None for linear.

  Raises:
    UsageError: unknown name.
  """
  if not isinstance(activation_string, six.string_types):
    return activation_string
  if not activation_string:
    return None
  name = activation_string.lower()
  if name not in _ACTIVATIONS:
    raise UsageError("unsupported hidden_act %r in the BERT config (choose one of %s)" %
                     (activation_string, ", ".join(sorted(_ACTIVATIONS))))
  return _ACTIVATIONS[name]


def variable_name(variable_or_name):
  """A variable's checkpoint name: 'bert/x:0' (or a variable called so) -> 'bert/x'."""
  name = variable_or_name if isinstance(variable_or_name, str) else variable_or_name.name
  match = re.match(r"^(.*):\d+$", name)
  return match.group(1) if match else name


def get_assignment_map_from_checkpoint(tvars, init_checkpoint):
  """Matches graph variables to checkpoint variables of the same name.

  Args:
    tvars: variables of the current graph.
    init_checkpoint: checkpoint path or prefix.

  Returns:
    (assignment_map, initialized_variable_names): an OrderedDict checkpoint-name -> graph-name for
    `tf.compat.v1.train.init_from_checkpoint`, and a dict whose keys are the matched names (with and without
    the ":0" suffix), as Google's code returns.
  """
  graph_names = collections.OrderedDict((variable_name(var), var) for var in tvars)

  assignment_map = collections.OrderedDict()
  initialized_variable_names = {}
  for name, _ in tf.train.list_variables(init_checkpoint):
    if name not in graph_names:
      continue
    assignment_map[name] = name
    initialized_variable_names[name] = 1
    initialized_variable_names[name + ":0"] = 1
  return assignment_map, initialized_variable_names


def dropout(input_tensor, dropout_prob):
  """Drops elements with probability `dropout_prob` (no-op when it is None or 0).

  Args:
    input_tensor: float Tensor.
    dropout_prob: probability of dropping an element (not of keeping it).

  Returns:
    The tensor after dropout.
  """
  if dropout_prob is None or dropout_prob == 0.0:
    return input_tensor
  return tf.nn.dropout(input_tensor, rate=dropout_prob)


def layer_norm(input_tensor, name=None):
  """Layer normalisation over the last axis, computed in float32, returned in the input's dtype.

  tf_slim's layer_norm creates the variables `LayerNorm/beta` and `LayerNorm/gamma` that released checkpoints
  use (Keras' LayerNormalization would not).

  Args:
    input_tensor: float Tensor.
    name: variable scope, "LayerNorm" by default.

  Returns:
    The normalised tensor.
  """
  normalized = tf_slim.layers.layer_norm(
      inputs=tf.cast(input_tensor, tf.float32), begin_norm_axis=-1, begin_params_axis=-1, scope=name)
  return tf.cast(normalized, input_tensor.dtype)


def layer_norm_and_dropout(input_tensor, dropout_prob, name=None):
  """Layer norm followed by dropout."""
  return dropout(layer_norm(input_tensor, name), dropout_prob)


def create_initializer(initializer_range=0.02):
  """Returns the truncated-normal initializer every BERT weight matrix uses."""
  return tf1.truncated_normal_initializer(stddev=initializer_range)


def dense_layer(input_tensor, units, name, activation=None, initializer_range=0.02):
  """A fully connected layer with variables `<name>/kernel` and `<name>/bias` (tf.layers.dense's names).

  The variables are requested in the input's dtype, so under a reduced-precision custom getter the matmul
  runs in that precision.

  Args:
    input_tensor: float Tensor [..., in_width].
    units: output width.
    name: variable scope of the layer.
    activation: optional function applied to the output.
    initializer_range: stddev of the kernel initializer.

  Returns:
    Tensor [..., units].
  """
  in_width = get_shape_list(input_tensor)[-1]
  with tf1.variable_scope(name):
    kernel = tf1.get_variable("kernel", [in_width, units], dtype=input_tensor.dtype,
                              initializer=create_initializer(initializer_range))
    bias = tf1.get_variable("bias", [units], dtype=input_tensor.dtype, initializer=tf1.zeros_initializer())
  output = _matmul_last_axis(input_tensor, kernel)
  output = tf.nn.bias_add(output, bias)
  if activation is not None:
    output = activation(output)
  return output


def _matmul_last_axis(input_tensor, kernel):
  """Multiplies the last axis of `input_tensor` by a 2-D kernel."""
  if input_tensor.shape.ndims == 2:
    return tf.matmul(input_tensor, kernel)
  shape = get_shape_list(input_tensor)
  flat = tf.reshape(input_tensor, [-1, shape[-1]])
  out_width = get_shape_list(kernel)[-1]
  return tf.reshape(tf.matmul(flat, kernel), shape[:-1] + [out_width])


def embedding_lookup(input_ids,
                     vocab_size,
                     embedding_size=128,
                     initializer_range=0.02,
                     word_embedding_name="word_embeddings",
                     use_one_hot_embeddings=False):
  """Looks word ids up in a float32 embedding table.

  Args:
    input_ids: int32 Tensor [batch, seq_length] (a trailing axis of size 1 is also accepted).
    vocab_size: rows of the table.
    embedding_size: width of the table.
    initializer_range: stddev of the initializer.
    word_embedding_name: variable name of the table.
    use_one_hot_embeddings: multiply a one-hot matrix by the table instead of gathering (TPU friendly).

  Returns:
    (embeddings [batch, seq_length, embedding_size], the table variable).
  """
  if input_ids.shape.ndims == 3:
    input_ids = tf.squeeze(input_ids, axis=[-1])
  embedding_table = tf1.get_variable(
      name=word_embedding_name, shape=[vocab_size, embedding_size], dtype=tf.float32,
      initializer=create_initializer(initializer_range))
  flat_ids = tf.reshape(input_ids, [-1])
  if use_one_hot_embeddings:
    output = tf.matmul(tf.one_hot(flat_ids, depth=vocab_size), embedding_table)
  else:
    output = tf.gather(embedding_table, flat_ids)
  input_shape = get_shape_list(input_ids)
  output = tf.reshape(output, input_shape + [embedding_size])
  return output, embedding_table


def embedding_postprocessor(input_tensor,
                            use_token_type=False,
                            token_type_ids=None,
                            token_type_vocab_size=16,
                            token_type_embedding_name="token_type_embeddings",
                            use_position_embeddings=True,
                            position_embedding_name="position_embeddings",
                            initializer_range=0.02,
                            max_position_embeddings=512,
                            dropout_prob=0.1):
  """Adds segment and position embeddings to the word embeddings, then layer norm and dropout (float32).

  Args:
    input_tensor: float32 Tensor [batch, seq_length, width] of word embeddings.
    use_token_type: add segment embeddings of `token_type_ids`.
    token_type_ids: int32 Tensor [batch, seq_length]; required with `use_token_type`.
    token_type_vocab_size: rows of the segment table.
    token_type_embedding_name: variable name of the segment table.
    use_position_embeddings: add learned absolute position embeddings.
    position_embedding_name: variable name of the position table.
    initializer_range: stddev of the initializers.
    max_position_embeddings: rows of the position table.
    dropout_prob: dropout after layer norm.

  Returns:
    float32 Tensor shaped like `input_tensor`.

  Raises:
    ValueError: `use_token_type` without `token_type_ids`.
    UsageError: the sequence is longer than the position table.
  """
  batch_size, seq_length, width = get_shape_list(input_tensor, expected_rank=3)
  output = input_tensor

  if use_token_type:
    if token_type_ids is None:
      raise ValueError("token_type_ids must be given when use_token_type is True")
    token_type_table = tf1.get_variable(
        name=token_type_embedding_name, shape=[token_type_vocab_size, width], dtype=tf.float32,
        initializer=create_initializer(initializer_range))
    # The segment vocabulary is tiny, so a one-hot matmul is cheaper than a gather on every device.
    flat_types = tf.reshape(token_type_ids, [-1])
    type_embeddings = tf.matmul(tf.one_hot(flat_types, depth=token_type_vocab_size), token_type_table)
    output += tf.reshape(type_embeddings, [batch_size, seq_length, width])

  if use_position_embeddings:
    if isinstance(seq_length, int) and seq_length > max_position_embeddings:
      raise UsageError("sequence length %d exceeds max_position_embeddings %d of the BERT config" %
                       (seq_length, max_position_embeddings))
    position_table = tf1.get_variable(
        name=position_embedding_name, shape=[max_position_embeddings, width], dtype=tf.float32,
        initializer=create_initializer(initializer_range))
    # Positions are always 0..seq_length-1, so a slice of the table replaces a lookup; it broadcasts over
    # the batch.
    positions = tf.slice(position_table, [0, 0], [seq_length, -1])
    output += tf.expand_dims(positions, 0)

  return layer_norm_and_dropout(output, dropout_prob)


def create_attention_mask_from_input_mask(from_tensor, to_mask):
  """Builds a [batch, from_seq, to_seq] float mask saying which positions each position may attend to.

  Args:
    from_tensor: Tensor [batch, from_seq, ...] (ids or activations); only its shape is used.
    to_mask: int Tensor [batch, to_seq], 1 for real tokens.

  Returns:
    float32 Tensor [batch, from_seq, to_seq].
  """
  from_shape = get_shape_list(from_tensor)
  batch_size, from_seq_length = from_shape[0], from_shape[1]
  to_seq_length = get_shape_list(to_mask, expected_rank=2)[1]
  to_mask = tf.cast(tf.reshape(to_mask, [batch_size, 1, to_seq_length]), tf.float32)
  # Every query position sees the same keys, so broadcasting a row of ones is enough.
  return tf.ones([batch_size, from_seq_length, 1], dtype=tf.float32) * to_mask


def attention_layer(from_tensor,
                    to_tensor,
                    attention_mask=None,
                    num_attention_heads=1,
                    size_per_head=512,
                    query_act=None,
                    key_act=None,
                    value_act=None,
                    attention_probs_dropout_prob=0.0,
                    initializer_range=0.02,
                    do_return_2d_tensor=False,
                    batch_size=None,
                    from_seq_length=None,
                    to_seq_length=None):
  """Multi-head scaled dot-product attention with variables `query`, `key`, `value`.

  Inputs may be 3-D [batch, seq, width] or already flattened to 2-D [batch*seq, width] (then the batch size
  and sequence lengths must be given). When `from_tensor is to_tensor` (self-attention) the three projections
  run as one matmul over the concatenated kernels; otherwise the key and value projections do.

  Args:
    from_tensor: queries' source.
    to_tensor: keys' and values' source.
    attention_mask: optional float/int Tensor [batch, from_seq, to_seq], 1 where attention is allowed.
    num_attention_heads: number of heads.
    size_per_head: width of each head.
    query_act, key_act, value_act: optional activations of the projections.
    attention_probs_dropout_prob: dropout on the attention probabilities.
    initializer_range: stddev of the kernel initializers.
    do_return_2d_tensor: return [batch*from_seq, heads*size_per_head] instead of 3-D.
    batch_size, from_seq_length, to_seq_length: needed for 2-D inputs.

  Returns:
    The attended values, in the dtype of `from_tensor`.

  Raises:
    ValueError: inconsistent ranks or missing lengths for 2-D inputs.
  """
  from_shape = get_shape_list(from_tensor, expected_rank=[2, 3])
  to_shape = get_shape_list(to_tensor, expected_rank=[2, 3])
  if len(from_shape) != len(to_shape):
    raise ValueError("from_tensor and to_tensor must have the same rank")
  if len(from_shape) == 3:
    batch_size, from_seq_length = from_shape[0], from_shape[1]
    to_seq_length = to_shape[1]
  elif batch_size is None or from_seq_length is None or to_seq_length is None:
    raise ValueError("batch_size, from_seq_length and to_seq_length are required for 2-D inputs")

  width = num_attention_heads * size_per_head
  dtype = from_tensor.dtype
  from_2d = reshape_to_matrix(from_tensor)
  to_2d = reshape_to_matrix(to_tensor)

  kernels, biases = [], []
  for name in ("query", "key", "value"):
    with tf1.variable_scope(name):
      kernels.append(tf1.get_variable("kernel", [get_shape_list(from_2d)[-1], width], dtype=dtype,
                                      initializer=create_initializer(initializer_range)))
      biases.append(tf1.get_variable("bias", [width], dtype=dtype, initializer=tf1.zeros_initializer()))

  if from_tensor is to_tensor:
    fused = tf.nn.bias_add(tf.matmul(from_2d, tf.concat(kernels, axis=1)), tf.concat(biases, axis=0))
    query, key, value = tf.split(fused, 3, axis=1)
  else:
    query = tf.nn.bias_add(tf.matmul(from_2d, kernels[0]), biases[0])
    fused = tf.nn.bias_add(tf.matmul(to_2d, tf.concat(kernels[1:], axis=1)), tf.concat(biases[1:], axis=0))
    key, value = tf.split(fused, 2, axis=1)
  if query_act is not None:
    query = query_act(query)
  if key_act is not None:
    key = key_act(key)
  if value_act is not None:
    value = value_act(value)

  def split_heads(tensor, seq_length):
    tensor = tf.reshape(tensor, [batch_size, seq_length, num_attention_heads, size_per_head])
    return tf.transpose(tensor, [0, 2, 1, 3])

  # Scaling the queries instead of the scores touches seq/size_per_head times fewer numbers.
  query = split_heads(query * tf.cast(1.0 / math.sqrt(float(size_per_head)), dtype), from_seq_length)
  key = split_heads(key, to_seq_length)
  value = split_heads(value, to_seq_length)

  # Softmax is computed in float32 whatever the compute type: the masking constant and the exponentials
  # are where reduced precision loses the most.
  scores = tf.cast(tf.matmul(query, key, transpose_b=True), tf.float32)
  if attention_mask is not None:
    mask = tf.expand_dims(tf.cast(attention_mask, tf.float32), axis=1)
    scores += (1.0 - mask) * -10000.0
  probs = tf.nn.softmax(scores)
  probs = dropout(probs, attention_probs_dropout_prob)

  context = tf.matmul(tf.cast(probs, dtype), value)
  context = tf.transpose(context, [0, 2, 1, 3])
  if do_return_2d_tensor:
    return tf.reshape(context, [batch_size * from_seq_length, width])
  return tf.reshape(context, [batch_size, from_seq_length, width])


def transformer_model(input_tensor,
                      attention_mask=None,
                      hidden_size=768,
                      num_hidden_layers=12,
                      num_attention_heads=12,
                      intermediate_size=3072,
                      intermediate_act_fn=gelu,
                      hidden_dropout_prob=0.1,
                      attention_probs_dropout_prob=0.1,
                      initializer_range=0.02,
                      do_return_all_layers=False,
                      last_layer_positions=None):
  """The post-layer-norm Transformer encoder of "Attention is All You Need", as used by BERT.

  Activations are kept as a [batch*seq, hidden] matrix between layers, which avoids a reshape around every
  dense layer.

  With `last_layer_positions` the last layer is computed only at those positions: its attention still reads
  every position of the layer below (keys and values), but queries, the attention output, the feed-forward
  layer and both layer norms run on the k chosen rows instead of all seq_length. Those rows get the numbers the
  full layer gives them (up to the rounding of matmuls of another shape); the other rows are not computed.

  Args:
    input_tensor: Tensor [batch, seq_length, hidden_size]; its dtype is the compute dtype.
    attention_mask: optional Tensor [batch, seq_length, seq_length], 1 where attention is allowed.
    hidden_size: width of the layers.
    num_hidden_layers: number of layers (variable scopes layer_0 ... layer_{N-1}).
    num_attention_heads: attention heads; must divide `hidden_size`.
    intermediate_size: width of the feed-forward layer.
    intermediate_act_fn: activation of the feed-forward layer.
    hidden_dropout_prob: dropout on the attention and feed-forward outputs.
    attention_probs_dropout_prob: dropout on the attention probabilities.
    initializer_range: stddev of the kernel initializers.
    do_return_all_layers: return every layer's output instead of the last.
    last_layer_positions: optional int Tensor [batch, k] of positions (repeats allowed) at which alone the
      last layer is computed.

  Returns:
    The final layer [batch, seq_length, hidden_size] ([batch, k, hidden_size], the rows at
    `last_layer_positions` in their order, when given), or a list with every layer's output.

  Raises:
    UsageError: `hidden_size` not divisible by `num_attention_heads`, or input width != hidden_size.
  """
  if hidden_size % num_attention_heads != 0:
    raise UsageError("hidden_size %d is not divisible by num_attention_heads %d" %
                     (hidden_size, num_attention_heads))
  size_per_head = hidden_size // num_attention_heads
  batch_size, seq_length, input_width = get_shape_list(input_tensor, expected_rank=3)
  if input_width != hidden_size:
    raise UsageError("the input width %d differs from hidden_size %d (residual connections need them equal)" %
                     (input_width, hidden_size))

  layer_input = reshape_to_matrix(input_tensor)
  outputs, output_lengths = [], []
  for layer_index in range(num_hidden_layers):
    # The rows this layer computes (its queries): every position, or in the last layer only the chosen ones.
    query_input, query_mask, query_length = layer_input, attention_mask, seq_length
    if last_layer_positions is not None and layer_index == num_hidden_layers - 1:
      query_input = gather_indexes(tf.reshape(layer_input, [batch_size, seq_length, hidden_size]),
                                   last_layer_positions)
      query_length = get_shape_list(last_layer_positions, expected_rank=2)[1]
      if attention_mask is not None:
        query_mask = tf.reshape(gather_indexes(attention_mask, last_layer_positions),
                                [batch_size, query_length, seq_length])
    with tf1.variable_scope("layer_%d" % layer_index):
      with tf1.variable_scope("attention"):
        with tf1.variable_scope("self"):
          attention = attention_layer(
              from_tensor=query_input,
              to_tensor=layer_input,
              attention_mask=query_mask,
              num_attention_heads=num_attention_heads,
              size_per_head=size_per_head,
              attention_probs_dropout_prob=attention_probs_dropout_prob,
              initializer_range=initializer_range,
              do_return_2d_tensor=True,
              batch_size=batch_size,
              from_seq_length=query_length,
              to_seq_length=seq_length)
        with tf1.variable_scope("output"):
          attention = dense_layer(attention, hidden_size, name="dense", initializer_range=initializer_range)
          attention = dropout(attention, hidden_dropout_prob)
          attention = layer_norm(attention + query_input)

      with tf1.variable_scope("intermediate"):
        intermediate = dense_layer(attention, intermediate_size, name="dense", activation=intermediate_act_fn,
                                   initializer_range=initializer_range)

      with tf1.variable_scope("output"):
        layer_output = dense_layer(intermediate, hidden_size, name="dense", initializer_range=initializer_range)
        layer_output = dropout(layer_output, hidden_dropout_prob)
        layer_output = layer_norm(layer_output + attention)
      layer_input = layer_output
      outputs.append(layer_output)
      output_lengths.append(query_length)

  final = [tf.reshape(output, [batch_size, length, hidden_size]) for output, length in zip(outputs, output_lengths)]
  return final if do_return_all_layers else final[-1]


def get_masked_lm_output(bert_config, input_tensor, output_weights, positions, label_ids, label_weights):
  """The masked-LM head: predicts the original token at each masked position (variables cls/predictions/...).

  Computed in float32 whatever the encoder's compute type. The output layer reuses the word embedding table
  (`output_weights`), with its own bias `cls/predictions/output_bias`.

  Args:
    bert_config: BertConfig.
    input_tensor: encoder sequence output [batch, seq_length, hidden].
    output_weights: word embedding table [vocab_size, hidden] (`BertModel.get_embedding_table()`).
    positions: int Tensor [batch, max_predictions] of masked positions.
    label_ids: int Tensor [batch, max_predictions] of the original token ids.
    label_weights: float Tensor [batch, max_predictions], 1 for real predictions and 0 for padding.

  Returns:
    (loss, per_example_loss, log_probs): the weighted mean loss, the loss of each prediction
    [batch*max_predictions], and log-probabilities [batch*max_predictions, vocab_size] (built, but in a graph
    only computed where something uses them: training needs only the loss).
  """
  logits = get_masked_lm_logits(bert_config, input_tensor, output_weights, positions)
  loss, per_example_loss = masked_lm_loss(logits, label_ids, label_weights)
  return loss, per_example_loss, tf.nn.log_softmax(logits, axis=-1)


def get_masked_lm_logits(bert_config, input_tensor, output_weights, positions):
  """Logits [batch*max_predictions, vocab_size] of the masked-LM head at `positions` (see get_masked_lm_output).

  `positions` None: `input_tensor` [batch, max_predictions, hidden] already holds the rows at the masked
  positions (a BertModel built with sequence_output_positions).
  """
  if positions is None:
    input_tensor = tf.cast(reshape_to_matrix(input_tensor), tf.float32)
  else:
    input_tensor = tf.cast(gather_indexes(input_tensor, positions), tf.float32)
  output_weights = tf.cast(output_weights, tf.float32)
  with tf1.variable_scope("cls/predictions"):
    with tf1.variable_scope("transform"):
      input_tensor = dense_layer(input_tensor, bert_config.hidden_size, name="dense",
                                 activation=get_activation(bert_config.hidden_act),
                                 initializer_range=bert_config.initializer_range)
      input_tensor = layer_norm(input_tensor)
    output_bias = tf1.get_variable("output_bias", shape=[bert_config.vocab_size], dtype=tf.float32,
                                   initializer=tf1.zeros_initializer())
    return tf.nn.bias_add(tf.matmul(input_tensor, output_weights, transpose_b=True), output_bias)


def masked_lm_loss(logits, label_ids, label_weights):
  """(weighted mean loss, per-prediction loss) of masked-LM logits.

  The values are Google's formula, -sum(log_softmax(logits) * one_hot(label)), computed as the label's
  log-probability, which is the same number: every other term of the sum is an exact zero.
  """
  label_ids = tf.reshape(label_ids, [-1])
  label_weights = tf.cast(tf.reshape(label_weights, [-1]), tf.float32)
  per_example_loss = _label_cross_entropy(logits, label_ids)
  # Padding predictions have weight 0; the epsilon keeps a batch without any prediction finite.
  loss = tf.reduce_sum(label_weights * per_example_loss) / (tf.reduce_sum(label_weights) + 1e-5)
  return loss, per_example_loss


def _label_cross_entropy(logits, label_ids):
  """-log_softmax(logits)[i, label_ids[i]] per row, with the gradient written out.

  The gradient is (softmax(logits) - one_hot(label)) * dy, built as exp(log_probs) * dy with dy subtracted at
  the label: bit for bit what automatic differentiation of Google's formula gives, without its four passes
  over the [predictions, vocab_size] one-hot tensor (the one-hot itself, the product, the sum's broadcast back
  and the product's gradient). With a 21,128-word vocabulary that is 12-23% of the masked-LM head's time on
  CPU (a step of the head alone, measured twice).
  (Measured on CPU: TensorFlow's fused sparse softmax cross-entropy kernel runs on one thread and is slower,
  and a plain gather of the label's log-probability is slower still because of the gather's gradient.)
  """
  label_ids = tf.cast(label_ids, tf.int32)

  @tf.custom_gradient
  def cross_entropy(logits):
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    label_log_probs = tf.gather(log_probs, label_ids, axis=1, batch_dims=1)

    def gradient(dy):
      label_positions = tf.stack([tf.range(tf.shape(label_ids)[0]), label_ids], axis=1)
      return tf.tensor_scatter_nd_sub(tf.exp(log_probs) * dy[:, None], label_positions, dy)

    return -label_log_probs, gradient

  return cross_entropy(logits)


def get_next_sentence_output(bert_config, input_tensor, labels):
  """The next-sentence head: binary classifier on the pooled output (variables cls/seq_relationship/...).

  Label 0 means sentence B follows A, 1 means B is random (Google's convention).

  Args:
    bert_config: BertConfig.
    input_tensor: pooled output [batch, hidden].
    labels: int Tensor [batch] or [batch, 1].

  Returns:
    (loss, per_example_loss [batch], log_probs [batch, 2]), float32.
  """
  input_tensor = tf.cast(input_tensor, tf.float32)
  with tf1.variable_scope("cls/seq_relationship"):
    output_weights = tf1.get_variable("output_weights", shape=[2, bert_config.hidden_size], dtype=tf.float32,
                                      initializer=create_initializer(bert_config.initializer_range))
    output_bias = tf1.get_variable("output_bias", shape=[2], dtype=tf.float32,
                                   initializer=tf1.zeros_initializer())
    logits = tf.nn.bias_add(tf.matmul(input_tensor, output_weights, transpose_b=True), output_bias)
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    labels = tf.reshape(labels, [-1])
    one_hot_labels = tf.one_hot(labels, depth=2, dtype=tf.float32)
    per_example_loss = -tf.reduce_sum(one_hot_labels * log_probs, axis=-1)
    loss = tf.reduce_mean(per_example_loss)
  return loss, per_example_loss, log_probs


def gather_indexes(sequence_tensor, positions):
  """Gathers the vectors at `positions` of each sequence of a batch.

  Args:
    sequence_tensor: Tensor [batch, seq_length, width].
    positions: int Tensor [batch, n].

  Returns:
    Tensor [batch*n, width].
  """
  batch_size, seq_length, width = get_shape_list(sequence_tensor, expected_rank=3)
  positions = tf.cast(positions, tf.int32)
  offsets = tf.reshape(tf.range(0, batch_size, dtype=tf.int32) * seq_length, [-1, 1])
  flat_positions = tf.reshape(positions + offsets, [-1])
  flat_sequence = tf.reshape(sequence_tensor, [batch_size * seq_length, width])
  return tf.gather(flat_sequence, flat_positions)


def get_shape_list(tensor, expected_rank=None, name=None):
  """Returns a tensor's shape as a list: Python ints where static, scalar tensors where dynamic.

  Args:
    tensor: a Tensor.
    expected_rank: optional int or list of ints; a mismatch raises ValueError.
    name: name used in the error message.

  Returns:
    List of dimensions.
  """
  if expected_rank is not None:
    assert_rank(tensor, expected_rank, name)
  static = tensor.shape.as_list()
  if all(dim is not None for dim in static):
    return static
  dynamic = tf.shape(tensor)
  return [dim if dim is not None else dynamic[index] for index, dim in enumerate(static)]


def reshape_to_matrix(input_tensor):
  """Flattens a tensor of rank >= 2 to [-1, width]."""
  ndims = input_tensor.shape.ndims
  if ndims < 2:
    raise ValueError("expected a tensor of rank >= 2, got shape %s" % input_tensor.shape)
  if ndims == 2:
    return input_tensor
  return tf.reshape(input_tensor, [-1, input_tensor.shape[-1]])


def reshape_from_matrix(output_tensor, orig_shape_list):
  """Restores the leading dimensions removed by `reshape_to_matrix`."""
  if len(orig_shape_list) == 2:
    return output_tensor
  width = get_shape_list(output_tensor)[-1]
  return tf.reshape(output_tensor, orig_shape_list[:-1] + [width])


def assert_rank(tensor, expected_rank, name=None):
  """Raises ValueError unless `tensor` has one of the expected ranks.

  Args:
    tensor: a Tensor.
    expected_rank: int or list of ints.
    name: name used in the message (defaults to the tensor's name).
  """
  ranks = {expected_rank} if isinstance(expected_rank, six.integer_types) else set(expected_rank)
  actual = tensor.shape.ndims
  if actual not in ranks:
    raise ValueError("tensor %s has rank %s, expected %s (shape %s)" %
                     (name or tensor.name, actual, sorted(ranks), tensor.shape))


def encoder_parameter_counts(config):
  """Counts the encoder's trainable parameters by building its graph (embeddings, layers, pooler; no heads).

  The numbers are read off the variables of a freshly built graph (nothing is run), so they reflect the
  model code rather than a formula.

  Args:
    config: BertConfig.

  Returns:
    OrderedDict part name -> parameter count, in graph order. Parts aggregate the layers: e.g.
    "encoder/layer_*/attention/self" sums query, key and value of every layer.
  """
  counts = collections.OrderedDict()
  with tf.Graph().as_default():
    seq_length = min(8, config.max_position_embeddings)
    BertModel(config, is_training=False, input_ids=tf1.placeholder(tf.int32, [1, seq_length]))
    for var in tf1.trainable_variables():
      counts.setdefault(_parameter_part(var.op.name), 0)
      counts[_parameter_part(var.op.name)] += var.shape.num_elements()
  return counts


def _parameter_part(variable_name):
  """Maps a variable name to its breakdown part (layer index and weight/bias suffix removed)."""
  name = re.sub(r"^bert/", "", variable_name)
  name = re.sub(r"/layer_\d+/", "/layer_*/", name)
  name = re.sub(r"/(kernel|bias|beta|gamma)$", "", name)
  return re.sub(r"/self/(query|key|value)$", "/self", name)
