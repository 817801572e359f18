/**
 * A small nondeterministic automaton over UTF-16 code units, compiled from a
 * pattern's tokens. It is the single definition of what a URI matches: key
 * matching runs it (in time linear in the key, whatever the pattern, so no
 * pattern can make matching blow up the way a backtracking regex can), and
 * collision checking walks two of them in lockstep (language intersection).
 *
 * Code units rather than code points: literals come from the pattern whole,
 * so on well-formed strings a match in units is a match in code points.
 */
import { asciiLower, asciiUpper, SUPPORTED_EXTENSIONS } from './format';
import type { Token } from './parse';

const SLASH = 0x2f;

/** What one step of the automaton may read. */
export type Label =
  /** Any code unit. */
  | { kind: 'any' }
  /** Any code unit except `/`. */
  | { kind: 'notSlash' }
  /** One of these code units. */
  | { kind: 'units'; units: readonly number[] };

export interface Edge {
  label: Label;
  to: number;
}

export interface Automaton {
  /** Reading edges, by state. */
  readonly edges: readonly (readonly Edge[])[];
  /** Free (epsilon) moves, by state. */
  readonly free: readonly (readonly number[])[];
  /** Every state reachable through free moves, the state itself included. */
  readonly closure: readonly (readonly number[])[];
  readonly start: number;
  readonly accept: number;
}

const ANY: Label = { kind: 'any' };
const NOT_SLASH: Label = { kind: 'notSlash' };

/** Builds the automaton of a token sequence (see `Token` for their meaning). */
export function compileTokens(tokens: readonly Token[]): Automaton {
  const builder = new Builder();
  const start = builder.newState();
  let current = start;
  for (const token of tokens) current = builder.add(current, token);
  const { edges, free } = builder;
  return { edges, free, closure: free.map((_, state) => closureOf(free, state)), start, accept: current };
}

/** The states and moves of an automaton being built, one token at a time. */
class Builder {
  readonly edges: Edge[][] = [];
  readonly free: number[][] = [];

  newState(): number {
    this.edges.push([]);
    this.free.push([]);
    return this.edges.length - 1;
  }

  /** Adds `token` after state `from`; returns the state reached at its end. */
  add(from: number, token: Token): number {
    switch (token.kind) {
      case 'literal':
        return this.literal(
          from,
          [...codeUnits(token.text)].map((unit) => [unit]),
        );
      case 'star':
        return this.loop(from, NOT_SLASH);
      case 'globstar':
        return this.loop(from, ANY);
      case 'anyDirectories':
        return this.anyDirectories(from);
      case 'supportedFile':
        return this.supportedFile(from);
    }
  }

  private read(from: number, label: Label, to: number): void {
    this.edges[from]!.push({ label, to });
  }

  /** A fresh state reached freely from `from`, looping on `label`. */
  private loop(from: number, label: Label): number {
    const state = this.newState();
    this.free[from]!.push(state);
    this.read(state, label, state);
    return state;
  }

  private literal(from: number, units: readonly number[][]): number {
    let current = from;
    for (const choices of units) {
      const next = this.newState();
      this.read(current, { kind: 'units', units: choices }, next);
      current = next;
    }
    return current;
  }

  /** The `anyDirectories` token: no directory at all, or any characters ending in a slash. */
  private anyDirectories(from: number): number {
    const end = this.newState();
    this.free[from]!.push(end);
    const inside = this.loop(from, ANY);
    this.read(inside, { kind: 'units', units: [SLASH] }, end);
    return end;
  }

  /** Any name ending in a supported extension, in any ASCII case. */
  private supportedFile(from: number): number {
    const body = this.loop(from, ANY);
    const end = this.newState();
    for (const extension of SUPPORTED_EXTENSIONS) {
      const choices = [...codeUnits(extension)].map((unit) => {
        const lower = asciiLower(unit);
        const upper = asciiUpper(lower);
        return lower === upper ? [lower] : [lower, upper];
      });
      this.free[this.literal(body, choices)]!.push(end);
    }
    return end;
  }
}

function* codeUnits(text: string): Generator<number> {
  for (let i = 0; i < text.length; i++) yield text.charCodeAt(i);
}

