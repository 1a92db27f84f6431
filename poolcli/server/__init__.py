"""The warm server: a per-user background process that has imported torch, numpy, Pillow, rich,
Typer and poolcli's command line once, and runs each command it is handed in a forked child,
so that a command costs a fork instead of those imports.

* :mod:`~poolcli.server.daemon`: the server: listens, checks each caller, forks;
* :mod:`~poolcli.server.spare`: the child forked ahead of the next command, which runs it;
* :mod:`~poolcli.server.child`: a request installed in a process (the caller's standard
  streams, directory, umask, environment) and the command line run in it;
* :mod:`~poolcli.server.resident`: the one long-lived worker for GPU commands (a CUDA context
  cannot cross a fork, so GPU commands run one after another in a process that keeps it);
* :mod:`~poolcli.server.identity`: which installation the server serves, and whether it
  changed since it started.

The client (:mod:`poolcli.client`) is below every other layer; the server is above the command
line, which it runs.
"""
