"""The ``dnas`` command line (``dnas.cli.main.main``)."""
