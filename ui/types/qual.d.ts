// Types of the qualification pages (api/qualifications: routers, drafts.view, views.filing_view,
// rounds._summary, desk._rows). Only the fields the pages read.

declare namespace Kura {
  /** One error of the form (api/qualifications/checks.py Checker.add). */
  interface QualError {
    field: string;
    step?: string;
    label: string;
    message: string;
    suggestion?: string;
  }

  interface QualWindow {
    kind: string;
    open: boolean;
    period: { start: string; end: string } | null;
    hours: { open: string; close: string };
    next_open_at: string | null;
    closes_at: string | null;
    message: string;
  }

  interface QualTarget {
    code: string;
    name: string;
    org_id: string;
    own_documents?: string[];
    own_documents_note?: string;
  }

  /** GET /qualifications/rounds[/{id}] (rounds._summary). */
  interface QualRound {
    id: string;
    version: number;
    code: string;
    name: string;
    prefecture: string;
    prefecture_name: string;
    filing_start: string;
    filing_end: string;
    paper_deadline: string;
    correction_deadline: string;
    additional_start?: string | null;
    additional_end?: string | null;
    review_base_from: string;
    paper_address: string;
    published: boolean;
    targets: QualTarget[];
    excluded: { code: string; name: string; note?: string }[];
    host_org_id: string | null;
    windows: Record<string, QualWindow>;
    paper_deadline_passed: boolean;
    receives: boolean;
    mine: {
      draft?: { id: string; updated_at: string; step?: string | null } | null;
      application?: { id: string; receipt_no: string; sent_at: string } | null;
    };
  }

  interface QualPaper {
    no: number;
    title: string;
    mark: string;
    note: string;
  }

  interface QualOwnPapers {
    code: string;
    name: string;
    documents: string[];
    note: string;
  }

  /** The draft's values (api/qualifications/values.py VALUES): strings as typed. */
  type QualValues = Record<string, any>;

  /** GET/PATCH /qualifications/drafts/{id} (drafts.view). */
  interface QualDraft {
    id: string;
    round_id: string;
    version: number;
    step: string | null;
    values: QualValues;
    updated_at: string;
    errors: Record<string, QualError[]>;
    local: boolean;
    attachment: { id: string; name: string; size: number; content_type: string } | null;
    papers: QualPaper[];
    own_papers: QualOwnPapers[];
    application: {
      id: string;
      receipt_no: string;
      sent_at: string;
      targets: string[];
      sent_from_this_draft: boolean;
    } | null;
    dropped: { code: string; name: string }[];
  }

  /** GET /qualifications/applications/{id} (views.filing_view). */
  interface QualApplication {
    id: string;
    version: number;
    round_id: string;
    receipt_no: string;
    kind: string;
    filing: number;
    sent_at: string;
    values: QualValues;
    targets: string[];
    no_tax: string[];
    target_names: { code: string; name: string }[];
    papers: QualPaper[];
    own_papers: QualOwnPapers[];
    attachment_id: string | null;
    attachment_name: string | null;
    company_name: string;
    status: string;
    common_received: number[];
    desk: {
      id: string;
      version: number;
      papers_received: number[];
      own_received: boolean;
      notes: { id: string; at: string; by_name: string; text: string }[];
    } | null;
    viewer: { as: string; only: string | null };
    corrections: { at: string; fields: string[] }[];
    additions: { at: string; targets: string[] }[];
  }

  /** GET /qualifications/rounds/{id}/received items (desk._rows). */
  interface QualReceivedRow {
    id: string;
    receipt_no: string;
    kind: string;
    sent_at: string;
    company_name: string;
    company_kana: string;
    corporate_number: string;
    local: boolean;
    address: string;
    categories: string[];
    targets: string[];
    applies_here: boolean;
    status: string;
    status_label: string;
    papers_received: number[];
    own_received: boolean;
    notes: number;
  }

  /** GET /qualifications/catalog. */
  interface QualCatalog {
    categories: { code: string; name: string; licence: string; base: string | null }[];
    legal_forms: { kind: string; abbreviation: string }[];
    authorities: { code: string; name: string }[];
    municipalities: { code: string; name: string; prefecture: string }[];
    prefectures: { code: string; name: string }[];
    kenchiku_cpd: { key: string; name: string }[];
  }
}
