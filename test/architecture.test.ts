/**
 * The rooms of docs/architecture.md, checked from the code's own imports: a room imports only
 * rooms on a lower floor (siblings on one floor never import one another), and no file imports
 * itself back through others. Type-only imports count too.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = join(import.meta.dir, "..");

/** Top floor first. A room is a directory of src/ (or handlers/), or a file standing alone in src/. */
const FLOORS: string[][] = [
  ["entry"],
  ["cli"],
  ["app", "wire"],
  ["routes", "ops", "handlers"],
  ["jobs"],
  ["analysis", "notify", "sync", "scale"],
  ["qstash", "alerts", "services"],
  ["telemetry"],
  ["store"],
  ["config"],
  ["errors"],
  ["fetch-failure"],
  [
    "mask",
    "iso-time",
    "duration",
    "safe-equal",
    "version",
    "json-record",
    "within",
    "clip",
    "read-limited",
    "bidi",
    "normal-path",
  ],
  ["user-info"],
  ["ports", "base64"],
];

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

const FILES = [...filesUnder("src"), ...filesUnder("handlers")];
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"|import\("(\.[^"]+)"\)/g;

const importsOf = new Map(
  FILES.map((f) => {
    const text = readFileSync(join(ROOT, f), "utf8");
    const targets = [...text.matchAll(IMPORT)].map((m) => normalize(join(dirname(f), m[1] ?? m[2])));
    return [f, targets];
  }),
);

function roomOf(file: string): string {
  const parts = file.split("/");
  if (parts[0] === "handlers") return "handlers";
  return parts.length === 2 ? parts[1].replace(/\.ts$/, "") : parts[1];
}

const floorOf = new Map(FLOORS.flatMap((rooms, i) => rooms.map((r) => [r, i] as const)));

describe("architecture", () => {
  test("every file is in a room on a floor", () => {
    const homeless = [...new Set(FILES.map(roomOf))].filter((r) => !floorOf.has(r));
    expect(homeless).toEqual([]);
  });

  test("rooms import only rooms on lower floors", () => {
    const upward: string[] = [];
    for (const [file, targets] of importsOf) {
      const from = roomOf(file);
      for (const t of targets) {
        const to = roomOf(t);
        if (to === from) continue;
        if ((floorOf.get(to) ?? -1) <= (floorOf.get(from) ?? -1)) upward.push(`${file} → ${t}`);
      }
    }
    expect(upward).toEqual([]);
  });

  test("no import cycles between files", () => {
    // Tarjan's strongly connected components; any component of two or more files is a cycle.
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    let next = 0;
    const visit = (v: string) => {
      index.set(v, next);
      low.set(v, next++);
      stack.push(v);
      onStack.add(v);
      for (const w of importsOf.get(v) ?? []) {
        if (!importsOf.has(w)) continue;
        if (!index.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
      if (low.get(v) === index.get(v)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop() as string;
          onStack.delete(w);
          component.push(w);
        } while (w !== v);
        if (component.length > 1) cycles.push(component.sort());
      }
    };
    for (const f of FILES) if (!index.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
});
