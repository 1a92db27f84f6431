"""The ``poolcli`` script and ``python -m poolcli``: a command is handed to the warm server when
one runs for this installation (:mod:`poolcli.client`, standard library only, so that asking
costs next to nothing), else run here by the command line (:mod:`poolcli.cli`)."""

import sys


def main() -> None:
    """Entry point: served by the warm server, or run here as before."""
    from poolcli.client.call import served

    status = served(sys.argv[1:])
    if status is not None:
        sys.exit(status)
    from poolcli.cli import main as run_here

    run_here()


if __name__ == "__main__":
    main()
