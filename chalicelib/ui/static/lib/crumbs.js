// Breadcrumbs of a slash-separated path: the root, each folder as a link, and a last part
// that is not a folder (a KV secret) as text.
import { el } from "./el.js";

export function pathCrumbs({ label, rootLabel, rootHref, folderHref }, path) {
  const parts = path.split("/").filter(Boolean);
  const trail = [el("a", { href: rootHref }, rootLabel)];
  parts.forEach((part, index) => {
    const last = index === parts.length - 1 && !path.endsWith("/");
    const prefix = parts.slice(0, index + 1).join("/") + "/";
    trail.push(last ? el("span", {}, part) : el("a", { href: folderHref(prefix) }, part + "/"));
  });
  return el("nav", { class: "crumbs", "aria-label": label }, trail);
}
