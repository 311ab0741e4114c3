"""``python -m storyboard`` runs the command line."""

from storyboard.cli.app import main

main()
