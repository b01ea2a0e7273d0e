"""``python -m sim`` runs the ``microgov`` command."""

from sim.cli import main

main()
