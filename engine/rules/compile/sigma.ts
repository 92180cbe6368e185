// Sigma rules as they are: the log sources netsig serves, and their fields,
// are in logsources.ts. Here, what the rest of a Sigma rule becomes: `level`
// the severity; title, id, name and tags the finding's metadata. Host side only.

export const LEVELS: Record<string, 0 | 1 | 2 | 3 | 4> = { informational: 0, info: 0, low: 1, medium: 2, high: 3, critical: 4 };

/** MITRE ATT&CK properties from Sigma-style tags (attack.t1071.004, attack.command-and-control) */
export function attackProperties(tags: string[]): { Category?: string; external_id?: string } {
  const out: { Category?: string; external_id?: string } = {};
  for (const t of tags) {
    const m = /^attack\.(t\d{4}(?:\.\d{3})?)$/i.exec(t);
    if (m && !out.external_id) {
      out.external_id = m[1].toUpperCase();
      continue;
    }
    const c = /^attack\.([a-z][a-z_-]+)$/i.exec(t);
    if (c && !out.Category && !/^(g|s)\d{4}$/i.test(c[1])) out.Category = c[1].toLowerCase().replace(/_/g, "-");
  }
  return out;
}

/** an id made of a title, for rules without one */
export function slug(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "rule"
  );
}
