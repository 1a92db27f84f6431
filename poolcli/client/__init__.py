"""The client of the warm server: standard library only, so that a served call costs little
more than Python's own start-up.

* :mod:`~poolcli.client.place`: where this user's server listens (a private directory, checked),
  and which installation it serves;
* :mod:`~poolcli.client.wire`: the messages between client and server;
* :mod:`~poolcli.client.call`: a command handed to the server with this process's real standard
  streams, the answer its exit status;
* :mod:`~poolcli.client.control`: ``poolcli server start|status|stop``.

Nothing here imports a third-party module, nor any layer of poolcli above ``version``.
"""
