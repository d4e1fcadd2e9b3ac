// Types of the proposals and workflow API records (api/proposals/*.py, api/workflow/*.py), for
// the type check of the proposal pages (pages/proposal*.js, inbox.js, delegations.js,
// premeeting*.js, admin-forms.js; components/proposal-*.js, route-editor.js). Same rules as
// kura.d.ts: only the fields the pages read, copied from the services' answers.

declare namespace Kura {
  /** api/proposals/forms.py: a column of a table field. */
  interface FormColumn {
    key: string;
    label: string;
    type: "text" | "number" | "date";
    max_length?: number;
  }

  /** api/proposals/forms.py check_definition: one field of a form. */
  interface FormField {
    key: string;
    label: string;
    type: string;
    required?: boolean;
    part?: "proposal" | "answer";
    side?: "orderer" | "contractor" | "any";
    max_length?: number;
    choices?: string[];
    min?: number;
    max?: number;
    columns?: FormColumn[];
    max_rows?: number;
    default?: { from?: string; value?: unknown; field?: string };
    show_if?: { field: string; equals: unknown };
    help?: string;
  }

  interface FormSection {
    heading?: string | null;
    fields: string[];
    style: string;
  }

  /** A form version's definition (normalised by check_definition). */
  interface FormDefinition {
    name: string;
    work_kinds: string[];
    description?: string;
    fields: FormField[];
    layout: { title: string; sections: FormSection[]; stamps: boolean };
  }

  /** proposal_forms record. */
  interface ProposalForm {
    id: string;
    code: string;
    name: string;
    org_id?: string | null;
    work_kinds: string[];
    current_version: number;
    active: boolean;
    standard: boolean;
    version: number;
    updated_at?: string;
  }

  /** GET /proposal-forms. */
  interface FormList {
    items: ProposalForm[];
    field_types: Record<string, string>;
    sources: Record<string, string>;
  }

  /** GET /proposal-forms/{id}. */
  interface FormDetail {
    form: ProposalForm;
    definition: FormDefinition;
    versions: { version: number; created_at: string; created_by: string }[];
  }

  /** GET /works/{id}/proposals/new. */
  interface NewProposal {
    form: ProposalForm;
    form_version: number;
    definition: FormDefinition;
    values: Record<string, unknown>;
  }

  interface RouteStep {
    kind: "approve" | "view";
    assignees: string[];
  }

  /** An assignee's mark on a step (api/workflow/machine.py). */
  interface RouteMark {
    user_id: string;
    status: "pending" | "approved" | "post_review" | "reviewed" | "viewed";
    at?: string | null;
    by?: string | null;
    via?: string | null;
    reviewed_at?: string | null;
    reviewed_by?: string | null;
  }

  interface BundleItem {
    id: string;
    pages: number[] | null;
  }

  interface DateCorrection {
    field: string;
    old: string | null;
    new: string;
    by: string;
    at: string;
    reason: string;
  }

  /** A proposals record (the fold of its events plus bookkeeping). */
  interface Proposal {
    id: string;
    version: number;
    work_id: string;
    number?: number | null;
    title: string;
    form_id: string;
    form_version: number;
    form_name: string;
    values: Record<string, unknown>;
    answers: Record<string, unknown>;
    importance: "normal" | "important";
    requested_answer_date?: string | null;
    attachments: BundleItem[];
    route: RouteStep[];
    progress: { reached: boolean; marks: RouteMark[] }[];
    current_step: number | null;
    state: string;
    revision: number;
    proposer_id: string;
    proposed_on?: string | null;
    received_on?: string | null;
    planned_answer_date?: string | null;
    interim_answer_date?: string | null;
    answered_on?: string | null;
    decided_on?: string | null;
    sent_back?: { by: string; at: string; reason: string; to: string } | null;
    corrections: DateCorrection[];
    copied_from?: string;
    updated_at: string;
  }

