// Types for the type check of the web interface (`tsc -p ui`, see ui/tsconfig.json). Nothing
// here runs or ships: ui/src stays plain ES modules, annotated with JSDoc that names these
// types as `Kura.Work`, `Kura.Page<Kura.User>`, ... (global, so no import is needed).
//
// The API records mirror the response schemas of the FastAPI app (api/*/schemas.py and the
// routers' models); only the fields the pages read are listed. When a page reads a new field,
// add it here from the schema, not from what the page hopes for.

declare namespace Kura {
  // ---- DOM helpers (ui.js and components/dom.js: h()) --------------------------------------

  /** `on<event>` handlers of h(): `onclick: (e) => ...` gets a MouseEvent, and so on. */
  type Handlers = {
    [E in keyof HTMLElementEventMap as `on${E}`]?: (event: HTMLElementEventMap[E]) => unknown;
  };

  /** The attributes h() takes: handlers, `class`, `data-*`, ARIA, booleans, CSSOM `style`. */
  type Attrs = Handlers & { [name: string]: unknown };

  /** A child of h(): nodes and text; null, undefined and false are skipped; arrays flatten. */
  type Child = Node | string | number | boolean | null | undefined | Child[];

  // ---- the shell ---------------------------------------------------------------------------

  /** GET /auth/me (api/auth/schemas.py MeResponse). */
  interface Session {
    user: User;
    org_kind: string | null;
    grants: string[];
    password_change_required: boolean;
  }

  /** Route parameters (`:id`, `:workId`, ...) plus the query after "?" (router.js). */
  interface RouteParams {
    [name: string]: string | Record<string, string> | undefined;
    query: Record<string, string>;
  }

  /** What app.js hands a page's render(). */
  interface PageContext {
    session: Session | null;
    navigate: (hash: string, options?: { replace?: boolean }) => void;
    refreshSession: () => Promise<Session | null>;
    setTitle: (text: string) => void;
  }

  /** A page module (js/pages/<page>.js): render() may return a cleanup function. */
  interface PageModule {
    render(root: HTMLElement, params: RouteParams, ctx: PageContext): Promise<void | (() => void)>;
  }

  // ---- API records ---------------------------------------------------------------------------

  /** A cursor page (api/kit/pagination.py CursorPage). */
  interface Page<T> {
    items: T[];
    next_cursor?: string | null;
    total?: number | null;
  }

  /** A problem+json answer (RFC 9457) with Kura's extensions (api/errors.py). */
  interface Problem {
    type?: string;
    title?: string;
    detail?: string;
    status?: number;
    code?: string;
    /** 422: pydantic's errors (`loc`, `type`, `msg`, `ctx`). */
    errors?: ValidationIssue[];
    /** DuplicateError: the fields whose value is taken. */
    fields?: string[];
    /** One field named by the error. */
    field?: string;
    /** A query parameter named by the error (search dates). */
    param?: string;
    /** Password policy rules the new password fails. */
    failed?: PolicyRule[];
  }

  interface ValidationIssue {
    loc?: (string | number)[];
    type?: string;
    msg?: string;
    ctx?: Record<string, unknown>;
    /** A service's rule (400): the field it names and its Japanese message. */
    field?: string;
    message?: string;
  }

  /** api/users/schemas.py UserRead. */
  interface User {
    id: string;
    login_id: string;
    name: string;
    name_kana?: string | null;
    email?: string | null;
    org_id: string;
    position?: string | null;
    status: string;
    must_change_password: boolean;
    locked_until?: string | null;
    last_login_at?: string | null;
    version: number;
  }

  /** api/organizations/schemas.py OrganizationRead. */
  interface Org {
    id: string;
    kind: string;
    name: string;
    name_kana?: string;
    code?: string | null;
    corporate_number?: string | null;
    address?: string;
    phone?: string;
    /** An orderer's rule: no move to the archive while the latest 電子納品 check has errors. */
    block_archive_on_errors?: boolean;
    version: number;
  }

  /** api/organizations/schemas.py OfficeRead. */
  interface Office {
    id: string;
    org_id: string;
    name: string;
    code?: string | null;
    address?: string;
    phone?: string;
    version: number;
  }

  /** api/works/schemas.py WorkRead. */
  interface Work {
    id: string;
    version: number;
    kind: string;
    title: string;
    number: string;
    orderer_org_id: string;
    office_id?: string | null;
    contractor_org_ids?: string[];
    location: { address: string; municipality_code: string };
    period_start: string;
    period_end: string;
    business_type?: string | null;
    category?: string | null;
    planned_price?: number | null;
    contract_price?: number | null;
    bid_opening_at?: string | null;
    status: string;
    created_at: string;
    updated_at: string;
    archived_at?: string | null;
    retention_until?: string | null;
    retention_years?: number | null;
    legal_hold?: { reason: string; placed_by: string; placed_at: string } | null;
  }

