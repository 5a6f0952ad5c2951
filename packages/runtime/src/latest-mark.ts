/**
 * The newest of a sequence of marks (`seen(A since B)`'s last B, a key's last A), where any mark
 * can be taken back, in any order, while the reservation that made it is held.
 *
 * Each mark remembers the value before it, and marks are linked: a mark taken back hands its
 * "before" to the mark after it, or, when it is the newest, gives it back as the value. The link
 * to the mark before is weak: a mark nothing else holds can no longer be taken back, so the state
 * keeps only the newest mark and what reservations still hold, not every mark of the session.
 * (No library keeps a last value under removals in any order without keeping every value.)
 */

export interface MarkValue {
  readonly seq: number;
  readonly time: number;
}

interface Mark extends MarkValue {
  /** The newest live mark's value before this one was made. */
  before: MarkValue | null;
  prev: WeakRef<Mark> | null;
  next: Mark | null;
}

export interface Latest {
  value: MarkValue | null;
  /** The newest mark, while one is live (null once it was taken back and the one before it is gone). */
  node: Mark | null;
}

export function newLatest(): Latest {
  return { value: null, node: null };
}

/** Makes `{ seq, time }` the newest mark; returns what takes it back. */
export function mark(latest: Latest, seq: number, time: number): () => void {
  const node: Mark = { seq, time, before: latest.value, prev: latest.node ? new WeakRef(latest.node) : null, next: null };
  if (latest.node !== null) latest.node.next = node;
  latest.node = node;
  latest.value = { seq, time };
  let done = false;
  return () => {
    if (done) return;
    done = true;
    unlink(latest, node);
  };
}

function unlink(latest: Latest, node: Mark): void {
  const pred = node.prev?.deref() ?? null;
  const succ = node.next;
  if (succ !== null) {
    succ.before = node.before;
    succ.prev = node.prev;
  } else {
    latest.value = node.before;
    latest.node = pred;
  }
  if (pred !== null) pred.next = succ;
  node.next = null;
}
