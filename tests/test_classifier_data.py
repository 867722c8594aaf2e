"""Task processors: real files in ../shared/data (counts = its README), official layouts, bad input."""
import gzip
import json

import pytest

from bert.classifier import tasks
from bert.errors import UsageError
from conftest import shared_path

# (task, folder under ../shared/data, overrides, {split: count}) — counts from ../shared/data/README.md.
SHARED_COUNTS = [
    ("chnsenticorp", "chnsenticorp", {}, {"train": 9600, "dev": 1200, "test": 1200}),
    ("douban_book_review", "douban_book_review", {}, {"train": 20000, "dev": 8000, "test": 8000}),
    ("smp2020_ewect", "smp2020_ewect/usual", {}, {"train": 27766, "dev": 2000, "test": 5000}),
    ("smp2020_ewect", "smp2020_ewect/virus", {}, {"train": 8606, "dev": 2000, "test": 3000}),
    ("xnli", "xnli_zh", {}, {"dev": 2490, "test": 5010}),
    ("thucnews", "thucnews_titles", {}, {"dev": 10000, "test": 10000}),
    ("afqmc", "afqmc", {}, {"dev": 4316}),
    ("tnews", "fewclue/tnews", {}, {"train": 1185, "dev": 1098, "test": 2010}),
    ("iflytek", "fewclue/iflytek", {}, {"train": 3024, "dev": 1373, "test": 1749}),
    ("csl", "fewclue/csl", {}, {"train": 160, "dev": 160, "test": 2838}),
    ("cluewsc", "fewclue/cluewsc", {}, {"train": 160, "dev": 159, "test": 976}),
    ("bustm", "fewclue/bustm", {}, {"train": 160, "dev": 160, "test": 1772}),
    ("eprstmt", "fewclue/eprstmt", {}, {"train": 160, "dev": 160, "test": 610}),
    ("cola", "glue_en/CoLA", {}, {"train": 8551, "dev": 527 + 516}),
    ("sst2", "glue_en/SST-2", {}, {"train": 60614 + 6735, "dev": 872}),
    ("mrpc", "glue_en/MRPC", {}, {"train": 3668, "dev": 408, "test": 1725}),
    ("stsb", "glue_en/STS-B", {}, {"train": 5749, "dev": 1500, "test": 1379}),
    ("rte", "glue_en/RTE", {}, {"train": 2490, "dev": 277, "test": 3000}),
]


@pytest.mark.parametrize("task,folder,overrides,counts", SHARED_COUNTS,
                         ids=["%s:%s" % (case[0], case[1]) for case in SHARED_COUNTS])
def test_processor_reads_shared_data_with_readme_counts(task, folder, overrides, counts):
  data_dir = str(shared_path(*folder.split("/")))
  processor = tasks.get_processor(task, data_dir=data_dir, **overrides)
  labels = processor.get_labels()
  for split, expected in counts.items():
    examples = processor.get_examples(data_dir, split)
    assert len(examples) == expected, (task, split)
    assert all(example.text_a for example in examples)
    if split != "test":
      if processor.is_regression:
        assert all(0.0 <= example.label <= 5.0 for example in examples)
      else:
        assert {example.label for example in examples} <= set(labels)
  assert all(stats.skipped_bad_rows == 0 for stats in processor.stats.values())


def test_label_sets_of_shared_data_are_complete():
  """Every class of the multi-class sets occurs in their dev data (label lists are not too short or long)."""
  cases = [("tnews", "fewclue/tnews", 15), ("smp2020_ewect", "smp2020_ewect/usual", 6),
           ("thucnews", "thucnews_titles", 10), ("eprstmt", "fewclue/eprstmt", 2)]
  for task, folder, num_labels in cases:
    data_dir = str(shared_path(*folder.split("/")))
    processor = tasks.get_processor(task, data_dir=data_dir)
    assert len(processor.get_labels()) == num_labels
    assert {e.label for e in processor.get_dev_examples(data_dir)} == set(processor.get_labels())