  /** api/works/schemas.py MemberRead. */
  interface Member {
    work_id: string;
    user_id: string;
    role: string;
    org_id?: string | null;
    added_at: string;
    version: number;
  }

  /** api/auth/schemas.py PolicyRule. */
  interface PolicyRule {
    code: string;
    description: string;
  }

  /** A node of a work's tree (api/archive/router_tree.py NodeRead / NodeDetail). */
  interface ArchiveNode {
    id: string;
    work_id: string;
    parent_id: string;
    kind: string;
    name: string;
    path: string;
    size: number;
    content_type: string;
    declared_type: string;
    ingest?: { state: string; reason?: string | null } | null;
    updated_at: string;
    version: number;
  }

  /** GET /nodes/{id} (NodeDetail): the node and the folders above it, root-most first. */
  interface NodeDetail extends ArchiveNode {
    breadcrumbs: Crumb[];
  }

  interface Crumb {
    id: string;
    name: string;
    path?: string;
  }

  /** GET /files/{id}: a file node as the viewers read it. */
  interface FileRecord extends ArchiveNode {
    /** An attachment (GET /attachments/{id}) has this instead of `updated_at`. */
    created_at?: string;
    file_type?: string;
    /** What a 電子納品 XML says about the file (title, photo_path, shooting_spot, photo_date …). */
    meta?: Record<string, unknown>;
    /** Extraction results (api/archive/ingest.py): EXIF date, page count … */
    extract?: { photo_date?: string | null; taken_at?: string | null; page_count?: number | null } | null;
  }

  /**
   * A row of the folder listing or an item of the folder tree: an ArchiveNode from the API, or one
   * the browser makes up (the photo tree's levels and photos), so only `id`, `kind` and `name`
   * are always there.
   */
  interface ListNode {
    id: string;
    kind: string;
    name: string;
    path?: string | null;
    size?: number | null;
    updated_at?: string | null;
    content_type?: string;
    file_type?: string;
    title?: string | null;
    /** What the 電子納品 XML says about the file (title, photo_path, shooting_spot …). */
    meta?: Record<string, unknown>;
    ingest?: { state: string; reason?: string | null } | null;
    /** Tree icon class (photo tree levels). */
    icon?: string;
    /** The photo tree level a synthetic folder stands for. */
    level?: PhotoLevel;
  }

  /** GET /deliverables/{id}/photo-tree: one level of the 写真管理 classification. */
  interface PhotoLevel {
    /** The PHOTO.XML element the level classifies by (写真-大分類, 写真区分, 工種, 種別, 細別). */
    level?: string | null;
    label?: string | null;
    count: number;
    children?: PhotoLevel[];
    photos?: {
      node_id?: string | null;
      file?: string | null;
      title?: string | null;
      date?: string | null;
      size?: number | null;
      content_type?: string | null;
      file_type?: string | null;
      updated_at?: string | null;
      meta?: Record<string, unknown>;
    }[];
  }

  /** api/search/schemas.py SearchHitRead. */
  interface SearchHit {
    id: string;
    type: string;
    title?: string | null;
    work_id?: string | null;
    parent_id?: string | null;
    path?: string | null;
    number?: string | null;
    doc_class?: string | null;
    status?: string | null;
    file_type?: string | null;
    period_start?: string | null;
    period_end?: string | null;
    doc_date?: string | null;
    photo_date?: string | null;
    size?: number | null;
    role?: string | null;
    address?: string | null;
    municipality_code?: string[];
    /** 西, 南, 東, 北 of the work's package (decimal degrees), when it has 境界座標 */
    bbox?: number[] | null;
    work_title?: string | null;
    work_number?: string | null;
    thumbnail_url?: string | null;
    title_highlight?: string | null;
    highlights?: { page: number; snippet: string }[];
  }

  /** api/search/schemas.py FacetBucket. */
  interface FacetBucket {
    value: string;
    count: number;
    label?: string | null;
  }

  /** api/search/schemas.py SearchResponse. */
  interface SearchResponse {
    hits: SearchHit[];
    total: number;
    facets: Record<string, FacetBucket[]>;
    next_cursor?: string | null;
    sort: string;
    order: string;
    notice?: string | null;
  }

  // ---- notifications and mail (api/notifications, api/mail) ---------------------------------

