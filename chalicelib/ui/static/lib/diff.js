// Line diff (longest common subsequence) of two texts, for KV version comparison.
import { el } from "./el.js";

export function diffLines(before, after) {
  const a = before.split("\n");
  const b = after.split("\n");
  // lengths[i][j]: LCS length of a[i:] and b[j:]
  const lengths = Array.from({ length: a.length + 1 }, () => new Array(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i][j] = a[i] === b[j] ? lengths[i + 1][j + 1] + 1 : Math.max(lengths[i + 1][j], lengths[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) { out.push({ op: "same", line: a[i] }); i++; j++; }
    else if (lengths[i + 1][j] >= lengths[i][j + 1]) out.push({ op: "del", line: a[i++] });
    else out.push({ op: "add", line: b[j++] });
  }
  while (i < a.length) out.push({ op: "del", line: a[i++] });
  while (j < b.length) out.push({ op: "add", line: b[j++] });
  return out;
}

// Stable JSON (sorted keys) so a diff shows changed values, not reordered ones.
export function canonicalJson(value) {
  const sort = (v) => (v && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])]))
    : v);
  return JSON.stringify(sort(value), null, 2);
}

const SIGN = { same: "  ", add: "+ ", del: "- " };

export function renderDiff(before, after) {
  return el("div", { class: "diff" },
    diffLines(before, after).map(({ op, line }) => el("span", { class: op }, SIGN[op] + line)));
}
