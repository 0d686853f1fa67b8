// A YAML reader for the subset our compose files are written in, so the compose test needs no
// YAML dependency (the Debian docker-compose, v1.29, cannot print JSON). Supported: block
// mappings and sequences by indentation (sequences may sit at their key's indent, as
// `docker-compose config` prints them), `- key: value` items, plain / 'single' / "double"
// quoted scalars, flow sequences of scalars ([a, "b"]), the empty flow mapping {}, comments,
// and an empty value as null.
// Plain scalars follow the YAML 1.2 core schema (true/false, null/~, integers, floats).
// Anything else (anchors, aliases, tags, block scalars, other flow mappings, several documents) is
// rejected with the line number rather than misread.

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

export class YamlSubsetError extends Error {
  override name = "YamlSubsetError";
}

interface Line {
  no: number;
  indent: number;
  text: string;
}

export function parseYamlSubset(source: string): YamlValue {
  const lines: Line[] = [];
  source.split(/\r?\n/).forEach((raw, i) => {
    if (raw.includes("\t") && /^\s*\t/.test(raw)) throw new YamlSubsetError(`line ${i + 1}: tabs are not allowed for indentation`);
    const text = stripComment(raw, i + 1).trimEnd();
    if (text.trim() === "") return;
    if (text === "---" || text === "...") {
      if (lines.length === 0 && text === "---") return;
      throw new YamlSubsetError(`line ${i + 1}: only one document is supported`);
    }
    const indent = text.length - text.trimStart().length;
    lines.push({ no: i + 1, indent, text: text.trimStart() });
  });
  if (lines.length === 0) return null;
  const p = new Parser(lines);
  const value = p.node(lines[0]!.indent);
  if (p.pos < lines.length) {
    const l = lines[p.pos]!;
    throw new YamlSubsetError(`line ${l.no}: unexpected indentation or content: ${l.text}`);
  }
  return value;
}

class Parser {
  pos = 0;
  constructor(private readonly lines: Line[]) {}

  private peek(): Line | undefined {
    return this.lines[this.pos];
  }

  node(indent: number): YamlValue {
    const l = this.peek()!;
    return isSeqItem(l.text) ? this.seq(indent) : this.map(indent);
  }

  private map(indent: number): { [key: string]: YamlValue } {
    const out: { [key: string]: YamlValue } = {};
    for (let l = this.peek(); l && l.indent === indent && !isSeqItem(l.text); l = this.peek()) {
      const sep = keySeparator(l.text);
      if (sep < 0) throw new YamlSubsetError(`line ${l.no}: expected "key: value", got: ${l.text}`);
      const key = scalarKey(l.text.slice(0, sep).trim(), l.no);
      if (Object.hasOwn(out, key)) throw new YamlSubsetError(`line ${l.no}: duplicate key "${key}"`);
      const rest = l.text.slice(sep + 1).trim();
      this.pos++;
      if (rest !== "") {
        out[key] = inlineValue(rest, l.no);
        continue;
      }
      const next = this.peek();
      if (next && (next.indent > indent || (next.indent === indent && isSeqItem(next.text)))) out[key] = this.node(next.indent);
      else out[key] = null;
    }
    const l = this.peek();
    if (l && l.indent > indent) throw new YamlSubsetError(`line ${l.no}: unexpected indentation: ${l.text}`);
    return out;
  }

  private seq(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    for (let l = this.peek(); l && l.indent === indent && isSeqItem(l.text); l = this.peek()) {
      const body = l.text.slice(1);
      const content = body.trimStart();
      if (content === "") {
        this.pos++;
        const next = this.peek();
        out.push(next && next.indent > indent ? this.node(next.indent) : null);
        continue;
      }
      // "- key: value" or "- - x": the item is a node that starts at the content's column.
      if (keySeparator(content) >= 0 || isSeqItem(content)) {
        const column = indent + 1 + (body.length - content.length);
        this.lines[this.pos] = { no: l.no, indent: column, text: content };
        out.push(this.node(column));
        continue;
      }
      this.pos++;
      out.push(inlineValue(content, l.no));
    }
    const l = this.peek();
    if (l && l.indent > indent) throw new YamlSubsetError(`line ${l.no}: unexpected indentation: ${l.text}`);
    return out;
  }
}

function isSeqItem(text: string): boolean {
  return text === "-" || text.startsWith("- ");
}

/** Index of the ':' that ends a mapping key (followed by a space or the end), or -1. */
function keySeparator(text: string): number {
  if (text.startsWith("[") || text.startsWith("{")) return -1;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) {
        if (quote === "'" && text[i + 1] === "'") i++;
        else quote = undefined;
      } else if (c === "\\" && quote === '"') i++;
      continue;
    }
    if ((c === '"' || c === "'") && i === 0) quote = c;
    else if (c === ":" && (i + 1 === text.length || text[i + 1] === " ")) return i;
  }
  return -1;
}

/** Removes a comment: '#' at the start or after whitespace, outside quotes. */
function stripComment(raw: string, no: number): string {
  let quote: string | undefined;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (quote) {
      if (c === quote) {
        if (quote === "'" && raw[i + 1] === "'") i++;
        else quote = undefined;
      } else if (c === "\\" && quote === '"') i++;
      continue;
    }
    // A quote opens a quoted scalar only where a scalar starts (after "key: ", "- ", "[", ",").
    if ((c === '"' || c === "'") && (i === 0 || /[\s,[]/.test(raw[i - 1]!))) quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(raw[i - 1]!))) return raw.slice(0, i);
  }
  if (quote) throw new YamlSubsetError(`line ${no}: unterminated ${quote === '"' ? "double" : "single"}-quoted string`);
  return raw;
}

