// The pod's identity in Tracee's event envelope: `containerId`, `container`
// and `kubernetes` (types/trace/trace.go, the same from Tracee v0.13.0, which
// added them (#2921), to v0.24.1):
//
//   ContainerID string     `json:"containerId"`
//   Container   Container  `json:"container,omitempty"`   {id, name, image, imageDigest}
//   Kubernetes  Kubernetes `json:"kubernetes,omitempty"`  {podName, podNamespace, podUID, podSandbox}
//
// every field of the two structs `omitempty`; `omitempty` on a struct does
// nothing in encoding/json, so both objects are always printed, `{}` when
// nothing is known (what netsig printed before it knew its pod). Tracee puts
// the same id in containerId and container.id. podSandbox is true only for a
// pod's pause container, which netsig never is: never printed.
//
// The identity is the same for every event of a process until it is reloaded
// (engine/cli/podinfo.ts), so the objects are made and frozen once, here, and
// every event shares them. The holder is read per event (no allocation); a
// reload swaps it and bumps `version`, which the JSON writer (jsonbytes.ts)
// checks to encode its envelope text again. The sandbox realm has its own copy
// of this module: the host sends the identity with every batch
// (dispatch/compact.ts) and the realm swaps its holder when it changed.
//
// (No Node.js API here: it runs inside the sandbox too.)

export interface PodFields {
  containerId?: string;
  containerName?: string;
  containerImage?: string;
  containerImageDigest?: string;
  podName?: string;
  podNamespace?: string;
  podUID?: string;
}

export interface PodEnvelope {
  readonly containerId: string;
  /** Tracee's Container: only the keys that have a value, in Tracee's order */
  readonly container: Readonly<Record<string, string>>;
  /** Tracee's Kubernetes: likewise */
  readonly kubernetes: Readonly<Record<string, string>>;
  /** the fields as a transport string ("" when none): what a batch carries to the realm */
  readonly transport: string;
}

function compact(pairs: [string, string | undefined][]): Record<string, string> {
  const o: Record<string, string> = {};
  for (const [k, v] of pairs) if (v !== undefined && v !== "") o[k] = v;
  return o;
}

/** the envelope of these fields (their objects frozen) */
export function podEnvelope(f: PodFields): PodEnvelope {
  const container = Object.freeze(
    compact([
      ["id", f.containerId],
      ["name", f.containerName],
      ["image", f.containerImage],
      ["imageDigest", f.containerImageDigest],
    ]),
  );
  const kubernetes = Object.freeze(
    compact([
      ["podName", f.podName],
      ["podNamespace", f.podNamespace],
      ["podUID", f.podUID],
    ]),
  );
  const empty = Object.keys(container).length === 0 && Object.keys(kubernetes).length === 0;
  const containerId = f.containerId ?? "";
  return Object.freeze({
    containerId,
    container,
    kubernetes,
    transport: empty ? "" : JSON.stringify({ containerId, container, kubernetes }),
  });
}

/** the envelope a transport string stands for */
export function envelopeFromTransport(text: string): PodEnvelope {
  if (text === "") return NO_POD;
  const o = JSON.parse(text) as { containerId: string; container: Record<string, string>; kubernetes: Record<string, string> };
  return podEnvelope({
    containerId: o.containerId,
    containerName: o.container.name,
    containerImage: o.container.image,
    containerImageDigest: o.container.imageDigest,
    podName: o.kubernetes.podName,
    podNamespace: o.kubernetes.podNamespace,
    podUID: o.kubernetes.podUID,
  });
}

/** nothing known: `"containerId":"","container":{},"kubernetes":{}` */
export const NO_POD: PodEnvelope = podEnvelope({});

/** the process's envelope now, and how many times it changed */
export const POD: { envelope: PodEnvelope; version: number } = { envelope: NO_POD, version: 0 };

/** make `e` the envelope of every event built from now on (an equal one changes nothing) */
export function setPodEnvelope(e: PodEnvelope): void {
  if (e.transport === POD.envelope.transport) return;
  POD.envelope = e;
  POD.version++;
}
