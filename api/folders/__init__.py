"""Document folders of a work (書類管理, seed 001 別表1-1 5, 6; §3-4)."""
