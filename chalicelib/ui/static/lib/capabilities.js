// "What can this token do here": sys/capabilities-self for the path being viewed.
import { el, fill } from "./el.js";

export function capabilityBadge(ctx, path) {
  const badge = el("p", { class: "caps", "data-path": path }, "Your token on ", el("code", {}, path), ": …");
  ctx.capabilities(path).then(
    (caps) => fill(badge, "Your token on ", el("code", {}, path), ": ", caps.map((c) => el("span", { class: `cap cap-${c}` }, c))),
    () => fill(badge, "Your token on ", el("code", {}, path), ": unknown"),
  );
  return badge;
}