@pytest.mark.parametrize("train_file,kept,dropped", [("train.10k.json", 9985, 15), ("train.3k.json", 2994, 6)])
def test_ocnli_drops_and_counts_no_gold_labels(train_file, kept, dropped):
  data_dir = str(shared_path("ocnli"))
  processor = tasks.get_processor("ocnli", data_dir=data_dir, train_file=train_file)
  examples = processor.get_train_examples(data_dir)
  assert len(examples) == kept
  assert "-" not in {example.label for example in examples}
  (stats,) = processor.stats.values()
  assert (stats.examples, stats.dropped_no_gold_label) == (kept, dropped)


def test_shared_layout_details():
  sst2 = str(shared_path("glue_en", "SST-2"))
  dev = tasks.get_processor("sst2").get_dev_examples(sst2)
  assert sum(e.label == "1" for e in dev) == 444 and not dev[0].text_a.endswith(" ")
  mrpc = str(shared_path("glue_en", "MRPC"))
  processor = tasks.get_processor("mrpc")
  assert sum(e.label == "1" for e in processor.get_train_examples(mrpc)) == 2474  # BOM header skipped
  test = processor.get_test_examples(mrpc)
  assert [e.example_id for e in test[:3]] == ["0", "1", "2"] and test[0].label is None
  rte = tasks.get_processor("rte").get_dev_examples(str(shared_path("glue_en", "RTE")))
  assert rte[0].label == "not_entailment" and {e.label for e in rte} == {"entailment", "not_entailment"}
  wsc = tasks.get_processor("cluewsc").get_dev_examples(str(shared_path("fewclue", "cluewsc")))
  assert "[舌头]" in wsc[0].text_a and "_它_" in wsc[0].text_a
  csl = tasks.get_processor("csl").get_dev_examples(str(shared_path("fewclue", "csl")))
  assert csl[0].text_a.startswith("归责原则 ") and csl[0].text_b.startswith("归责原则是")


# ---- official layouts that ../shared/data does not have (written here in the official column layout) --------

def _write(path, lines):
  path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_glue_official_layouts(tmp_path):
  _write(tmp_path / "train.tsv", ["id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate", "7\t1\t2\tq a\tq b\t1",
                                  "8\t3\t4\tq c\tq d\t0"])
  _write(tmp_path / "test.tsv", ["id\tquestion1\tquestion2", "0\tx\ty", "1\tz\tw"])
  qqp = tasks.get_processor("qqp")
  assert [(e.text_a, e.text_b, e.label) for e in qqp.get_train_examples(str(tmp_path))] == [
      ("q a", "q b", "1"), ("q c", "q d", "0")]
  assert [(e.example_id, e.label) for e in qqp.get_test_examples(str(tmp_path))] == [("0", None), ("1", None)]

  mnli_header = "index\tpromptID\tpairID\tgenre\tsentence1\tsentence2\tlabel1\tgold_label"
  for name, label in (("dev_matched.tsv", "neutral"), ("dev_mismatched.tsv", "entailment")):
    _write(tmp_path / name, [mnli_header, "0\t1\t2\tg\tpremise\thypothesis\t%s\t%s" % (label, label)])
  mnli = tasks.get_processor("MNLI")
  dev_sets = mnli.dev_sets(str(tmp_path))
  assert [(name, [e.label for e in examples]) for name, examples in dev_sets] == [
      ("matched", ["neutral"]), ("mismatched", ["entailment"])]

  _write(tmp_path / "dev.tsv", ["index\tsentence1\tsentence2\tlabel", "3\ta\tb\tnot_entailment"])
  assert tasks.get_processor("rte").get_dev_examples(str(tmp_path))[0].label == "not_entailment"
  _write(tmp_path / "dev.tsv", ["index\tquestion\tsentence\tlabel", "3\twho?\tsomeone.\tentailment"])
  assert tasks.get_processor("qnli").get_dev_examples(str(tmp_path))[0].text_a == "who?"
  _write(tmp_path / "dev.tsv", ["index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2"
                                "\tscore", "0\tg\tf\t2012\t1\ts\ts\ta cat\ta dog\t3.2"])
  assert tasks.get_processor("stsb").get_dev_examples(str(tmp_path))[0].label == pytest.approx(3.2)
  _write(tmp_path / "dev.tsv", ["gj04\t0\t*\tBad sentence the."])
  assert tasks.get_processor("cola").get_dev_examples(str(tmp_path))[0].label == "0"


