// Types of the document folders, inspection and hand-over pages (api/folders, api/privacy,
// api/inspections, api/handovers): the response shapes of their routers, the fields the pages
// read.

declare namespace Kura {
  interface Folder {
    id: string;
    parent_id: string;
    name: string;
    path: string;
    depth: number;
    doc_type: string;
    doc_type_set: boolean;
    delivery: string;
    version: number;
    files: number;
    total_files: number;
  }

  interface Option {
    value: string;
    label: string;
  }

  interface Filing {
    state: string;
    at?: string | null;
    counts: Record<string, number>;
    detail?: string | null;
  }

  interface FolderListing {
    work_id: string;
    kind: string;
    seeded_at: string | null;
    folders: Folder[];
    root_files: number;
    total_files: number;
    can_write: boolean;
    delivery_targets: Option[];
    doc_types: string[];
    filing: Filing | null;
  }

  interface Stamp {
    role: string;
    user_id: string;
    name: string;
    date: string;
    note: string;
  }

  interface PersonalMark {
    count: number;
    kinds: string[];
    state: string;
    decision: string | null;
  }

  interface DocumentRow {
    id: string;
    work_id: string;
    parent_id: string;
    name: string;
    path: string;
    folder: string;
    size: number;
    content_type: string;
    doc_type: string;
    title: string;
    registered_on: string;
    created_by_name: string;
    version: number;
    proposal_id: string | null;
    approvals: Stamp[];
    personal_data: PersonalMark | null;
    ingest_state: string | null;
  }

  interface TemplateFolder {
    name: string;
    doc_type: string;
    delivery: string;
    children: TemplateFolder[];
  }

  interface FolderTemplate {
    org_id: string | null;
    kind: string;
    own: boolean;
    folders: TemplateFolder[];
    delivery_targets: Option[];
  }

  interface PrivacyFinding {
    kind: string;
    label: string;
    page: number | null;
    masked: string;
  }

  interface PrivacyCheck {
    id: string;
    state: "pending" | "clear" | "warning";
    kinds?: string[];
    count: number;
    findings: PrivacyFinding[];
    name?: string;
    target?: string;
    checked_at?: string;
    decision?: { action: string; reason: string | null; by: string; at: string } | null;
  }

  interface InspectionProposal {
    id: string;
    number: number;
    title: string;
    form_name: string | null;
    proposed_on: string | null;
    decided_on: string | null;
    stamps: Stamp[];
    node_id: string | null;
    filed_current: boolean;
  }

  interface Inspection {
    work: { id: string; title: string; number: string; kind: string; status: string };
    proposals: InspectionProposal[];
    filing: Filing | null;
    can_prepare: boolean;
  }

  interface Finding {
    rule: number;
    check: string;
    severity: "E" | "W" | "N";
    message: string;
    path: string | null;
    line: number | null;
    title?: string;
  }

  interface PackageNote {
    level: "E" | "W" | "N";
    message: string;
  }

  interface HandoverPackage {
    id: string;
    work_id: string;
    state: "queued" | "running" | "done" | "failed";
    created_at: string;
    finished_at: string | null;
    size: number | null;
    sha256: string | null;
    standard: string | null;
    profile: string | null;
    counts: { E: number; W: number; N: number } | null;
    files: number | null;
    folders: string[] | null;
    proposals: number | null;
    blocking: number | null;
    notes: PackageNote[];
    error: string | null;
    findings?: Finding[];
  }

  interface DeliveryConfig {
    standard: string;
    datum: string;
    bounds: { west: string; east: string; north: string; south: string } | null;
    content: string;
    facilities: string[];
    orderer_major: string;
    orderer_middle: string;
    orderer_minor: string;
    section: string;
    contractor_code: string;
    register_pre: string | null;
    register_post: string | null;
    profile: string;
    chosen: string[];
  }

  interface HandoverRecord {
    state?: string;
    package_id?: string;
    requested_at?: string;
    transferred_at?: string;
    root_node_id?: string;
    root_path?: string;
    erasure_on?: string;
    erased_at?: string;
    error?: string | null;
  }

  interface HandoverOverview {
    work: { id: string; title: string; number: string; kind: string; status: string; version: number };
    config: DeliveryConfig;
    standards: { code: string; label: string }[];
    targets: Option[];
    folders: Folder[];
    packages: HandoverPackage[];
    handover: HandoverRecord;
    settings: { uses_archive: boolean; erasure_days: number; reminder_days: number };
    can: { generate: boolean; transfer: boolean; erasure: boolean };
  }

  interface HandoverSettings {
    org_id: string;
    uses_archive: boolean;
    erasure_days: number;
    reminder_days: number;
    stored: boolean;
  }
}
