"""What run_pretraining.py does, as a library function: check inputs, train, evaluate, write results.

Kept out of the script so tests and the demo can call it with plain arguments (no FLAGS).
"""
import collections
import contextlib
import dataclasses
import os

import tensorflow as tf
from absl import logging

from bert import estimator_utils
from bert import file_io
from bert import modeling
from bert.pretraining import data as pretraining_input
from bert.pretraining import model as pretraining_model
from bert import errors
from bert.errors import UsageError


@dataclasses.dataclass
class PretrainingArgs:
  """The run_pretraining.py flags that are not RunOptions (Google's names and defaults)."""
  bert_config_file: str
  input_file: str
  output_dir: str
  init_checkpoint: str = None
  vocab_file: str = None  # dynamic-masking records: the vocabulary they were made with
  max_seq_length: int = 128
  max_predictions_per_seq: int = 20
  do_train: bool = False
  do_eval: bool = False
  train_batch_size: int = 32
  eval_batch_size: int = 8
  learning_rate: float = 5e-5
  num_train_steps: int = 100000
  num_warmup_steps: int = 10000
  max_eval_steps: int = 100
  eval_input_file: str = None
  no_nsp: bool = False
  eval_all_checkpoints: bool = False

  def validate(self):
    """Raises UsageError for missing or inconsistent values."""
    errors.require(self, ("bert_config_file", "input_file", "output_dir"))
    if not self.do_train and not self.do_eval:
      raise UsageError("nothing to do: give --do_train, --do_eval or both")
    for name in ("max_seq_length", "max_predictions_per_seq", "train_batch_size", "eval_batch_size",
                 "max_eval_steps"):
      if getattr(self, name) < 1:
        raise UsageError("--%s must be >= 1, got %r" % (name, getattr(self, name)))
    if self.do_train and self.num_train_steps < 1:
      raise UsageError("--num_train_steps must be >= 1 with --do_train, got %d" % self.num_train_steps)
    if self.num_warmup_steps < 0:
      raise UsageError("--num_warmup_steps must be >= 0, got %d" % self.num_warmup_steps)
    if self.max_predictions_per_seq > self.max_seq_length:
      raise UsageError("--max_predictions_per_seq=%d exceeds --max_seq_length=%d" %
                       (self.max_predictions_per_seq, self.max_seq_length))


# One input of the run (training or evaluation data), checked: its files, their RecordFormat, the flag that
# names them, and for dynamic-masking records the vocabulary to mask with (else None).
CheckedInput = collections.namedtuple("CheckedInput", ["files", "record_format", "flag_name", "masking_vocab"])


def _checked_input(patterns, flag_name, args, bert_config):
  """Expands `patterns`, checks the first record of every file against the flags and the config's vocab_size,
  and finds the masking vocabulary of dynamic-masking records; returns a CheckedInput."""
  files = pretraining_input.expand_input_files(patterns, flag_name)
  record_format = pretraining_input.check_record_files(files, args.max_seq_length, args.max_predictions_per_seq,
                                                       no_nsp=args.no_nsp, flag_name=flag_name,
                                                       vocab_size=bert_config.vocab_size)
  masking_vocab = None
  if record_format.has_word_ids:
    from bert.pretraining import dynamic_masking
    masking_vocab = dynamic_masking.resolve_masking_vocab(files, args.vocab_file, bert_config.vocab_size,
                                                          flag_name)
  return CheckedInput(files, record_format, flag_name, masking_vocab)


def _dynamic_masking_fn(checked_input, args, options):
  """The in-pipeline masking for word_ids records (bert.pretraining.dynamic_masking), or None for pre-masked records."""
  if checked_input.masking_vocab is None:
    return None
  from bert.pretraining import dynamic_masking
  return dynamic_masking.make_dynamic_masking_fn(max_seq_length=args.max_seq_length,
                                                 max_predictions_per_seq=args.max_predictions_per_seq,
                                                 vocab=checked_input.masking_vocab, seed=options.tf_random_seed)


def _input_fn(checked_input, args, options, bert_config, is_training, repeat_eval=True):
  """The estimator input_fn of a CheckedInput (every record's ids checked against vocab_size)."""
  return pretraining_input.input_fn_builder(
      checked_input.files, args.max_seq_length, args.max_predictions_per_seq, is_training=is_training,
      record_format=checked_input.record_format, no_nsp=args.no_nsp, repeat_eval=repeat_eval,
      dynamic_masking_fn=_dynamic_masking_fn(checked_input, args, options), seed=options.tf_random_seed,
      vocab_size=bert_config.vocab_size)


@contextlib.contextmanager
def _data_errors_reported(checked_input):
  """Turns a data error raised mid-run by the input pipeline (a corrupt or mismatched record, a token id
  beyond vocab_size) into a UsageError naming the input file(s); other errors pass through."""
  try:
    yield
  except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as error:
    message = pretraining_input.input_error_message(error, checked_input.files, checked_input.flag_name)
    if message is None:
      raise
    raise UsageError(message) from None


