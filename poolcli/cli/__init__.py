"""The ``poolcli`` command line: a thin Typer layer over the library.

* :mod:`~poolcli.cli.app`: the app, ``--version`` and the entry point :func:`main`;
* :mod:`~poolcli.cli.edge`: the one place that prints usage errors and decides exit statuses;
* :mod:`~poolcli.cli.options`: commands built from the one option table
  (:mod:`poolcli.model.flags`);
* :mod:`~poolcli.cli.call`: a command's options checked into a :class:`~poolcli.cli.call.Call`;
* :mod:`~poolcli.cli.reduce`, :mod:`~poolcli.cli.learn`, :mod:`~poolcli.cli.analysis`: the
  commands; :mod:`~poolcli.cli.single`: one input at a time, printed as it goes.

Importing this package imports Typer and pure-Python modules only: torch, numpy and Pillow
load when a command runs.
"""

from poolcli.cli.app import app, main

__all__ = ["app", "main"]