  /** What the reader may do now (api/proposals/views.py actions). */
  interface ProposalActions {
    waiting_for_me: string | null;
    edit: boolean;
    submit: boolean;
    delete: boolean;
    withdraw: boolean;
    cancel: boolean;
    approve: boolean;
    send_back: boolean;
    send_back_targets: string[];
    receive: boolean;
    answer: boolean;
    approve_ahead: boolean;
    deputy_for: string[];
    view: boolean;
    post_review: boolean;
    comment: boolean;
    correct: boolean;
    copy: boolean;
  }

  interface BundleFile {
    id: string;
    pages: number[] | null;
    name: string;
    size?: number | null;
    content_type?: string | null;
    page_count?: number | null;
    ingest?: string | null;
  }

  interface PersonName {
    name: string;
    org_name: string;
  }

  /** GET /proposals/{id}. */
  interface ProposalDetail {
    proposal: Proposal;
    state_label: string;
    form: { id: string; version: number; current_version: number; definition: FormDefinition };
    work: { id: string; title: string; number: string; kind: string; status: string };
    bundle: BundleFile[];
    users: Record<string, PersonName>;
    days_left: number | null;
    actions: ProposalActions;
    on_route: boolean;
  }

  /** A row of the lists and the inbox (api/proposals/lists.py rows). */
  interface ProposalRow {
    id: string;
    version: number;
    work_id: string;
    work_title: string;
    number?: number | null;
    title: string;
    form_name: string;
    state: string;
    state_label: string;
    importance: "normal" | "important";
    proposer_name: string;
    status_text: string;
    proposed_on?: string | null;
    requested_answer_date?: string | null;
    received_on?: string | null;
    planned_answer_date?: string | null;
    answered_on?: string | null;
    decided_on?: string | null;
    updated_at: string;
    days_left: number | null;
    action: string | null;
    deputy_for: string | null;
    deputy_for_name: string | null;
  }

  interface ProposalPage {
    items: ProposalRow[];
    next_cursor: string | null;
    total: number | null;
    truncated: boolean;
  }

  interface HistoryEvent {
    seq: number;
    kind: string;
    label: string;
    at: string;
    on: string;
    actor_id: string;
    actor_name: string;
    actor_org: string;
    via: string | null;
    detail: string;
    step: number | null;
  }

  interface ProposalRevision {
    revision: number;
    submitted_at: string;
    submitted_by: string;
    title: string;
    changes: { field: string; label: string; old: string | null; new: string | null }[];
    files: { name: string; change: string; label: string }[];
  }

  /** GET /proposals/{id}/history. */
  interface ProposalHistory {
    events: HistoryEvent[];
    revisions: ProposalRevision[];
    corrections: DateCorrection[];
    users: Record<string, PersonName>;
  }

  /** GET /works/{id}/proposals/people. */
  interface RoutePerson {
    user_id: string;
    name: string;
    org_name: string;
    role: string;
    role_label: string;
    can_approve: boolean;
  }

  interface RouteTemplate {
    id: string;
    scope: "work" | "org";
    owner_id: string;
    name: string;
    steps: RouteStep[];
    created_by: string;
    version: number;
  }

  interface Delegation {
    id: string;
    principal_id: string;
    deputy_id: string;
    work_id: string | null;
    starts_at: string;
    ends_at: string;
    note: string;
    created_by: string;
    revoked_at: string | null;
  }

  /** GET /delegations. */
  interface DelegationList {
    items: Delegation[];
    users: Record<string, PersonName>;
    works: Record<string, string>;
  }

  /** premeetings record (別表1-2 4(8)-(13)) with the list's names. */
  interface Matter {
    id: string;
    version: number;
    work_id: string;
    title: string;
    body: string;
    status: string;
    status_label?: string;
    comments: number;
    created_by: string;
    created_by_name?: string;
    created_at: string;
    updated_at: string;
    answer?: { text: string; by: string; at: string } | null;
  }

  interface MatterComment {
    id: string;
    text: string;
    by: string;
    at: string;
    files: string[];
  }

  /** GET /premeetings/{id}. */
  interface MatterDetail {
    matter: Matter;
    status_label: string;
    comments: MatterComment[];
    files: { id: string; name: string; size: number }[];
    users: Record<string, PersonName>;
  }
}
