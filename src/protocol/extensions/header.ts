// Sec-WebSocket-Extensions values (RFC 6455 §9.1): `name; param; param=value, name2`.
// Parsed by hand in one pass (linear time); quoted values are unquoted.

export interface ExtensionOffer {
  name: string;
  /** Parameters in order, so duplicates stay visible to the negotiation. */
  params: [string, string | true][];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Parses header values into offers; a malformed element throws SyntaxError. */
export function parseExtensions(values: string[]): ExtensionOffer[] {
  const out: ExtensionOffer[] = [];
  for (const value of values) {
    for (const element of splitOutsideQuotes(value, ",")) {
      const parts = splitOutsideQuotes(element, ";").map((p) => p.trim());
      const name = parts[0]!;
      if (!name) {
        if (parts.length === 1) continue; // empty list element
        throw new SyntaxError("extension without a name");
      }
      if (!TOKEN.test(name)) throw new SyntaxError(`invalid extension name ${JSON.stringify(name)}`);
      const params: [string, string | true][] = [];
      for (const p of parts.slice(1)) {
        const eq = p.indexOf("=");
        const key = (eq < 0 ? p : p.slice(0, eq)).trim();
        if (!TOKEN.test(key)) throw new SyntaxError(`invalid extension parameter ${JSON.stringify(key)}`);
        if (eq < 0) {
          params.push([key, true]);
          continue;
        }
        let v = p.slice(eq + 1).trim();
        if (v.startsWith('"')) {
          if (v.length < 2 || !v.endsWith('"')) throw new SyntaxError("unterminated quoted value");
          v = v.slice(1, -1);
        }
        if (!TOKEN.test(v)) throw new SyntaxError(`invalid value for ${key}`);
        params.push([key, v]);
      }
      out.push({ name, params });
    }
  }
  return out;
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"') quoted = !quoted;
    else if (c === sep && !quoted) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

export function formatExtension(name: string, params: [string, string | true][]): string {
  return [name, ...params.map(([k, v]) => (v === true ? k : `${k}=${v}`))].join("; ");
}
