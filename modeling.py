"""Google's layout: `import modeling` at the top level is `bert.modeling` (the very same module object).

Code written against Google's BERT repository (`import modeling`, `modeling.BertConfig` ...) runs unchanged.
"""
import sys

from bert import modeling as _module

sys.modules[__name__] = _module