def run(args, options, flag_values=None):
  """Trains and/or evaluates as run_pretraining.py does.

  Args:
    args: PretrainingArgs.
    options: RunOptions.
    flag_values: dict of all flags, recorded in output_dir/run_flags.json (default: args and options).

  Returns:
    The eval result dict with --do_eval (also written to output_dir/eval_results.txt), else None.

  Raises:
    UsageError: bad flags, config or input files.
  """
  args.validate()
  options.validate()
  from bert import distribution
  distribution.prepare_devices(options)  # before the first TensorFlow op fixes the devices
  bert_config = modeling.BertConfig.from_json_file(args.bert_config_file)
  modeling.check_sequence_length(bert_config, args.max_seq_length, "--max_seq_length")

  # Inputs are checked before anything is built or written.
  train_input = eval_input = None
  if args.do_train:
    train_input = _checked_input(args.input_file, "--input_file", args, bert_config)
  if args.do_eval:
    if args.eval_input_file:
      eval_input = _checked_input(args.eval_input_file, "--eval_input_file", args, bert_config)
    else:
      eval_input = train_input or _checked_input(args.input_file, "--input_file", args, bert_config)

  if not args.do_train and tf.train.latest_checkpoint(args.output_dir) is None:
    raise UsageError("--do_eval without --do_train evaluates the latest checkpoint in --output_dir, but %s has "
                     "none" % args.output_dir)

  tf.io.gfile.makedirs(args.output_dir)
  if flag_values is None:
    flag_values = estimator_utils.run_flags(args, options)
  estimator_utils.write_run_metadata(args.output_dir, bert_config, flag_values)

  model_fn = pretraining_model.model_fn_builder(
      bert_config=bert_config, init_checkpoint=args.init_checkpoint, learning_rate=args.learning_rate,
      num_train_steps=args.num_train_steps, num_warmup_steps=args.num_warmup_steps, options=options,
      output_dir=args.output_dir, no_nsp=args.no_nsp)
  estimator = estimator_utils.build_estimator(model_fn, options, args.output_dir,
                                              train_batch_size=args.train_batch_size,
                                              eval_batch_size=args.eval_batch_size)

  if args.do_train:
    logging.info("***** Running training: %d files, batch size %d, %d steps *****", len(train_input.files),
                 args.train_batch_size, args.num_train_steps)
    train_input_fn = _input_fn(train_input, args, options, bert_config, is_training=True)
    with _data_errors_reported(train_input):
      distribution.train_estimator(estimator, train_input_fn, max_steps=args.num_train_steps)

  if not args.do_eval:
    return None
  logging.info("***** Running evaluation: %d files, batch size %d, at most %d steps *****", len(eval_input.files),
               args.eval_batch_size, args.max_eval_steps)
  # TPUs evaluate a fixed number of whole batches (Google's repeated input); elsewhere one pass over the
  # files, so a small held-out set is not counted several times.
  eval_input_fn = _input_fn(eval_input, args, options, bert_config, is_training=False,
                            repeat_eval=options.use_tpu)
  with _data_errors_reported(eval_input):
    if args.eval_all_checkpoints:
      history = _evaluate_all_checkpoints(estimator, eval_input_fn, args)
      if history is None:
        return None
      result = history[-1]
    else:
      # In a TF_CONFIG cluster only the chief evaluates (on its own devices); the other workers are done.
      result = distribution.evaluate_estimator(estimator, eval_input_fn, steps=args.max_eval_steps)
      if result is None:
        return None
      result = _plain(result)
  output_eval_file = os.path.join(args.output_dir, "eval_results.txt")
  file_io.write_text_atomically(output_eval_file, pretraining_model.format_eval_results(result))
  logging.info("***** Eval results *****\n%s", pretraining_model.format_eval_results(result))
  return result


def _plain(result):
  """An eval result dict with numpy scalars turned into Python numbers (for JSON)."""
  return {key: value.item() if hasattr(value, "item") else value for key, value in result.items()}


def checkpoint_paths_by_step(model_dir):
  """The checkpoints listed in model_dir's `checkpoint` file, as (step, path) pairs, oldest first."""
  state = tf.train.get_checkpoint_state(model_dir)
  if state is None:
    return []
  paths = set(state.all_model_checkpoint_paths) | {state.model_checkpoint_path}
  steps = []
  for path in paths:
    if not tf.io.gfile.exists(path + ".index"):
      continue  # listed, but already deleted by the saver
    steps.append((int(path.rsplit("-", 1)[-1]), path))
  return sorted(steps)


def _evaluate_all_checkpoints(estimator, eval_input_fn, args):
  """Evaluates each kept checkpoint on the held-out data; writes eval_history.json (one row per step).

  Returns:
    list of result dicts (with global_step), oldest first; None on the workers that do not evaluate.
  """
  from bert import distribution
  from bert import file_io
  history = []
  for step, path in checkpoint_paths_by_step(args.output_dir):
    logging.info("***** Evaluating checkpoint %s *****", path)
    result = distribution.evaluate_estimator(estimator, eval_input_fn, steps=args.max_eval_steps,
                                             checkpoint_path=path)
    if result is None:
      return None
    history.append(dict(_plain(result), global_step=step, checkpoint=os.path.basename(path)))
  if not history:
    raise UsageError("--eval_all_checkpoints: %s has no checkpoint to evaluate" % args.output_dir)
  file_io.write_json_atomically(os.path.join(args.output_dir, "eval_history.json"), history)
  return history
