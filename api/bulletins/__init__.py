"""The bulletin board (掲示板) of the collaboration system: posts, replies, visibility scopes,
unread tracking, user groups, the supervisors' tree and bulk posting (seed 001 別表1-1 2(1)-(9),
別表1-2 2(1)-(11))."""
