"""Answer-accuracy evaluation of tia: datasets, metrics, runner, reports, RAGAS exchange.

Modules: `evals.dataset` (records and their validation), `evals.metrics` (pure
functions over (Record, Answer) pairs), `evals.runner` (asks the assistant),
`evals.report` (report.json / .md / .html), `evals.ragas` (RAGAS columns) and
`evals.commands` (`tia eval`). See evals/README.md.
"""

from __future__ import annotations

from evals.dataset import DatasetError, Record, load_dataset, load_datasets
from evals.metrics import compute_metrics, score_record

__all__ = ["DatasetError", "Record", "load_dataset", "load_datasets", "compute_metrics", "score_record"]
