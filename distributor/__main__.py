"""``python -m distributor`` runs the CLI."""

from distributor.cli import main

main()
