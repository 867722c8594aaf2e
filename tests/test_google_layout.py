"""Top-level modeling.py / optimization.py / tokenization.py: Google's `import modeling` layout."""
import subprocess
import sys

from conftest import ROOT


def test_top_level_modules_are_the_library_modules():
  code = ("import modeling, optimization, tokenization\n"
          "from bert import modeling as m, optimization as o\n"
          "assert modeling is m and optimization is o\n"
          "assert modeling.BertConfig and modeling.BertModel and modeling.get_assignment_map_from_checkpoint\n"
          "assert optimization.create_optimizer and optimization.AdamWeightDecayOptimizer\n"
          "assert tokenization.FullTokenizer\n"
          "print('ok')\n")
  result = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr
  assert result.stdout.strip() == "ok"
