"""``python -m storyboard.cli`` runs the command line."""

from storyboard.cli.app import main

main()