def test_xnli_google_layout_filters_language(tmp_path):
  (tmp_path / "XNLI-1.0").mkdir()
  _write(tmp_path / "XNLI-1.0" / "xnli.dev.tsv", [
      "language\tgold_label\tsentence1\tsentence2", "en\tneutral\tA\tB", "zh\tentailment\t甲\t乙",
      "de\tcontradiction\tC\tD"])
  (tmp_path / "XNLI-MT-1.0" / "multinli").mkdir(parents=True)
  _write(tmp_path / "XNLI-MT-1.0" / "multinli" / "multinli.train.zh.tsv", ["premise\thypo\tlabel",
                                                                           "甲\t乙\tcontradictory"])
  xnli = tasks.get_processor("xnli", xnli_language="zh")
  assert [(e.text_a, e.label) for e in xnli.get_dev_examples(str(tmp_path))] == [("甲", "entailment")]
  assert xnli.get_train_examples(str(tmp_path))[0].label == "contradiction"


def test_lcqmc_with_and_without_header_and_cmnli(tmp_path):
  _write(tmp_path / "train.tsv", ["喜欢打篮球的男生喜欢什么样的女生\t爱打篮球的男生喜欢什么样的女生\t1"])
  _write(tmp_path / "dev.tsv", ["text_a\ttext_b\tlabel", "甲\t乙\t0"])
  for task in ("lcqmc", "bq"):
    processor = tasks.get_processor(task)
    assert processor.get_train_examples(str(tmp_path))[0].label == "1"
    assert (processor.get_dev_examples(str(tmp_path))[0].text_b, processor.get_dev_examples(str(tmp_path))[0].label
            ) == ("乙", "0")
  _write(tmp_path / "train.json", [json.dumps({"sentence1": "a", "sentence2": "b", "label": l}, ensure_ascii=False)
                                   for l in ("neutral", "-", "entailment")])
  cmnli = tasks.get_processor("cmnli")
  assert [e.label for e in cmnli.get_train_examples(str(tmp_path))] == ["neutral", "entailment"]
  assert list(cmnli.stats.values())[0].dropped_no_gold_label == 1


def test_clue_official_test_file_is_unlabelled_with_ids(tmp_path):
  _write(tmp_path / "test.json", ['{"id": 17, "sentence": "标题", "keywords": ""}', ""])
  (example,) = tasks.get_processor("tnews").get_test_examples(str(tmp_path))
  assert (example.example_id, example.label, example.text_a) == (17, None, "标题")


def test_crlf_bom_and_gzip_are_read(tmp_path):
  (tmp_path / "train.tsv").write_bytes("\ufefflabel\ttext_a\r\n1\t好\r\n0\t差\r\n".encode("utf-8"))
  examples = tasks.get_processor("chnsenticorp").get_train_examples(str(tmp_path))
  assert [(e.label, e.text_a) for e in examples] == [("1", "好"), ("0", "差")]
  (tmp_path / "sts").mkdir()
  with gzip.open(tmp_path / "sts" / "stsbenchmark.tsv.gz", "wt", encoding="utf-8") as handle:
    handle.write("split\tgenre\tdataset\tyear\tsid\tscore\tsentence1\tsentence2\ntrain\tg\td\ty\t1\t4.0\ta\tb\n")
  assert tasks.get_processor("stsb").get_train_examples(str(tmp_path / "sts"))[0].label == 4.0
  with pytest.raises(UsageError, match=r"train\.tsv:1: header \[label, text_a\] lacks column\(s\) sentence1"):
    tasks.get_processor("stsb").get_train_examples(str(tmp_path))


# ---- generic tasks -------------------------------------------------------------------------------------------

