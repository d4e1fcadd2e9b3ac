"""Electronic inspection (seed 001 §5): the inspection view and the offline package."""
