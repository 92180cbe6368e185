// The names of an address, from the DNS answers seen on the wire: what the
// flow events show as src_dns / dst_dns. Modelled on Tracee's DNS cache
// (pkg/datastores/dns): a graph of names and addresses, the question of a
// response its root, each CNAME/A/AAAA answer a child of the name it answers
// (the question, or an earlier answer's target: a CNAME chain), the answer's
// TTL its expiry. The names of an address are its parents, each one's parents
// before it: www.example.com -> CNAME cdn.example.net -> A 192.0.2.1 names
// 192.0.2.1 ["www.example.com", "cdn.example.net"], as Tracee prints them.
//
// Differences (test/tracee-choices.test.ts writes them down):
//  - time is capture time (packet timestamps), so a replay names addresses as
//    a live run did; Tracee compares the answer's capture time with the wall
//    clock when asked;
//  - bounded: at most `max` names and addresses in all (LRU, each use or
//    answer refreshes), at most MAX_PARENTS names per address; Tracee bounds
//    only the number of questions (5000);
//  - only CNAME, A and AAAA answers are kept (the ones that lead to an
//    address) and PTR questions are ignored (Tracee keeps their names under
//    the reversed address text, where no lookup finds them).

import type { DnsMessage } from "../decode/dnstypes";

/** at most this many names kept for one address (a shared CDN address): more are counted, not kept */
export const MAX_PARENTS = 8;
/** at most this many names in one answer to a lookup, and this deep a CNAME chain */
const MAX_NAMES = 32;
const MAX_DEPTH = 16;

interface Node {
  /** the name or address */
  readonly value: string;
  /** an address (A/AAAA answer), else a name */
  readonly ip: boolean;
  /** capture time (seconds) after which it is stale; Infinity for a question (Tracee: roots never expire) */
  expires: number;
  /** the names it answers, in the order first seen */
  readonly parents: string[];
}

export interface DnsCacheStats {
  /** names and addresses held */
  entries: number;
  /** dropped to make room (the least recently used) */
  evicted: number;
  /** names of an address not kept (over MAX_PARENTS) */
  parentsDropped: number;
  /** responses that fed the cache */
  responses: number;
}

const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_PTR = 12;
const TYPE_AAAA = 28;

export class DnsCache {
  readonly stats: DnsCacheStats = { entries: 0, evicted: 0, parentsDropped: 0, responses: 0 };
  /** every node by its value, least recently used first (Map order: a use deletes and sets again) */
  private readonly nodes = new Map<string, Node>();

  constructor(readonly max = 16384) {}

  private touch(n: Node): void {
    this.nodes.delete(n.value);
    this.nodes.set(n.value, n);
  }

  private put(n: Node): void {
    this.nodes.set(n.value, n);
    if (this.nodes.size > this.max) {
      const oldest = this.nodes.keys().next().value as string;
      this.nodes.delete(oldest);
      this.stats.evicted++;
    }
    this.stats.entries = this.nodes.size;
  }

  /**
   * Learn from a DNS message seen at capture time `now` (seconds): a response
   * with one question and answers (Tracee's rule); anything else is ignored
   */
  add(m: DnsMessage, now: number): void {
    if (m.flags >>> 15 !== 1 || m.answers.length === 0 || m.questions.length !== 1) return;
    const q = m.questions[0];
    if (q.type === TYPE_PTR) return;
    this.stats.responses++;
    let root = this.nodes.get(q.name);
    if (root === undefined) {
      root = { value: q.name, ip: false, expires: Infinity, parents: [] };
      this.put(root);
    } else this.touch(root);
    for (let i = 0; i < m.answers.length; i++) {
      const a = m.answers[i];
      if (a.type !== TYPE_A && a.type !== TYPE_AAAA && a.type !== TYPE_CNAME) continue;
      if (typeof a.data !== "string" || a.data === "") continue;
      // the answer's owner, when it is an earlier answer's target (a CNAME chain), else the question
      let parent = root;
      if (a.name !== root.value) {
        const owner = this.nodes.get(a.name);
        if (owner !== undefined) parent = owner;
      }
      const expires = now + a.ttl;
      const child = this.nodes.get(a.data);
      if (child === undefined) {
        this.put({ value: a.data, ip: a.type !== TYPE_CNAME, expires, parents: [parent.value] });
      } else {
        if (child.parents.indexOf(parent.value) < 0 && child !== parent) {
          if (child.parents.length < MAX_PARENTS) child.parents.push(parent.value);
          else this.stats.parentsDropped++;
        }
        // (Tracee: the latest answer's TTL; a question's node keeps never expiring)
        if (child.expires !== Infinity) child.expires = expires;
        this.touch(child);
      }
    }
  }

  /**
   * The names of an address at capture time `now` (seconds), in Tracee's
   * order (a chain's first name first; of several names, the latest first);
   * [] when it is not known or its answer expired
   */
  lookup(ip: string, now: number): string[] {
    const n = this.nodes.get(ip);
    if (n === undefined || !n.ip || now > n.expires) return [];
    this.touch(n);
    const out: string[] = [];
    this.parentsOf(n, now, out, 0);
    return out;
  }

  /** Tracee's addNodeParentsToQueryResult: each parent put in front, then its own parents in front of it */
  private parentsOf(n: Node, now: number, out: string[], depth: number): void {
    if (depth >= MAX_DEPTH) return;
    for (let i = 0; i < n.parents.length; i++) {
      // (Tracee checks the child's expiry here, not the parent's)
      if (now > n.expires || out.length >= MAX_NAMES) return;
      const p = this.nodes.get(n.parents[i]);
      // (a name evicted since is forgotten)
      if (p === undefined) continue;
      out.unshift(p.value);
      if (p.parents.length === 0) this.touch(p);
      else this.parentsOf(p, now, out, depth + 1);
    }
  }

  get size(): number {
    return this.nodes.size;
  }
}