  /** GET /notifications items (api/notifications/schemas.py NotificationRead). */
  interface Notification {
    id: string;
    kind: string;
    kind_label: string;
    importance: "normal" | "important";
    title: string;
    url: string;
    work_id?: string | null;
    unread: boolean;
    created_at: string;
    read_at?: string | null;
  }

  /** GET /notifications/preferences (KindPrefRead). */
  interface NotificationPref {
    kind: string;
    label: string;
    mail: boolean;
    min_importance: "normal" | "important";
  }

  /** GET /mail/outbox items (api/mail/router.py MailRead; `raw` only on one mail). */
  /** Who planned or erased (api/erasures/views.py): a user's name, the CLI's --by, or the job. */
  interface ErasureActor {
    kind: "user" | "operator" | "system";
    name: string;
  }

  /** The ``erasures`` record of a scope (api/keys/erasure.py, api/erasures/service.py). */
  interface ErasureRecord {
    scope: string;
    state: string;
    due_on?: string | null;
    source?: string | null;
    reason?: string | null;
    scheduled_at?: string | null;
    reminded_on?: string | null;
    started_at?: string | null;
    finished_at?: string | null;
    destroyed_at?: string | null;
    objects?: number;
    index?: number;
    records?: Record<string, number>;
    records_total?: number;
    by_actor?: ErasureActor | null;
    scheduled_by_actor?: ErasureActor | null;
  }

  /** One scope as the erasure page shows it (GET /erasures, /erasures/{scope}). */
  interface ErasureView {
    scope: string;
    label: string;
    part: "collab" | "archive" | "org";
    org_id?: string | null;
    org_name?: string | null;
    work: { id: string; title: string; number?: string; kind?: string; status?: string; legal_hold: boolean } | null;
    state: string;
    key_destroyed_at?: string | null;
    erasure: ErasureRecord | null;
    key?: { state: "active" | "none" | "destroyed"; created_at?: string | null; destroyed_at?: string | null; destroyed_by?: ErasureActor | null; keys: number };
    legal_hold?: string | null;
    /** The job erasures.finish of an erasure started over the API (its last steps). */
    job?: { id: string; state: string | null; restarts: number; error?: string | null } | null;
  }

  /** A backup generation (GET /backups). */
  interface BackupGeneration {
    name: string;
    created_at: string | null;
    kind?: "full" | "incremental";
    objects?: number;
    bytes?: number;
    copied_bytes?: number | null;
    records?: boolean;
    damaged: boolean;
  }

  /** GET /backups: the backups, their policy and the key-encryption key. */
  interface BackupsState {
    configured: boolean;
    target: string | null;
    keys_target: string | null;
    records_backend: string;
    policy: { keep_last: number; keep_daily: number; keep_weekly: number; keep_monthly: number; keep_keys: number };
    generations: BackupGeneration[];
    key_generations: { name: string; created_at: string | null }[];
    newest_at: string | null;
    newest_age_s: number | null;
    error: string | null;
    keys: {
      kek: string;
      where: string;
      current_id: string | null;
      count: number;
      created_at: string | null;
      age_s: number | null;
      encryption: boolean;
      scopes_active: number;
      scopes_destroyed: number;
    };
  }

  /** One value operators alert on (GET /backups/watch, api/ops/levels.py). */
  interface WatchCheck {
    key: string;
    level: "ok" | "warn" | "error" | "unknown";
    value: number | null;
    reason?: string;
    kind?: string | null;
    file?: string;
    expires_at?: string;
  }

  interface OutboxMail {
    id: string;
    kind: string;
    importance: string;
    to_address: string;
    to_name: string;
    subject: string;
    state: "queued" | "sending" | "sent" | "stored" | "dead";
    attempts: number;
    created_at: string;
    sent_at?: string | null;
    last_error?: string | null;
    raw?: string;
  }
}

declare namespace Kura {
  // ---- schedules (api/schedules/schemas.py) --------------------------------------------------

  /** OccurrenceRead: one occurrence in a viewed range (busy_only: no title, place or works). */
  interface Occurrence {
    id: string;
    title: string | null;
    start: string;
    end: string;
    all_day: boolean;
    work_id?: string | null;
    busy_only: boolean;
    location?: string | null;
    owner_id: string;
    owner_name: string;
    series_id?: string | null;
    recurrence_id?: string | null;
    recurring: boolean;
    work_ids: string[];
    visibility?: string | null;
    editable: boolean;
  }

