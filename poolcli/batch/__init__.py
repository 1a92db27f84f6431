"""Batches: many inputs, one chain of ops, outputs mirrored into a folder, in parallel and safely.

The pieces, in the order a run uses them (each in its module):

* ``sources``: :func:`expand_inputs` turns files, folders (``recursive`` to descend), glob
  patterns and a ``files_from`` list into :class:`Source` entries; files in folders that are
  not inputs (unsupported suffix, hidden, filtered out) are counted, unreadable ones are kept
  so the run can report them as skipped.
* ``names``, ``plan``: :func:`plan_batch` maps every source to its output path
  (``output_dir`` mirroring the sources' relative paths, ``format`` and the ``name``
  template, see :data:`NAME_FIELDS`) and refuses, before anything is written, outputs that
  collide, that are inputs, or that a template would put outside the folder. The
  :class:`Plan` is also the ``--dry-run`` listing.
* ``run``: :func:`iter_batch` runs a plan: a :class:`Batch`, which is an iterator of
  :class:`FileResult` (one per input, in input order) with a live :class:`Summary`. On the
  CPU, work runs in ``jobs`` worker processes (``workers``; read -> pool -> write one file
  each, as ``task`` does it, at most ``2 * jobs`` files in flight), or serially for
  ``jobs=1``. On a GPU, this process owns the device: threads read and write, and
  same-shape files are pooled as one stack (``stacked``, ``batch_size``). Outputs are
  byte-identical whatever ``jobs`` is.
* ``results``: :class:`FileResult` and :class:`Summary`; their JSON is in
  :mod:`poolcli.render.documents`. The summary table and progress bar are drawn by
  :mod:`poolcli.render.batch_report`, and told by :mod:`poolcli.cli.batch_report`.

Safety: every output is written by :func:`poolcli.io.atomic_write`, to a temporary name in its
own folder (``.NAME.poolcli-tmp-PID-XXXXXXXX.SUFFIX``), and renamed over the final name only
when complete.
A Ctrl-C removes the temporary files of the files being written; a run killed outright
leaves at most such temporary files, which the next run into the same folder deletes (when
the process that made them is gone) and never mistakes for outputs. Existing outputs are
skipped unless ``overwrite``, so running the same command again resumes an interrupted run.

Only the standard library is imported here; numpy, Pillow and torch load when a batch runs.
Scripts that use several jobs need the usual ``if __name__ == "__main__":`` guard, since
worker processes start from a fresh interpreter (forkserver) that imports the main module.
"""

from poolcli.batch.names import (
    DEFAULT_NAME,
    FORMATS,
    NAME_FIELDS,
    check_name_template,
    name_fields,
    output_rel,
)
from poolcli.batch.plan import Plan, Task, is_inside, plan_batch, viz_path
from poolcli.batch.results import (
    DONE,
    FAILED,
    SKIPPED,
    FileResult,
    Summary,
)
from poolcli.batch.run import DEFAULT_BATCH_SIZE, EXECUTORS, Batch, iter_batch, run_batch
from poolcli.batch.sources import (
    IMAGE_SUFFIXES,
    INPUT_SUFFIXES,
    Expansion,
    Source,
    expand_inputs,
    read_file_list,
)
from poolcli.batch.task import DEFAULT_PNG_COMPRESSION, Job, process_task
from poolcli.batch.workers import start_workers_early

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_NAME",
    "DEFAULT_PNG_COMPRESSION",
    "DONE",
    "EXECUTORS",
    "FAILED",
    "FORMATS",
    "IMAGE_SUFFIXES",
    "INPUT_SUFFIXES",
    "NAME_FIELDS",
    "SKIPPED",
    "Batch",
    "Expansion",
    "FileResult",
    "Job",
    "Plan",
    "Source",
    "Summary",
    "Task",
    "check_name_template",
    "expand_inputs",
    "is_inside",
    "iter_batch",
    "name_fields",
    "output_rel",
    "plan_batch",
    "process_task",
    "read_file_list",
    "run_batch",
    "start_workers_early",
    "viz_path",
]
