"""Views: the board, status, cost and the compile report. They read the Plan and the build's outputs and never run anything."""
