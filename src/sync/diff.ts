/**
 * Unified diffs between what a target last got and what it would get now. Rendered rule
 * files are long and repetitive, where a plain Myers diff (jsdiff's diffLines) takes minutes
 * once many rules change, so lines unique to both sides anchor the diff first (patience
 * diffing, as git's --patience does) and jsdiff's diffArrays only fills the small gaps
 * between anchors. jsdiff's formatPatch prints the result.
 */
import { diffArrays, FILE_HEADERS_ONLY, formatPatch, type StructuredPatchHunk } from "diff";

type Edit = [op: " " | "-" | "+", line: string];

/** Gaps up to this many lines (both sides) get a minimal diff; larger ones are replaced whole. */
const MYERS_LIMIT = 4000;

function lines(text: string): string[] {
  if (text === "") return [];
  const l = text.split("\n");
  if (l[l.length - 1] === "") l.pop();
  return l;
}

/** Indices of the longest increasing subsequence of `xs` (patience sorting). */
function lis(xs: readonly number[]): number[] {
  const tails: number[] = [];
  const prev = new Array<number>(xs.length);
  for (let i = 0; i < xs.length; i++) {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (xs[tails[mid]] < xs[i]) lo = mid + 1;
      else hi = mid;
    }
    prev[i] = lo > 0 ? tails[lo - 1] : -1;
    tails[lo] = i;
  }
  const out: number[] = [];
  for (let i = tails.length ? tails[tails.length - 1] : -1; i >= 0; i = prev[i]) out.push(i);
  return out.reverse();
}

function diffRange(
  a: string[],
  aLo: number,
  aHi: number,
  b: string[],
  bLo: number,
  bHi: number,
  out: Edit[],
): void {
  while (aLo < aHi && bLo < bHi && a[aLo] === b[bLo]) {
    out.push([" ", a[aLo++]]);
    bLo++;
  }
  let tail = 0;
  while (aHi - tail > aLo && bHi - tail > bLo && a[aHi - tail - 1] === b[bHi - tail - 1]) tail++;
  aHi -= tail;
  bHi -= tail;
  if (aLo < aHi && bLo < bHi) {
    const seenA = new Map<string, number>();
    for (let i = aLo; i < aHi; i++) seenA.set(a[i], seenA.has(a[i]) ? -1 : i);
    const seenB = new Map<string, number>();
    for (let j = bLo; j < bHi; j++) seenB.set(b[j], seenB.has(b[j]) ? -1 : j);
    const pairs: [number, number][] = [];
    for (let j = bLo; j < bHi; j++) {
      const i = seenA.get(b[j]);
      if (i !== undefined && i >= 0 && seenB.get(b[j]) === j) pairs.push([i, j]);
    }
    if (pairs.length) {
      let i0 = aLo;
      let j0 = bLo;
      for (const k of lis(pairs.map((p) => p[0]))) {
        const [i, j] = pairs[k];
        diffRange(a, i0, i, b, j0, j, out);
        out.push([" ", a[i]]);
        i0 = i + 1;
        j0 = j + 1;
      }
      diffRange(a, i0, aHi, b, j0, bHi, out);
    } else if (aHi - aLo + (bHi - bLo) <= MYERS_LIMIT) {
      for (const part of diffArrays(a.slice(aLo, aHi), b.slice(bLo, bHi)))
        for (const l of part.value) out.push([part.added ? "+" : part.removed ? "-" : " ", l]);
    } else {
      for (let i = aLo; i < aHi; i++) out.push(["-", a[i]]);
      for (let j = bLo; j < bHi; j++) out.push(["+", b[j]]);
    }
  } else {
    for (let i = aLo; i < aHi; i++) out.push(["-", a[i]]);
    for (let j = bLo; j < bHi; j++) out.push(["+", b[j]]);
  }
  for (let t = 0; t < tail; t++) out.push([" ", a[aHi + t]]);
}

/** Groups edits into hunks with `context` unchanged lines around each change. */
function hunks(edits: readonly Edit[], context: number): StructuredPatchHunk[] {
  const out: StructuredPatchHunk[] = [];
  let oldLine = 1;
  let newLine = 1;
  let i = 0;
  while (i < edits.length) {
    if (edits[i][0] === " ") {
      oldLine++;
      newLine++;
      i++;
      continue;
    }
    const pre = Math.min(context, countBack(edits, i));
    const hunk: StructuredPatchHunk = {
      oldStart: oldLine - pre,
      newStart: newLine - pre,
      oldLines: pre,
      newLines: pre,
      lines: edits.slice(i - pre, i).map(([, l]) => ` ${l}`),
    };
    // Extend while the next change is within 2 × context unchanged lines.
    while (i < edits.length) {
      const [op, l] = edits[i];
      if (op !== " ") {
        hunk.lines.push(op + l);
        if (op === "-") {
          hunk.oldLines++;
          oldLine++;
        } else {
          hunk.newLines++;
          newLine++;
        }
        i++;
        continue;
      }
      let run = 0;
      while (i + run < edits.length && edits[i + run][0] === " ") run++;
      const joins = i + run < edits.length && run <= 2 * context;
      const take = joins ? run : Math.min(run, context);
      for (let k = 0; k < take; k++) hunk.lines.push(` ${edits[i + k][1]}`);
      hunk.oldLines += take;
      hunk.newLines += take;
      oldLine += run;
      newLine += run;
      i += run;
      if (!joins) break;
    }
    out.push(hunk);
  }
  return out;
}

function countBack(edits: readonly Edit[], i: number): number {
  let n = 0;
  while (i - n - 1 >= 0 && edits[i - n - 1][0] === " ") n++;
  return n;
}

/**
 * A unified diff of two texts, or "" when they are equal.
 *
 * @example unifiedDiff("a\n", "b\n", "prom v1", "prom v2 (planned)")
 */
export function unifiedDiff(
  oldText: string,
  newText: string,
  oldName: string,
  newName: string,
  context = 3,
): string {
  if (oldText === newText) return "";
  const a = lines(oldText);
  const b = lines(newText);
  const edits: Edit[] = [];
  diffRange(a, 0, a.length, b, 0, b.length, edits);
  return formatPatch(
    {
      oldFileName: oldName,
      newFileName: newName,
      oldHeader: undefined,
      newHeader: undefined,
      hunks: hunks(edits, context),
    },
    FILE_HEADERS_ONLY,
  );
}