def test_generic_tsv_and_jsonl_tasks(tmp_path):
  _write(tmp_path / "train.tsv", ["q\tdoc\ty", "a\tb\tyes", "c\td\tno", "e\tf\tyes"])
  _write(tmp_path / "test.tsv", ["q\tdoc", "g\th"])
  processor = tasks.get_processor("tsv", data_dir=str(tmp_path), text_a_field="q", text_b_field="doc",
                                  label_field="y")
  assert processor.get_labels() == ["no", "yes"]
  assert [(e.text_a, e.text_b, e.label) for e in processor.get_train_examples(str(tmp_path))][0] == ("a", "b", "yes")
  assert processor.get_test_examples(str(tmp_path))[0].label is None

  _write(tmp_path / "train.jsonl", [json.dumps({"text": t, "stars": s}) for t, s in (("x", 10), ("y", 2))])
  jsonl = tasks.get_processor("jsonl", data_dir=str(tmp_path), text_a_field="text", label_field="stars")
  assert jsonl.get_labels() == ["2", "10"]  # numeric labels sort numerically
  fixed = tasks.get_processor("jsonl", data_dir=str(tmp_path), text_a_field="text", label_field="stars",
                              labels=["10", "2", "5"])
  assert fixed.get_labels() == ["10", "2", "5"]


# ---- bad input ------------------------------------------------------------------------------------------------

def test_wrong_column_count_names_file_and_line_or_is_skipped(tmp_path):
  _write(tmp_path / "train.tsv", ["label\ttext_a", "1\tgood", "0\tbad\textra", "1\tfine"])
  with pytest.raises(UsageError, match=r"train\.tsv:3: expected 2 tab-separated columns, found 3.*--skip_bad_rows"):
    tasks.get_processor("chnsenticorp").get_train_examples(str(tmp_path))
  lenient = tasks.get_processor("chnsenticorp", skip_bad_rows=True)
  assert [e.text_a for e in lenient.get_train_examples(str(tmp_path))] == ["good", "fine"]
  assert list(lenient.stats.values())[0].skipped_bad_rows == 1


def test_malformed_json_line_names_file_and_line(tmp_path):
  _write(tmp_path / "dev.json", ['{"sentence1": "a", "sentence2": "b", "label": "1"}', '{"sentence1": "a"'])
  with pytest.raises(UsageError, match=r"dev\.json:2: not valid JSON"):
    tasks.get_processor("afqmc").get_dev_examples(str(tmp_path))
  _write(tmp_path / "dev.json", ['{"sentence1": "a", "sentence2": null, "label": "1"}'])
  with pytest.raises(UsageError, match=r"dev\.json:1: the text fields must be strings"):
    tasks.get_processor("afqmc").get_dev_examples(str(tmp_path))
  _write(tmp_path / "dev.json", ['{"sentence1": "a", "label": "1"}'])
  with pytest.raises(UsageError, match=r"dev\.json:1: missing field\(s\) sentence2"):
    tasks.get_processor("afqmc").get_dev_examples(str(tmp_path))


def test_unknown_label_names_file_line_it_and_the_allowed_labels(tmp_path):
  # A CRLF file with a BOM and a blank line before the bad row: the line is the file's, not the example's index.
  (tmp_path / "train.tsv").write_bytes("\ufefflabel\ttext_a\r\n1\tgood\r\n\r\npositive\tgreat\r\n".encode("utf-8"))
  with pytest.raises(UsageError, match=r"train\.tsv:4: unknown label 'positive' for task chnsenticorp; "
                                       r"allowed labels: 0, 1$"):
    tasks.get_processor("chnsenticorp").get_train_examples(str(tmp_path))
  _write(tmp_path / "dev.json", ['{"sentence": "a", "label": "Positive"}', '{"sentence": "b", "label": "meh"}'])
  with pytest.raises(UsageError, match=r"dev\.json:2: unknown label 'meh' for task eprstmt"):
    tasks.get_processor("eprstmt").get_dev_examples(str(tmp_path))
  _write(tmp_path / "dev.tsv", ["index\tsentence1\tsentence2\tscore", "0\ta\tb\t1.5", "1\tc\td\thigh"])
  with pytest.raises(UsageError, match=r"dev\.tsv:3: score 'high' is not a number"):
    tasks.get_processor("stsb").get_dev_examples(str(tmp_path))
  _write(tmp_path / "test.txt", ["标题\t3", "标题\t12"])  # THUCNews: no header
  _write(tmp_path / "train.txt", ["标题\t3", "标题\t12"])
  with pytest.raises(UsageError, match=r"train\.txt:2: unknown label '12' for task thucnews"):
    tasks.get_processor("thucnews").get_train_examples(str(tmp_path))


