// Types of the bulletin board's API records (api/bulletins/schemas.py), for the type check of
// the board pages (pages/home.js, board.js, post.js, boards.js, groups.js, components/
// compose.js). Same rules as kura.d.ts: only the fields the pages read, copied from the schema.

declare namespace Kura {
  /** PersonRead. */
  interface Person {
    id: string;
    name: string;
    org_name: string;
  }

  /** AttachmentBrief. */
  interface AttachmentBrief {
    id: string;
    name: string;
    size: number;
    content_type: string;
    file_type?: string | null;
    ingest_state?: string | null;
  }

  /** ScopeRead. */
  interface Scope {
    kind: "members" | "roles" | "users" | "group";
    roles: string[];
    users: Person[];
    group_id?: string | null;
    group_name?: string | null;
  }

  /** PostRead. */
  interface Post {
    id: string;
    work_id: string;
    title: string;
    body: string;
    importance: "normal" | "important";
    author_id: string;
    author_name: string;
    author_org_name: string;
    scope: Scope;
    created_at: string;
    updated_at: string;
    edited_at?: string | null;
    activity_at: string;
    reply_count: number;
    last_reply_at?: string | null;
    attachment_count: number;
    revision: number;
    version: number;
    bulk_id?: string | null;
    unread: boolean;
    new_post: boolean;
    new_replies: number;
    mine: boolean;
  }

  /** ReplyRead. */
  interface Reply {
    id: string;
    post_id: string;
    body: string;
    state: string;
    author_id: string;
    author_name: string;
    author_org_name: string;
    created_at: string;
    edited_at?: string | null;
    revision: number;
    version: number;
    attachments: AttachmentBrief[];
    mine: boolean;
    new: boolean;
  }

  /** WorkBrief. */
  interface WorkBrief {
    id: string;
    title: string;
    number: string;
    status: string;
  }

  /** ThreadRead (GET /posts/{id}). */
  interface Thread {
    work: WorkBrief;
    post: Post;
    attachments: AttachmentBrief[];
    replies: Reply[];
    can_reply: boolean;
    can_edit: boolean;
  }

  /** BoardPage (GET /works/{id}/posts). */
  interface BoardPage extends Page<Post> {
    unread: number;
  }

  /** RevisionRead. */
  interface Revision {
    rev: number;
    reason: "edited" | "deleted";
    title?: string | null;
    body: string;
    attachments: AttachmentBrief[];
    superseded_at: string;
    superseded_by_name: string;
  }

  /** UnreadItem (GET /bulletins/unread). */
  interface UnreadItem {
    post_id: string;
    work_id: string;
    work_title: string;
    work_number: string;
    title: string;
    author_name: string;
    author_org_name: string;
    importance: string;
    created_at: string;
    activity_at: string;
    new_post: boolean;
    new_replies: number;
  }

  /** UnreadPage: `total` counts the very items the pages hold. */
  interface UnreadPage {
    items: UnreadItem[];
    next_cursor?: string | null;
    total: number;
  }

  /** AudienceRead (GET /works/{id}/posts/audience). */
  interface Audience {
    members: { user_id: string; name: string; org_name: string; role: string }[];
    groups: { id: string; name: string; member_count: number }[];
    authors: Person[];
    can_post: boolean;
    work: WorkBrief;
  }

  /** TreeWork (GET /bulletins/tree items). */
  interface TreeWork {
    work: WorkBrief;
    role: string;
    unread: number;
    latest_post_id?: string | null;
    latest_title?: string | null;
    latest_at?: string | null;
  }

  /** PostHit (search across works, group feed). */
  interface PostHit {
    type: "post" | "reply";
    id: string;
    post_id: string;
    work_id: string;
    work_title: string;
    title: string;
    excerpt: string;
    author_name: string;
    created_at?: string | null;
  }

  /** GroupRead. */
  interface Group {
    id: string;
    name: string;
    members: Person[];
    created_at: string;
    updated_at: string;
    version: number;
  }

  /** BulkRead. */
  interface Bulk {
    id: string;
    title: string;
    version: number;
    created_at: string;
    updated_at: string;
    copies: Post[];
    works: WorkBrief[];
  }

  /** GET /schedules/entries items: the schedules module's contract (w-schedules, issue 9 §3). */
  interface ScheduleEntry {
    id: string;
    title: string;
    start: string;
    end: string;
    all_day: boolean;
    work_id?: string | null;
    busy_only?: boolean;
  }
}
