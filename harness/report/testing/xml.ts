// A small XML well-formedness check for tests: one root, tags nested and closed, attributes quoted and
// unique, only the five predefined entities (or character references), no raw `<` or `&` in text.

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = "[A-Za-z_:][-A-Za-z0-9_.:]*";
const decode = (s: string) =>
  s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCodePoint(Number.parseInt(n, 16)))
    .replace(/&amp;/g, "&");

function checkText(text: string, where: string): void {
  if (text.includes("<")) throw new Error(`raw "<" in ${where}`);
  const bad = /&(?!(?:lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.exec(text);
  if (bad) throw new Error(`bare "&" in ${where}: ${text.slice(bad.index, bad.index + 12)}`);
}

/** Parses `xml` or throws with the reason; returns the root element. */
export function parseXml(xml: string): XmlElement {
  let rest = xml.replace(/^\uFEFF/, "");
  const decl = /^<\?xml[^?]*\?>\s*/.exec(rest);
  if (decl) rest = rest.slice(decl[0].length);
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const tag = new RegExp(`^<(/?)(${NAME})((?:\\s+${NAME}\\s*=\\s*(?:"[^"]*"|'[^']*'))*)\\s*(/?)>`);
  while (rest.length > 0) {
    const lt = rest.indexOf("<");
    const text = lt < 0 ? rest : rest.slice(0, lt);
    if (text.length > 0) {
      checkText(text, "text");
      const top = stack[stack.length - 1];
      if (top) top.text += decode(text);
      else if (text.trim() !== "")
        throw new Error(`text outside the root element: ${text.trim().slice(0, 20)}`);
    }
    if (lt < 0) break;
    rest = rest.slice(lt);
    if (rest.startsWith("<!--")) {
      const end = rest.indexOf("-->");
      if (end < 0) throw new Error("unterminated comment");
      rest = rest.slice(end + 3);
      continue;
    }
    const m = tag.exec(rest);
    if (!m) throw new Error(`malformed tag at: ${rest.slice(0, 40)}`);
    const [whole, closing, name, attrText, selfClosing] = m;
    rest = rest.slice(whole.length);
    if (closing) {
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`</${name}> closes <${open?.name ?? "nothing"}>`);
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const a of attrText!.matchAll(new RegExp(`(${NAME})\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, "g"))) {
      const value = a[2] ?? a[3] ?? "";
      checkText(value, `attribute ${a[1]}`);
      if (a[1]! in attributes) throw new Error(`attribute ${a[1]} repeated on <${name}>`);
      attributes[a[1]!] = decode(value);
    }
    const element: XmlElement = { name: name!, attributes, children: [], text: "" };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(element);
    else if (root) throw new Error(`second root element <${name}>`);
    else root = element;
    if (!selfClosing) stack.push(element);
  }
  if (stack.length > 0) throw new Error(`<${stack[stack.length - 1]!.name}> is not closed`);
  if (!root) throw new Error("no root element");
  return root;
}

/** Every element named `name` under `element`, depth first. */
export function findAll(element: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (e.name === name) out.push(e);
    for (const c of e.children) walk(c);
  };
  walk(element);
  return out;
}
