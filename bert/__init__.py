"""Library of the Chinese whole-word-masking BERT project (model, optimizer, estimator plumbing, tasks)."""
from bert import environment as _environment

_environment.check_supported_environment()