def _bad_utf8_lines():
  return "label\ttext_a\n1\tgood\n0\tba".encode("utf-8") + b"\xff\xfe" + "d\n1\t好\n".encode("utf-8")


def test_invalid_utf8_names_file_line_and_byte_or_is_skipped(tmp_path):
  (tmp_path / "train.tsv").write_bytes(_bad_utf8_lines())
  with pytest.raises(UsageError, match=r"train\.tsv:3: invalid UTF-8 \(byte 0xff at column 5\).*--skip_bad_rows"):
    tasks.get_processor("chnsenticorp").get_train_examples(str(tmp_path))
  lenient = tasks.get_processor("chnsenticorp", skip_bad_rows=True)
  assert [(e.guid, e.text_a) for e in lenient.get_train_examples(str(tmp_path))] == [("train-1", "good"),
                                                                                     ("train-3", "好")]
  assert list(lenient.stats.values())[0].skipped_bad_rows == 1
  # gzipped, JSON lines (CLUE and generic), class.txt, and Google's _read_tsv helper.
  with gzip.open(tmp_path / "data.tsv.gz", "wb") as handle:
    handle.write(_bad_utf8_lines())
  with pytest.raises(UsageError, match=r"data\.tsv\.gz:3: invalid UTF-8"):
    tasks.get_processor("chnsenticorp", train_file="data.tsv.gz").get_train_examples(str(tmp_path))
  (tmp_path / "dev.json").write_bytes(b'{"sentence1": "a", "sentence2": "b", "label": "1"}\r\n'
                                      b'{"sentence1": "\xe5\xa5", "sentence2": "b", "label": "1"}\r\n')
  with pytest.raises(UsageError, match=r"dev\.json:2: invalid UTF-8 \(byte 0xe5 at column 16\)"):
    tasks.get_processor("afqmc").get_dev_examples(str(tmp_path))
  assert len(tasks.get_processor("afqmc", skip_bad_rows=True).get_dev_examples(str(tmp_path))) == 1
  with pytest.raises(UsageError, match=r"dev\.json:2: invalid UTF-8"):
    tasks.get_processor("jsonl", text_a_field="sentence1", labels=["1"]).get_dev_examples(str(tmp_path))
  (tmp_path / "class.txt").write_bytes(b"finance\n\xc3\n")
  with pytest.raises(UsageError, match=r"class\.txt:2: invalid UTF-8"):
    tasks.get_processor("thucnews", data_dir=str(tmp_path))
  with pytest.raises(UsageError, match=r"train\.tsv:3: invalid UTF-8"):
    tasks.DataProcessor._read_tsv(str(tmp_path / "train.tsv"))  # pylint: disable=protected-access


