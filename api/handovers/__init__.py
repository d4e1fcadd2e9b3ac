"""Electronic delivery and hand-over (seed 001 §4, §3-6, 別表3 12; seed 000: 移管)."""