  /** EntryRead: a series as its owner (or a reader allowed its details) sees it. */
  interface ScheduleEntry {
    id: string;
    version: number;
    owner_id: string;
    owner_name: string;
    title: string;
    location: string;
    description: string;
    all_day: boolean;
    tz: string;
    start: string;
    end: string;
    rrule?: string | null;
    exdates: string[];
    overrides: Record<string, Record<string, string>>;
    visibility: string;
    work_ids: string[];
    works: { id: string; title: string }[];
    editable: boolean;
  }

  /** HolidayRead. */
  interface Holiday {
    date: string;
    name: string;
    kind: string;
  }

  /** ImportRead: an iCalendar import job. */
  interface ScheduleImport {
    id: string;
    state: "queued" | "running" | "done" | "failed";
    filename: string;
    progress: { processed?: number; total?: number };
    report: {
      imported?: number;
      updated?: number;
      skipped?: number;
      deleted?: number;
      warnings?: string[];
      items?: { uid: string; title: string; outcome: string; reason: string }[];
    };
    error?: string | null;
  }

  /** FeedRead: an iCalendar feed (url only in the answer that creates it). */
  interface ScheduleFeed {
    id: string;
    scope: string;
    work_id?: string | null;
    name: string;
    created_at: string;
    revoked_at?: string | null;
    url?: string | null;
  }
}

declare namespace Kura {
  // ---- bonds (api/bonds/schemas.py) --------------------------------------------------------

  /** BondRead: ``view`` "existence" leaves every content field null (sealed, or no key). */
  interface Bond {
    id: string;
    view: "existence" | "full";
    sealed: boolean;
    kind: string;
    kind_label: string;
    origin: string;
    state: string;
    opening_at: string | null;
    obligor_org_id: string | null;
    obligor_name: string;
    obligee_org_id: string | null;
    obligee_name: string;
    work_id: string | null;
    work_number: string;
    work_title: string;
    version: number | null;
    revision: number | null;
    issuer_name: string | null;
    certificate_no: string | null;
    amount: number | null;
    contract_amount: number | null;
    period_start: string | null;
    period_end: string | null;
    claim_deadline: string | null;
    premium: number | null;
    premium_difference: number | null;
    conditions: string | null;
    issued_on: string | null;
    paid_on: string | null;
    receipt_ids?: string[] | null;
    key_state: string | null;
    deleted_reason: string | null;
    created_at: string | null;
    debt: { outstanding: number; bonds: number } | null;
    can: { update: boolean; delete: boolean; sign: boolean; download_key: boolean; open: boolean };
  }

  /** OpenResult: POST /bonds/open. */
  interface BondOpened {
    bond: Bond;
    key: {
      valid: boolean;
      revision: number;
      issued_at: string;
      issuer_name: string;
      certificate_subject: string;
      certificate_id: string;
      custody: "issuer" | "kura";
      sealed_until: string | null;
    };
  }

  interface BondRevision {
    revision: number;
    event: string;
    event_label: string;
    at: string;
    by_name: string;
    amount: number | null;
    premium: number | null;
    premium_difference: number | null;
    opening_at: string | null;
  }

  interface BondCertificate {
    id: string;
    subject: string;
    issuer: string;
    serial: string;
    not_before: string;
    not_after: string;
    algorithm: string;
    custody: "issuer" | "kura";
    state: "active" | "retired";
    registered_at: string;
  }

  interface BalanceRow {
    id: string;
    kind_label: string;
    origin: string;
    state: string;
    issuer_name: string;
    certificate_no: string;
    obligor_name: string;
    work_title: string;
    amount: number | null;
    period_start: string | null;
    period_end: string | null;
    outstanding: number;
  }

  interface BalanceSummary {
    on: string;
    scope: "issuer" | "orderer";
    total: number;
    issuers: { issuer_org_id?: string; issuer_name: string; outstanding: number }[];
    bonds: BalanceRow[];
  }

  interface BalanceHistory {
    dates: string[];
    series: { key: string; name: string; values: number[] }[];
  }

  interface SecurityCheck {
    passed: boolean;
    reasons: string[];
    price: number | null;
    low_bid: boolean;
    ratio: string;
    required_amount: number | null;
    due_date: string | null;
    work_title: string;
    bid_amount: number | null;
    award_price: number | null;
    contract_price: number | null;
    securities: (Bond & { counted: boolean })[];
  }
}

interface Window {
  /** tus-js-client's UMD build (/vendor/tus.min.js) sets this (components/upload-queue.js). */
  tus?: typeof import("tus-js-client");
  /** FullCalendar's standard bundle (/vendor/fullcalendar/fullcalendar.js, pages/calendar.js). */
  FullCalendar?: typeof import("fullcalendar");
}
