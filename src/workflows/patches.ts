/**
 * The registry of workflow patches: every `patched(id)` (and later
 * `deprecatePatch(id)`) in workflow code names an id listed here, with why it
 * exists and when its old branch may go. `npm run lint` checks that each id
 * used is registered and written as a literal.
 *
 * The rule (docs/architecture.md, "Changing workflow code"): after a release,
 * a change to workflow code that alters the commands a running workflow
 * issues goes behind `patched(id)`, and a recorded history pins the old path
 * (test/fixtures/histories, recorded before the change). Then, as in
 * Temporal's lifecycle: `patched` → `deprecatePatch` once no workflow started
 * before the change can still be running → removed with its history.
 *
 * Empty: the package is private 0.1.0 and no release runs workflows that need
 * the old paths, so the patches written before it were removed (issue 20, item 6).
 */
export interface WorkflowPatch {
  /** The id passed to `patched()` / `deprecatePatch()`. */
  id: string;
  /** What the patched branch changes, and why. */
  why: string;
  /** When the old branch may go, e.g. "when no job started by 0.2.x still runs (jobs end within a day)". */
  mayGoWhen: string;
  /** The recorded history (test/fixtures/histories) that replays the old branch. */
  pinnedBy: string;
}

export const WORKFLOW_PATCHES: readonly WorkflowPatch[] = [];