function scalarKey(text: string, no: number): string {
  const v = text.startsWith('"') || text.startsWith("'") ? quoted(text, no) : plainCheck(text, no);
  return v;
}

function inlineValue(text: string, no: number): YamlValue {
  if (text.startsWith("[")) return flowSeq(text, no);
  if (/^\{\s*\}$/.test(text)) return {}; // the empty flow mapping, as `docker-compose config` writes an empty volume
  if (text.startsWith('"') || text.startsWith("'")) return quoted(text, no);
  return plain(plainCheck(text, no));
}

function plainCheck(text: string, no: number): string {
  const c = text[0];
  if (c === "&" || c === "*") throw new YamlSubsetError(`line ${no}: anchors and aliases are not supported: ${text}`);
  if (c === "!") throw new YamlSubsetError(`line ${no}: tags are not supported: ${text}`);
  if (c === "|" || c === ">") throw new YamlSubsetError(`line ${no}: block scalars are not supported: ${text}`);
  if (c === "{") throw new YamlSubsetError(`line ${no}: flow mappings are not supported: ${text}`);
  if (c === "@" || c === "`" || c === "%") throw new YamlSubsetError(`line ${no}: a plain scalar cannot start with ${c}`);
  if (text === "<<") throw new YamlSubsetError(`line ${no}: merge keys are not supported`);
  return text;
}

/** YAML 1.2 core schema for plain scalars. */
function plain(text: string): YamlValue {
  if (/^(null|Null|NULL|~)$/.test(text)) return null;
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  if (/^[-+]?[0-9]+$/.test(text)) return Number(text);
  if (/^0o[0-7]+$/.test(text)) return parseInt(text.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  return text;
}

/** A whole quoted scalar; nothing may follow the closing quote. */
function quoted(text: string, no: number): string {
  const { value, end } = readQuoted(text, 0, no);
  if (text.slice(end).trim() !== "") throw new YamlSubsetError(`line ${no}: unexpected text after quoted string: ${text}`);
  return value;
}

const ESCAPES: Record<string, string> = { "0": "\0", a: "\x07", b: "\b", t: "\t", n: "\n", v: "\v", f: "\f", r: "\r", e: "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", N: "\u0085", _: "\u00a0" };

function readQuoted(text: string, start: number, no: number): { value: string; end: number } {
  const q = text[start]!;
  let out = "";
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!;
    if (q === "'") {
      if (c === "'") {
        if (text[i + 1] === "'") {
          out += "'";
          i++;
          continue;
        }
        return { value: out, end: i + 1 };
      }
      out += c;
      continue;
    }
    if (c === '"') return { value: out, end: i + 1 };
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = text[++i];
    if (e === undefined) break;
    if (e === "x" || e === "u" || e === "U") {
      const len = e === "x" ? 2 : e === "u" ? 4 : 8;
      const hex = text.slice(i + 1, i + 1 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) throw new YamlSubsetError(`line ${no}: bad escape \\${e}${hex}`);
      out += String.fromCodePoint(parseInt(hex, 16));
      i += len;
      continue;
    }
    const r = ESCAPES[e];
    if (r === undefined) throw new YamlSubsetError(`line ${no}: unknown escape \\${e}`);
    out += r;
  }
  throw new YamlSubsetError(`line ${no}: unterminated quoted string: ${text}`);
}

/** [a, "b", 'c'] with scalar items only. */
function flowSeq(text: string, no: number): YamlValue[] {
  const out: YamlValue[] = [];
  let i = 1;
  const skipSpace = () => {
    while (text[i] === " ") i++;
  };
  skipSpace();
  if (text[i] === "]") {
    if (text.slice(i + 1).trim() !== "") throw new YamlSubsetError(`line ${no}: unexpected text after ]: ${text}`);
    return out;
  }
  for (;;) {
    skipSpace();
    const c = text[i];
    if (c === undefined) throw new YamlSubsetError(`line ${no}: unterminated flow sequence (multi-line flow sequences are not supported): ${text}`);
    if (c === "[" || c === "{") throw new YamlSubsetError(`line ${no}: nested flow collections are not supported: ${text}`);
    if (c === '"' || c === "'") {
      const { value, end } = readQuoted(text, i, no);
      out.push(value);
      i = end;
    } else {
      let j = i;
      while (j < text.length && text[j] !== "," && text[j] !== "]") j++;
      const item = text.slice(i, j).trim();
      if (item === "") throw new YamlSubsetError(`line ${no}: empty item in flow sequence: ${text}`);
      if (keySeparator(item) >= 0) throw new YamlSubsetError(`line ${no}: mappings inside flow sequences are not supported: ${text}`);
      out.push(plain(plainCheck(item, no)));
      i = j;
    }
    skipSpace();
    if (text[i] === ",") {
      i++;
      continue;
    }
    if (text[i] === "]") {
      if (text.slice(i + 1).trim() !== "") throw new YamlSubsetError(`line ${no}: unexpected text after ]: ${text}`);
      return out;
    }
    throw new YamlSubsetError(`line ${no}: expected , or ] in flow sequence: ${text}`);
  }
}
