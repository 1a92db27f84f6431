"""``python -m poolcli.server [--idle-timeout SECONDS]``: run the server in this process (what
``poolcli server start`` starts in the background)."""

from poolcli.server.daemon import main

main()
