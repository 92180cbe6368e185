// A loaded signature or rule as the engine tracks it, and a finding as the
// engine hands it to the outputs (findings/finding.ts shapes it for them).

import type { SignatureMetadata } from "./signature";
import type { SignatureSource } from "./sources";

export interface LoadedSignature {
  index: number;
  file: string;
  meta: SignatureMetadata;
  mask: number;
  source: SignatureSource;
  errors: number[];
  state: "active" | "disabled" | "quarantined";
  /** a compiled rule that runs in netsig's process (rules/run/backend.ts), not in the sandbox */
  host: boolean;
}

export interface HostFinding {
  sig: LoadedSignature;
  /** host packet number of the triggering event (-1 when unknown) */
  packet: number;
  /** exact timestamp literal of the triggering event */
  ts: string;
  event: Record<string, unknown> | null;
  data: Record<string, unknown>;
}

export type FindingHandler = (findings: HostFinding[]) => void;
