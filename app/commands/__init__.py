"""Sub-commands of the ``semi-iin`` command line, one module each."""
