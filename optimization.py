"""Google's layout: `import optimization` at the top level is `bert.optimization` (the very same module object).

Code written against Google's BERT repository (`import optimization`, `optimization.BertConfig` ...) runs unchanged.
"""
import sys

from bert import optimization as _module

sys.modules[__name__] = _module
