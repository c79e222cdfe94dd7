// A secret value, masked until revealed, with a copy button. Always text, never HTML.
import { el } from "./el.js";

const MASK = "••••••••";

export const asText = (value) => (typeof value === "string" ? value : JSON.stringify(value, null, 2));

export function maskedValue(value) {
  const text = asText(value);
  const shown = el("span", { class: "secret-value masked" }, MASK);
  let revealed = false;
  const reveal = el("button", {
    type: "button",
    class: "reveal",
    onclick: () => {
      revealed = !revealed;
      shown.textContent = revealed ? text : MASK;
      shown.classList.toggle("masked", !revealed);
      reveal.textContent = revealed ? "Hide" : "Reveal";
    },
  }, "Reveal");
  const copy = el("button", {
    type: "button",
    class: "copy",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(text);
        copy.textContent = "Copied";
      } catch {
        copy.textContent = "Copy failed";
      }
      setTimeout(() => { copy.textContent = "Copy"; }, 1500);
    },
  }, "Copy");
  return el("span", { class: "masked-value" }, shown, " ", reveal, copy);
}
