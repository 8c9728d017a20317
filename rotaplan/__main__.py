"""``python -m rotaplan``: the command line."""

from rotaplan.entry import main

main()
