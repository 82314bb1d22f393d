// Go's net/url: url.Parse and URL.String, byte for byte. cockroach builds the tenant-scope URI SANs
// of `cert create-client` with url.Parse(fmt.Sprintf("crdb://tenant/%d/user/%s", id, user)) and
// crypto/x509 writes uri.String() into the certificate, so a user name is percent-encoded exactly
// as Go does it (non-ASCII bytes and spaces become %XX), `?` starts a query and `#` a fragment, and
// a malformed `%` escape makes the command fail with Go's text (`parse "…": invalid URL escape "%zz"`).
import { goQuote, utf8Bytes } from './go-quote.js';

type Mode = 'path' | 'host' | 'zone' | 'user' | 'query' | 'fragment';

type Bytes = Uint8Array;

const isAlnum = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
const isHex = (c: number | undefined): boolean => c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46));
const unhex = (c: number): number => (c <= 0x39 ? c - 0x30 : c <= 0x46 ? c - 0x41 + 10 : c - 0x61 + 10);
const has = (chars: string, c: number): boolean => chars.includes(String.fromCharCode(c));

/** url.shouldEscape. */
function shouldEscape(c: number, mode: Mode): boolean {
  if (isAlnum(c)) return false;
  if ((mode === 'host' || mode === 'zone') && has("!$&'()*+,;=:[]<>\"", c)) return false;
  if (has('-_.~', c)) return false;
  if (has('$&+,/:;=?@', c)) {
    switch (mode) {
      case 'path':
        return c === 0x3f; // only '?'
      case 'user':
        return c === 0x40 || c === 0x2f || c === 0x3f || c === 0x3a; // '@' '/' '?' ':'
      case 'query':
        return true;
      case 'fragment':
        return false;
      default:
        break;
    }
  }
  if (mode === 'fragment' && has('!()*', c)) return false;
  return true;
}

class UrlError extends Error {}

/** url.unescape: checks every `%XX` (and host characters) and decodes. */
function unescape(s: Bytes, mode: Mode): Bytes {
  let n = 0;
  for (let i = 0; i < s.length; ) {
    const c = s[i] as number;
    if (c === 0x25) {
      n++;
      if (i + 2 >= s.length || !isHex(s[i + 1]) || !isHex(s[i + 2])) {
        throw new UrlError(`invalid URL escape ${goQuote(s.subarray(i, i + 3))}`);
      }
      const esc = s.subarray(i, i + 3);
      const isPct25 = esc[1] === 0x32 && esc[2] === 0x35;
      if (mode === 'host' && unhex(s[i + 1] as number) < 8 && !isPct25) throw new UrlError(`invalid URL escape ${goQuote(esc)}`);
      if (mode === 'zone') {
        const v = (unhex(s[i + 1] as number) << 4) | unhex(s[i + 2] as number);
        if (!isPct25 && v !== 0x20 && shouldEscape(v, 'host')) throw new UrlError(`invalid URL escape ${goQuote(esc)}`);
      }
      i += 3;
    } else {
      if ((mode === 'host' || mode === 'zone') && c < 0x80 && shouldEscape(c, mode)) {
        throw new UrlError(`invalid character ${goQuote(s.subarray(i, i + 1))} in host name`);
      }
      i++;
    }
  }
  if (n === 0) return s;
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as number;
    if (c === 0x25) {
      out.push((unhex(s[i + 1] as number) << 4) | unhex(s[i + 2] as number));
      i += 2;
    } else if (c === 0x2b && mode === 'query') out.push(0x20);
    else out.push(c);
  }
  return Uint8Array.from(out);
}

const UPPER_HEX = '0123456789ABCDEF';

/** url.escape (never called with the query-component mode here, so no `+` for spaces). */
function escape(s: Bytes, mode: Mode): string {
  let out = '';
  for (const c of s) out += shouldEscape(c, mode) ? `%${UPPER_HEX[c >> 4]}${UPPER_HEX[c & 15]}` : String.fromCharCode(c);
  return out;
}

/** url.validEncoded. */
function validEncoded(s: Bytes, mode: Mode): boolean {
  for (const c of s) {
    if (has("!$&'()*+,;=:@[]%", c)) continue;
    if (shouldEscape(c, mode)) return false;
  }
  return true;
}

