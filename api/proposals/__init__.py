"""Proposals (発議書類, seed 001 別表1-1 3 / 別表1-2 3): forms as versioned data, drafts, bundles
of attached documents printed as one PDF, lists across works and the pre-meeting stage."""
