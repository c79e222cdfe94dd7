// el(tag, attrs, ...children): the one way pages build DOM. Text always goes through
// text nodes (textContent), never innerHTML, so a secret such as `<img onerror=…>` stays
// text. attrs: `class`, `on<event>` functions, booleans (true sets, false omits), strings.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "value") {
      node.value = String(value);
    } else if (name === "innerHTML" || name === "outerHTML") {
      throw new Error("el(): HTML is never set from data");
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

// Replace a node's children (the same rules as el()).
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}
