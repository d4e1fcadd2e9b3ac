"""The approval workflow of proposals (seed 001 別表1-1 4, 別表1-2 4): routes as data, one state
machine (``machine``), an append-only decision log, delegation and post-review."""
