// API records of the second archive pass (issue 8): check record, parties. See kura.d.ts.

declare namespace Kura {
  /** GET /works/{id}/parties (api/works/parties.py). */
  interface Parties {
    work_id: string;
    orderer: { id: string; name: string; kind?: string | null } | null;
    office: { id: string; name: string } | null;
    contractors: { id: string; name: string; kind?: string | null }[];
    members: {
      user_id: string;
      name: string;
      position?: string | null;
      org_id?: string | null;
      org_name: string;
      role: string;
      added_at?: string | null;
    }[];
    business_type: { code: string; name: string } | null;
  }

  interface Receipt {
    by: string;
    by_name: string;
    at: string;
    note?: string | null;
  }

  /** One line of GET /works/{id}/checks (api/deliverables/checks.py summary). */
  interface CheckSummary {
    id: string;
    work_id: string;
    root_node_id: string;
    root_path: string;
    index_kind?: string | null;
    standard?: string | null;
    applied_standard?: string | null;
    profile?: string | null;
    counts: { E: number; W: number; N: number };
    created_at: string;
    receipt: Receipt | null;
    version: number;
  }

  /** GET /works/{id}/checks. */
  interface CheckRecord {
    work_id: string;
    latest: CheckSummary | null;
    items: CheckSummary[];
    can_receive: boolean;
    block_archive_on_errors: boolean;
  }

  /** GET /search/map: the map filter's background. */
  interface MapSettings {
    tile_url: string | null;
    attribution: string;
    max_zoom: number;
  }

  /** A finding of GET /deliverables/{id} (with its rule name and file node). */
  interface Finding {
    rule: number;
    title?: string;
    severity: "E" | "W" | "N";
    message: string;
    path?: string | null;
    line?: number | null;
    column?: number | null;
    node_id?: string | null;
  }
}

interface Window {
  /** Leaflet's browser build (/vendor/leaflet/leaflet.js) sets this (components/map.js). */
  L?: typeof import("leaflet");
}