function closureOf(free: readonly (readonly number[])[], state: number): number[] {
  const seen = new Set<number>([state]);
  const stack = [state];
  while (stack.length > 0) {
    for (const next of free[stack.pop()!]!) {
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  return [...seen];
}

function reads(label: Label, unit: number): boolean {
  switch (label.kind) {
    case 'any':
      return true;
    case 'notSlash':
      return unit !== SLASH;
    case 'units':
      return label.units.includes(unit);
  }
}

/** True when the automaton accepts the whole of `key`. */
export function runAutomaton(automaton: Automaton, key: string): boolean {
  // `stamp[state] === step` means the state is already active at this step.
  const stamp = new Int32Array(automaton.edges.length).fill(-1);
  let active: number[] = [];
  for (const state of automaton.closure[automaton.start]!) {
    stamp[state] = 0;
    active.push(state);
  }
  for (let i = 0; i < key.length; i++) {
    if (active.length === 0) return false;
    const unit = key.charCodeAt(i);
    const step = i + 1;
    const next: number[] = [];
    for (const state of active) {
      for (const edge of automaton.edges[state]!) {
        if (!reads(edge.label, unit)) continue;
        for (const reached of automaton.closure[edge.to]!) {
          if (stamp[reached] !== step) {
            stamp[reached] = step;
            next.push(reached);
          }
        }
      }
    }
    active = next;
  }
  return stamp[automaton.accept] === key.length;
}

/** Printable stand-in when any non-`/` character would do. */
const FILLER = 0x78; // 'x'

/** A code unit both labels read, or `undefined` when they read none in common. */
function commonUnit(a: Label, b: Label): number | undefined {
  if (a.kind === 'units' || b.kind === 'units') {
    const [set, other] = a.kind === 'units' ? [a, b] : [b as Label & { kind: 'units' }, a];
    return set.units.find((unit) => reads(other, unit));
  }
  return FILLER; // any/notSlash against any/notSlash: 'x' is read by both.
}

/**
 * A shortest string both automata accept, or `undefined` when their languages
 * do not intersect. Breadth-first search over pairs of states (the product
 * automaton), one layer per character read; free moves stay in their layer,
 * so the first accepting pair found gives a shortest witness. Exact: no
 * heuristics, no length bound; at most |a| x |b| pairs are visited.
 */
export function intersectionWitness(a: Automaton, b: Automaton): string | undefined {
  const width = b.edges.length;
  const total = a.edges.length * width;
  const distance = new Int32Array(total).fill(0x7fffffff);
  const done = new Uint8Array(total);
  const parent = new Int32Array(total).fill(-1);
  const via = new Int32Array(total).fill(-1); // the unit read to get here; -1 for a free move
  const startPair = a.start * width + b.start;
  distance[startPair] = 0;
  let layer = [startPair];
  for (let depth = 0; layer.length > 0; depth++) {
    const nextLayer: number[] = [];
    const reach = (pair: number, from: number, unit: number, list: number[], at: number): void => {
      if (distance[pair]! <= at) return;
      distance[pair] = at;
      parent[pair] = from;
      via[pair] = unit;
      list.push(pair);
    };
    while (layer.length > 0) {
      const current = layer.pop()!;
      if (done[current] === 1) continue;
      done[current] = 1;
      const p = Math.floor(current / width);
      const q = current % width;
      if (p === a.accept && q === b.accept) return spell(current, parent, via);
      for (const p2 of a.free[p]!) reach(p2 * width + q, current, -1, layer, depth);
      for (const q2 of b.free[q]!) reach(p * width + q2, current, -1, layer, depth);
      for (const ea of a.edges[p]!) {
        for (const eb of b.edges[q]!) {
          const unit = commonUnit(ea.label, eb.label);
          if (unit !== undefined) reach(ea.to * width + eb.to, current, unit, nextLayer, depth + 1);
        }
      }
    }
    layer = nextLayer;
  }
  return undefined;
}

function spell(end: number, parent: Int32Array, via: Int32Array): string {
  const units: number[] = [];
  for (let node = end; parent[node] !== -1; node = parent[node]!) {
    if (via[node]! >= 0) units.push(via[node]!);
  }
  return String.fromCharCode(...units.reverse());
}