def _truncated_gzip(path, text):
  data = gzip.compress(text.encode("utf-8"))
  path.write_bytes(data[:len(data) // 2])


def test_truncated_or_corrupt_gzip_is_one_line_naming_the_file(tmp_path):
  rows = "".join("train\tg\td\ty\t%d\t%d.0\tsentence %d\tother %d\n" % (i, i % 5, i, i) for i in range(400))
  sts = tmp_path / "sts"
  sts.mkdir()
  _truncated_gzip(sts / "stsbenchmark.tsv.gz", "split\tgenre\tdataset\tyear\tsid\tscore\tsentence1\tsentence2\n" + rows)
  with pytest.raises(UsageError, match=r"stsbenchmark\.tsv\.gz: truncated or corrupt gzip file, unreadable after "
                                       r"line \d+ \(.*\)$") as error:
    tasks.get_processor("stsb").get_train_examples(str(sts))
  assert "\n" not in str(error.value)
  # --skip_bad_rows does not hide a damaged file.
  with pytest.raises(UsageError, match=r"stsbenchmark\.tsv\.gz: truncated or corrupt gzip"):
    tasks.get_processor("stsb", skip_bad_rows=True).get_train_examples(str(sts))
  _truncated_gzip(tmp_path / "dev.json.gz", "".join('{"sentence1": "a%d", "sentence2": "b", "label": "1"}\n' % i
                                                    for i in range(400)))
  with pytest.raises(UsageError, match=r"dev\.json\.gz: truncated or corrupt gzip"):
    tasks.get_processor("afqmc", dev_file="dev.json.gz").get_dev_examples(str(tmp_path))
  (tmp_path / "bad.tsv.gz").write_bytes(b"label\ttext_a\n1\tnot gzip at all\n")  # BadGzipFile
  with pytest.raises(UsageError, match=r"bad\.tsv\.gz: truncated or corrupt gzip file, unreadable after line 0 "
                                       r"\(Not a gzipped file"):
    tasks.get_processor("chnsenticorp", train_file="bad.tsv.gz").get_train_examples(str(tmp_path))
  data = bytearray(gzip.compress(b"label\ttext_a\n" + b"1\tsome text\n" * 50))
  invalid_block = bytearray(data)
  invalid_block[10] = 0xFF  # first deflate block of type 3 (reserved): zlib.error
  (tmp_path / "zlib.tsv.gz").write_bytes(bytes(invalid_block))
  with pytest.raises(UsageError, match=r"zlib\.tsv\.gz: truncated or corrupt gzip file, unreadable after line 0 "
                                       r"\(.*invalid block type"):
    tasks.get_processor("chnsenticorp", train_file="zlib.tsv.gz").get_train_examples(str(tmp_path))
  data[-8] ^= 0xFF  # CRC of the trailer: noticed only at the end, after all the rows were read
  (tmp_path / "crc.tsv.gz").write_bytes(bytes(data))
  with pytest.raises(UsageError, match=r"crc\.tsv\.gz: truncated or corrupt gzip file, unreadable after line 51 "
                                       r"\(CRC check failed"):
    tasks.get_processor("chnsenticorp", train_file="crc.tsv.gz").get_train_examples(str(tmp_path))


def test_unknown_task_lists_known_tasks():
  with pytest.raises(UsageError) as error:
    tasks.get_processor("sentiment")
  message = str(error.value)
  assert "'sentiment' is not a known task" in message
  for name in ("chnsenticorp", "cola", "mnli", "ocnli", "tsv", "jsonl", "xnli", "smp2020_ewect"):
    assert name in message


def test_empty_and_missing_files_give_clear_errors(tmp_path):
  (tmp_path / "train.tsv").write_text("", encoding="utf-8")
  with pytest.raises(UsageError, match=r"train\.tsv: the file is empty"):
    tasks.get_processor("chnsenticorp").get_train_examples(str(tmp_path))
  (tmp_path / "train.tsv").write_text("label\ttext_a\n", encoding="utf-8")
  with pytest.raises(UsageError, match="chnsenticorp: no train examples in .*train.tsv"):
    tasks.get_processor("chnsenticorp").get_train_examples(str(tmp_path))
  with pytest.raises(UsageError, match=r"no dev file in --data_dir .* \(looked for dev.tsv; or pass --dev_file\)"):
    tasks.get_processor("chnsenticorp").get_dev_examples(str(tmp_path))
  with pytest.raises(UsageError, match="--train_file .*nope.tsv: file not found"):
    tasks.get_processor("chnsenticorp", train_file="nope.tsv").get_train_examples(str(tmp_path))


def test_google_style_custom_processor_works_with_read_tsv(tmp_path):
  """A processor written for Google's API (overriding get_*_examples, using _read_tsv) plugs in unchanged."""
  _write(tmp_path / "train.tsv", ['1\t"quoted" text', "0\tplain"])

  class MyProcessor(tasks.DataProcessor):
    def get_train_examples(self, data_dir):
      lines = self._read_tsv(str(tmp_path / "train.tsv"))
      return [tasks.InputExample("train-%d" % i, line[1], label=line[0]) for i, line in enumerate(lines)]

    def get_labels(self):
      return ["0", "1"]

  processor = MyProcessor()
  assert [(e.text_a, e.label) for e in processor.get_train_examples(str(tmp_path))] == [('"quoted" text', "1"),
                                                                                        ("plain", "0")]
  assert processor.metric_names == ("accuracy",) and not processor.is_regression