const eq = (a: Bytes, b: Bytes): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const ascii = (s: string): Bytes => utf8Bytes(s);
const indexOf = (s: Bytes, c: number, from = 0): number => s.indexOf(c, from);
const lastIndexOf = (s: Bytes, c: number): number => s.lastIndexOf(c);

interface GoUrl {
  scheme: string;
  opaque: Bytes;
  user?: { username: Bytes; password?: Bytes };
  host: Bytes;
  path: Bytes;
  rawPath: Bytes;
  omitHost: boolean;
  forceQuery: boolean;
  rawQuery: Bytes;
  fragment: Bytes;
  rawFragment: Bytes;
}

const validOptionalPort = (p: Bytes): boolean => p.length === 0 || (p[0] === 0x3a && p.subarray(1).every((c) => c >= 0x30 && c <= 0x39));

function parseHost(host: Bytes): Bytes {
  if (host[0] === 0x5b) {
    const i = lastIndexOf(host, 0x5d);
    if (i < 0) throw new UrlError("missing ']' in host");
    const colonPort = host.subarray(i + 1);
    if (!validOptionalPort(colonPort)) throw new UrlError(`invalid port ${goQuote(colonPort)} after host`);
    // RFC 6874: "%25" introduces a zone, which may %-encode more freely.
    let zone = -1;
    for (let k = 0; k + 2 < i; k++) {
      if (host[k] === 0x25 && host[k + 1] === 0x32 && host[k + 2] === 0x35) {
        zone = k;
        break;
      }
    }
    if (zone >= 0) {
      const h1 = unescape(host.subarray(0, zone), 'host');
      const h2 = unescape(host.subarray(zone, i), 'zone');
      const h3 = unescape(host.subarray(i), 'host');
      return Uint8Array.from([...h1, ...h2, ...h3]);
    }
  } else {
    const i = lastIndexOf(host, 0x3a);
    if (i !== -1) {
      const colonPort = host.subarray(i);
      if (!validOptionalPort(colonPort)) throw new UrlError(`invalid port ${goQuote(colonPort)} after host`);
    }
  }
  return unescape(host, 'host');
}

function validUserinfo(s: Bytes): boolean {
  return s.every((c) => isAlnum(c) || has("-._:~!$&'()*+,;=%@", c));
}

function parseAuthority(authority: Bytes): { user?: GoUrl['user']; host: Bytes } {
  const i = lastIndexOf(authority, 0x40);
  const host = parseHost(i < 0 ? authority : authority.subarray(i + 1));
  if (i < 0) return { host };
  const userinfo = authority.subarray(0, i);
  if (!validUserinfo(userinfo)) throw new UrlError('net/url: invalid userinfo');
  const colon = indexOf(userinfo, 0x3a);
  if (colon < 0) return { user: { username: unescape(userinfo, 'user') }, host };
  return { user: { username: unescape(userinfo.subarray(0, colon), 'user'), password: unescape(userinfo.subarray(colon + 1), 'user') }, host };
}

function getScheme(raw: Bytes): { scheme: Bytes; rest: Bytes } {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number;
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) continue;
    if ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e) {
      if (i === 0) return { scheme: new Uint8Array(), rest: raw };
      continue;
    }
    if (c === 0x3a) {
      if (i === 0) throw new UrlError('missing protocol scheme');
      return { scheme: raw.subarray(0, i), rest: raw.subarray(i + 1) };
    }
    return { scheme: new Uint8Array(), rest: raw };
  }
  return { scheme: new Uint8Array(), rest: raw };
}

