"""Classification tasks by name (--task_name): GLUE, XNLI, CLUE/FewCLUE, Chinese TSV sets, generic tsv/jsonl.

    processor = tasks.get_processor("chnsenticorp")
    examples = processor.get_train_examples(data_dir)
"""
from bert.errors import UsageError
from bert.classifier.tasks import chinese, generic, glue
from bert.classifier.tasks.base import DataProcessor, InputExample, PaddingInputExample  # noqa: F401 (re-exported API)

PROCESSORS = {
    processor.name: processor for processor in (
        glue.ColaProcessor, glue.Sst2Processor, glue.MrpcProcessor, glue.StsbProcessor, glue.QqpProcessor,
        glue.MnliProcessor, glue.QnliProcessor, glue.RteProcessor, glue.WnliProcessor, glue.XnliProcessor,
        chinese.ChnSentiCorpProcessor, chinese.LcqmcProcessor, chinese.BqProcessor, chinese.ThucnewsProcessor,
        chinese.TnewsProcessor, chinese.IflytekProcessor, chinese.AfqmcProcessor, chinese.OcnliProcessor,
        chinese.CmnliProcessor, chinese.CslProcessor, chinese.ClueWscProcessor, chinese.BustmProcessor,
        chinese.EprstmtProcessor, chinese.DoubanBookReviewProcessor, chinese.Smp2020EwectProcessor,
        generic.TsvProcessor, generic.JsonlProcessor)
}
# Google's and the GLUE/CLUE spellings people already use in scripts.
ALIASES = {"sst-2": "sst2", "sst": "sst2", "sts-b": "stsb", "cluewsc2020": "cluewsc", "book_review": "douban_book_review",
           "smp2020-ewect": "smp2020_ewect"}


def known_tasks():
  """Sorted names accepted by --task_name."""
  return sorted(PROCESSORS)


def get_processor(task_name, data_dir=None, skip_bad_rows=False, train_file=None, dev_file=None, test_file=None,
                  xnli_language="zh", text_a_field="text_a", text_b_field=None, label_field="label", labels=None,
                  id_field=None):
  """Builds the processor for `task_name` (case-insensitive).

  Args:
    task_name: a name from known_tasks() (or an alias such as "SST-2").
    data_dir: the data folder (THUCNews reads class.txt there; generic tasks read labels from the data).
    skip_bad_rows: skip and count malformed rows instead of failing.
    train_file, dev_file, test_file: optional file names overriding the task's default layout.
    xnli_language: the XNLI language to read.
    text_a_field, text_b_field, label_field, labels, id_field: the generic tasks' fields and label set.

  Returns:
    a DataProcessor.

  Raises:
    UsageError: unknown task (the message lists the known ones).
  """
  key = (task_name or "").strip().lower()
  key = ALIASES.get(key, key)
  if key not in PROCESSORS:
    raise UsageError("--task_name %r is not a known task; known tasks: %s" % (task_name, ", ".join(known_tasks())))
  common = {"skip_bad_rows": skip_bad_rows,
            "split_file_overrides": {"train": train_file, "dev": dev_file, "test": test_file}}
  processor_class = PROCESSORS[key]
  if processor_class is glue.XnliProcessor:
    return processor_class(language=xnli_language, **common)
  if processor_class is chinese.ThucnewsProcessor:
    return processor_class(data_dir=data_dir, **common)
  if issubclass(processor_class, generic._GenericProcessor):  # pylint: disable=protected-access
    return processor_class(data_dir=data_dir, text_a_field=text_a_field, text_b_field=text_b_field,
                           label_field=label_field, labels=labels, id_field=id_field, **common)
  return processor_class(**common)
