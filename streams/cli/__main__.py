"""``python -m streams.cli`` is ``wirestream``."""

from .main import main

main(prog_name="wirestream")
