"""``python -m rotaplan``: the command line."""

from rotaplan.cli import main

main()
