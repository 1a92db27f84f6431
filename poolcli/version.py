"""poolcli's version, at the bottom of the layers so that every layer can name it."""

__version__ = "0.1.0"
