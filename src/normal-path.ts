/** A path without `.`, empty or `..` segments (`/a//b/./c` → `/a/b/c`), as a file system reads it, symlinks aside. */
export function normalPath(path: string): string {
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === ".." && out.length && out.at(-1) !== "..") out.pop();
    else out.push(seg);
  }
  return (path.startsWith("/") ? "/" : "") + out.join("/");
}
