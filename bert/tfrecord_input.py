"""TFRecord reading shared by the fine-tuning input pipelines (classifier, SQuAD) and pretraining."""
import tensorflow as tf

from bert import distribution


def decode_record(record, spec):
  """Parses one serialized tf.train.Example with `spec`, casting int64 features to int32.

  tf.train.Example stores integers only as int64, while TPUs take int32 only (and int32 holds every id here).

  Args:
    record: scalar string Tensor.
    spec: dict of feature name -> tf.io.FixedLenFeature.

  Returns:
    dict of feature name -> Tensor.
  """
  example = tf.io.parse_single_example(record, spec)
  return {name: tf.cast(value, tf.int32) if value.dtype == tf.int64 else value for name, value in example.items()}


def single_file_input_fn_builder(input_file, spec, is_training, drop_remainder, seed=None):
  """Returns a TPUEstimator input_fn over one TFRecord file of fine-tuning features.

  Args:
    input_file: TFRecord path.
    spec: dict of feature name -> tf.io.FixedLenFeature.
    is_training: repeat forever and shuffle with a buffer of 100 records (Google's choice; the writers shuffle
      the examples before writing, so a small buffer suffices).
    drop_remainder: keep only full batches (required on TPU).
    seed: shuffle seed (None: nondeterministic).

  Returns:
    input_fn(params); params["batch_size"] is the per-call batch size.
  """
  def input_fn(params):
    dataset = tf.data.TFRecordDataset(input_file)
    if is_training:
      num_shards, shard = distribution.training_shard()
      if num_shards > 1:
        # Each worker of a TF_CONFIG cluster trains on its own every num_shards-th record.
        dataset = dataset.shard(num_shards, shard)
      dataset = dataset.repeat().shuffle(buffer_size=100, seed=seed)
    dataset = dataset.map(lambda record: decode_record(record, spec), num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.batch(params["batch_size"], drop_remainder=drop_remainder)

  return input_fn