function parse(raw: Bytes): GoUrl {
  if (raw.some((c) => c < 0x20 || c === 0x7f)) throw new UrlError('net/url: invalid control character in URL');
  const empty = new Uint8Array();
  const url: GoUrl = { scheme: '', opaque: empty, host: empty, path: empty, rawPath: empty, omitHost: false, forceQuery: false, rawQuery: empty, fragment: empty, rawFragment: empty };
  if (raw.length === 1 && raw[0] === 0x2a) {
    url.path = raw;
    return url;
  }
  const { scheme, rest: afterScheme } = getScheme(raw);
  url.scheme = new TextDecoder().decode(scheme).toLowerCase();
  let rest = afterScheme;
  const q = indexOf(rest, 0x3f);
  if (q === rest.length - 1 && q >= 0) {
    url.forceQuery = true;
    rest = rest.subarray(0, q);
  } else if (q >= 0) {
    url.rawQuery = rest.subarray(q + 1);
    rest = rest.subarray(0, q);
  }
  if (rest[0] !== 0x2f) {
    if (url.scheme !== '') {
      url.opaque = rest;
      return url;
    }
    const slash = indexOf(rest, 0x2f);
    const segment = slash < 0 ? rest : rest.subarray(0, slash);
    if (indexOf(segment, 0x3a) >= 0) throw new UrlError('first path segment in URL cannot contain colon');
  }
  const startsWith = (p: string): boolean => eq(rest.subarray(0, p.length), ascii(p));
  if ((url.scheme !== '' || !startsWith('///')) && startsWith('//')) {
    let authority = rest.subarray(2);
    rest = empty;
    const i = indexOf(authority, 0x2f);
    if (i >= 0) [authority, rest] = [authority.subarray(0, i), authority.subarray(i)];
    const a = parseAuthority(authority);
    url.host = a.host;
    if (a.user) url.user = a.user;
  } else if (url.scheme !== '' && rest[0] === 0x2f) {
    url.omitHost = true;
  }
  url.path = unescape(rest, 'path');
  url.rawPath = eq(rest, ascii(escape(url.path, 'path'))) ? empty : rest;
  return url;
}

function escapedPath(u: GoUrl): string {
  if (u.rawPath.length > 0 && validEncoded(u.rawPath, 'path')) {
    try {
      if (eq(unescape(u.rawPath, 'path'), u.path)) return new TextDecoder().decode(u.rawPath);
    } catch {
      // fall through to the default encoding
    }
  }
  if (u.path.length === 1 && u.path[0] === 0x2a) return '*';
  return escape(u.path, 'path');
}

function escapedFragment(u: GoUrl): string {
  if (u.rawFragment.length > 0 && validEncoded(u.rawFragment, 'fragment')) {
    try {
      if (eq(unescape(u.rawFragment, 'fragment'), u.fragment)) return new TextDecoder().decode(u.rawFragment);
    } catch {
      // fall through to the default encoding
    }
  }
  return escape(u.fragment, 'fragment');
}

/** URL.String. */
function toString(u: GoUrl): string {
  let buf = '';
  if (u.scheme !== '') buf += `${u.scheme}:`;
  if (u.opaque.length > 0) buf += new TextDecoder().decode(u.opaque);
  else {
    if (u.scheme !== '' || u.host.length > 0 || u.user) {
      if (!(u.omitHost && u.host.length === 0 && !u.user)) {
        if (u.host.length > 0 || u.path.length > 0 || u.user) buf += '//';
        if (u.user) buf += escape(u.user.username, 'user') + (u.user.password ? `:${escape(u.user.password, 'user')}` : '') + '@';
        if (u.host.length > 0) buf += escape(u.host, 'host');
      }
    }
    const p = escapedPath(u);
    if (p !== '' && p[0] !== '/' && u.host.length > 0) buf += '/';
    if (buf === '') {
      const seg = p.split('/')[0] ?? '';
      if (seg.includes(':')) buf += './';
    }
    buf += p;
  }
  if (u.forceQuery || u.rawQuery.length > 0) buf += `?${new TextDecoder().decode(u.rawQuery)}`;
  if (u.fragment.length > 0) buf += `#${escapedFragment(u)}`;
  return buf;
}

/**
 * `url.Parse(raw)` followed by `.String()`: the text crypto/x509 writes for a URI SAN, or the
 * `*url.Error` text Go returns (`parse "<url>": <reason>`).
 */
export function goUrlParseString(raw: string): { url: string } | { error: string } {
  const bytes = utf8Bytes(raw);
  const hash = indexOf(bytes, 0x23);
  const u = hash < 0 ? bytes : bytes.subarray(0, hash);
  let url: GoUrl;
  try {
    url = parse(u);
  } catch (err) {
    if (err instanceof UrlError) return { error: `parse ${goQuote(u)}: ${err.message}` };
    throw err;
  }
  if (hash >= 0) {
    const frag = bytes.subarray(hash + 1);
    try {
      url.fragment = unescape(frag, 'fragment');
    } catch (err) {
      if (err instanceof UrlError) return { error: `parse ${goQuote(bytes)}: ${err.message}` };
      throw err;
    }
    url.rawFragment = eq(frag, ascii(escape(url.fragment, 'fragment'))) ? new Uint8Array() : frag;
  }
  return { url: toString(url) };
}
