// Go's net/url.Parse, as far as it can refuse a URI: what x509 does with a URI SAN. Returns the
// error text Go prints (`parse "…": …`), or the URL's host when it parses.

const quote = (s: string): string => JSON.stringify(s);
const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9A-Fa-f]$/.test(c);

type Mode = 'path' | 'host' | 'fragment' | 'user';

/** url.shouldEscape for a host (the only mode in which it refuses characters). */
function hostShouldEscape(c: string): boolean {
  if (/^[A-Za-z0-9]$/.test(c)) return false;
  return !"!$&'()*+,;=:[]<>\"-_.~".includes(c);
}

function unescape(s: string, mode: Mode): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '%') {
      if (i + 2 >= s.length || !isHex(s[i + 1]) || !isHex(s[i + 2])) return `invalid URL escape ${quote(s.slice(i, i + 3))}`;
      if (mode === 'host' && Number.parseInt(s[i + 1] as string, 16) < 8 && s.slice(i, i + 3) !== '%25') return `invalid URL escape ${quote(s.slice(i, i + 3))}`;
      i += 2;
    } else if (mode === 'host' && c.charCodeAt(0) < 0x80 && hostShouldEscape(c)) {
      return `invalid character ${quote(c)} in host name`;
    }
  }
  return undefined;
}

const validOptionalPort = (p: string): boolean => p === '' || /^:[0-9]*$/.test(p);

function parseHost(host: string): string | undefined {
  if (host.startsWith('[')) {
    const i = host.lastIndexOf(']');
    if (i < 0) return "missing ']' in host";
    const colonPort = host.slice(i + 1);
    if (!validOptionalPort(colonPort)) return `invalid port ${quote(colonPort)} after host`;
    return unescape(host.slice(0, i + 1), 'host');
  }
  const i = host.lastIndexOf(':');
  if (i !== -1) {
    const colonPort = host.slice(i);
    if (!validOptionalPort(colonPort)) return `invalid port ${quote(colonPort)} after host`;
  }
  return unescape(host, 'host');
}

function parseAuthority(authority: string): string | undefined {
  const at = authority.lastIndexOf('@');
  const err = parseHost(at < 0 ? authority : authority.slice(at + 1));
  if (err !== undefined || at < 0) return err;
  const userinfo = authority.slice(0, at);
  if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo)) return 'net/url: invalid userinfo';
  return unescape(userinfo, 'user');
}

/** The scheme and the rest (Go's getScheme), or an error. */
function getScheme(raw: string): { scheme: string; rest: string } | { error: string } {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return { scheme: '', rest: raw };
      continue;
    }
    if (c === ':') {
      if (i === 0) return { error: 'missing protocol scheme' };
      return { scheme: raw.slice(0, i), rest: raw.slice(i + 1) };
    }
    return { scheme: '', rest: raw };
  }
  return { scheme: '', rest: raw };
}

function parse(raw: string): { error: string } | { host: string } {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(raw)) return { error: 'net/url: invalid control character in URL' };
  if (raw === '' || raw === '*') return { host: '' };
  const s = getScheme(raw);
  if ('error' in s) return s;
  let rest = s.rest;
  if (rest.endsWith('?') && rest.split('?').length === 2) rest = rest.slice(0, -1);
  else rest = rest.split('?')[0] as string;
  if (!rest.startsWith('/')) {
    if (s.scheme !== '') return { host: '' }; // opaque
    if ((rest.split('/')[0] as string).includes(':')) return { error: 'first path segment in URL cannot contain colon' };
  }
  let host = '';
  if ((s.scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
    const after = rest.slice(2);
    const slash = after.indexOf('/');
    const authority = slash < 0 ? after : after.slice(0, slash);
    rest = slash < 0 ? '' : after.slice(slash);
    const err = parseAuthority(authority);
    if (err !== undefined) return { error: err };
    host = authority.slice(authority.lastIndexOf('@') + 1);
  }
  const err = unescape(rest, 'path');
  return err !== undefined ? { error: err } : { host };
}

/** url.Parse: `{ host }` or Go's `*url.Error` text. */
export function goParseUrl(rawURL: string): { host: string } | { error: string } {
  const hash = rawURL.indexOf('#');
  const u = hash < 0 ? rawURL : rawURL.slice(0, hash);
  const r = parse(u);
  if ('error' in r) return { error: `parse ${quote(u)}: ${r.error}` };
  if (hash >= 0) {
    const err = unescape(rawURL.slice(hash + 1), 'fragment');
    if (err !== undefined) return { error: `parse ${quote(rawURL)}: ${err}` };
  }
  // The host as url.URL.Host keeps it: unescaped, port included.
  return { host: decodeURIComponentSafe(r.host) };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** x509's domainToReverseLabels: non-empty labels of printable ASCII without a trailing dot. */
export function isGoDomain(domain: string): boolean {
  if (domain === '') return true;
  const labels = domain.split('.');
  return labels.every((l) => l.length > 0 && [...l].every((c) => c.charCodeAt(0) >= 33 && c.charCodeAt(0) <= 126));
}
