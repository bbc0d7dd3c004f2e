"""The ``burnish`` command: a thin layer over the library."""
