"""``python -m storyboard`` runs the command line."""

from .cli import main

main()
