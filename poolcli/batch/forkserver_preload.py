"""Imported by the forkserver first, as its preload (see
:func:`poolcli.batch.workers.process_context`), and by nothing else: from here on, the
forkserver gets SIGTERM when poolcli's main process dies (Linux), even while it is still
importing torch, instead of serving nobody until its workers are gone."""

from poolcli.batch.workers import die_with_parent

die_with_parent()
