// The one action button of every page: asks first when given a question, and shows a
// failure in the page's alert area.
import { el } from "./el.js";

export function actionButton(ctx, { label, cls = "", question = "" }, run) {
  return el("button", {
    type: "button",
    class: cls || undefined,
    onclick: async () => {
      if (question && !confirm(question)) return;
      try {
        await run();
      } catch (error) {
        ctx.showError(error);
      }
    },
  }, label);
}
