"""Files attached to records of any module (posts, proposals, bonds, applications)."""
