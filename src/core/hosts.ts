// Host arguments of `cert create-node`: Go's net.ParseIP decides whether each one is an IP SAN or
// a DNS SAN (`addHostsToTemplate`), so we reproduce its grammar exactly (Go ≥1.22, where
// net.ParseIP delegates to net/netip). Everything else is kept verbatim as a DNS name, like
// upstream; the stricter DNS checks below are only for certgen's declarative spec.
import { domainToASCII } from 'node:url';

/**
 * Parses dotted-quad IPv4 text like netip's `parseIPv4Fields`: exactly four decimal fields,
 * each 0–255, no empty fields and no leading zeros (Go ≥1.17 rejects `010.1.1.1` because other
 * parsers read such octets as octal).
 */
function parseIPv4(s: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  let val = 0;
  let pos = 0;
  let digLen = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== undefined && c >= '0' && c <= '9') {
      if (digLen === 1 && val === 0) return undefined; // leading zero
      val = val * 10 + (c.charCodeAt(0) - 48);
      digLen++;
      if (val > 255) return undefined;
    } else if (c === '.') {
      // ".1.2.3", "1.2.3." and "1..2.3" all have an empty field.
      if (i === 0 || i === s.length - 1 || s[i - 1] === '.') return undefined;
      if (pos === 3) return undefined; // more than four fields
      out[pos++] = val;
      val = 0;
      digLen = 0;
    } else {
      return undefined;
    }
  }
  if (pos < 3) return undefined;
  out[3] = val;
  return out;
}

function hexValue(c: string | undefined): number {
  if (c === undefined) return -1;
  const code = c.charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
}

/** netip's `parseIPv6` without zone support (ParseIP rejects zones anyway). Returns 16 bytes. */
function parseIPv6(input: string): Uint8Array | undefined {
  const ip = new Uint8Array(16);
  let s = input;
  let ellipsis = -1; // byte offset in ip where "::" sits

  if (s.length >= 2 && s[0] === ':' && s[1] === ':') {
    ellipsis = 0;
    s = s.slice(2);
    if (s.length === 0) return ip; // "::"
  }

  let i = 0;
  while (i < 16) {
    let off = 0;
    let acc = 0;
    for (; off < s.length; off++) {
      const h = hexValue(s[off]);
      if (h < 0) break;
      if (off > 3) return undefined; // more than 4 hex digits in a group
      acc = acc * 16 + h;
    }
    if (off === 0) return undefined; // each group needs at least one digit

    // A '.' after the digits means the rest is an embedded IPv4 address (re-read as decimal).
    if (off < s.length && s[off] === '.') {
      // Without "::" it must replace exactly the last two groups.
      if (ellipsis < 0 && i !== 12) return undefined;
      if (i + 4 > 16) return undefined;
      const v4 = parseIPv4(s);
      if (v4 === undefined) return undefined;
      ip.set(v4, i);
      s = '';
      i += 4;
      break;
    }

    ip[i] = acc >> 8;
    ip[i + 1] = acc & 0xff;
    i += 2;

    s = s.slice(off);
    if (s.length === 0) break;
    if (s[0] !== ':' || s.length === 1) return undefined; // want colon followed by more
    s = s.slice(1);
    if (s[0] === ':') {
      if (ellipsis >= 0) return undefined; // multiple "::"
      ellipsis = i;
      s = s.slice(1);
      if (s.length === 0) break; // "::" may end the address
    }
  }

  if (s.length !== 0) return undefined; // trailing garbage (e.g. a ninth group)

  if (i < 16) {
    if (ellipsis < 0) return undefined; // too short
    // Slide the groups after "::" to the end and zero the gap.
    const n = 16 - i;
    for (let j = i - 1; j >= ellipsis; j--) ip[j + n] = ip[j] ?? 0;
    ip.fill(0, ellipsis, ellipsis + n);
  } else if (ellipsis >= 0) {
    return undefined; // "::" must stand for at least one zero group
  }
  return ip;
}

/** Go's `net.IP.To4`: the IPv4 bytes of an IPv4 or IPv4-mapped (`::ffff:a.b.c.d`) address. */
function to4(ip: Uint8Array): Uint8Array | undefined {
  if (ip.length === 4) return ip;
  if (ip.length !== 16) return undefined;
  for (let k = 0; k < 10; k++) if (ip[k] !== 0) return undefined;
  if (ip[10] !== 0xff || ip[11] !== 0xff) return undefined;
  return ip.slice(12, 16);
}

/**
 * Parses an IP address with Go's `net.ParseIP` grammar.
 *
 * Accepts dotted IPv4 (four decimal fields, no leading zeros) and every textual IPv6 form
 * (`::`, `::1`, upper/lower-case hex, up to 4 digits per group, an embedded IPv4 tail such as
 * `::ffff:1.2.3.4` or `64:ff9b::1.2.3.4`). Rejects brackets (`[::1]`), zones (`fe80::1%eth0`),
 * CIDR suffixes, ports and host names.
 *
 * @returns 4 bytes for IPv4 and IPv4-mapped IPv6 (Go's `To4`, which is how x509 encodes the SAN),
 *   16 bytes for other IPv6, or `undefined` when Go would return nil.
 */
export function parseIP(s: string): Uint8Array | undefined {
  // netip.ParseAddr dispatches on the first '.', ':' or '%'; a zone (anything after '%') makes
  // net.ParseIP fail, and '%' is never valid in IPv4, so any '%' means "not an IP".
  if (s.includes('%')) return undefined;
  for (const c of s) {
    if (c === '.') return parseIPv4(s);
    if (c === ':') {
      const ip = parseIPv6(s);
      return ip === undefined ? undefined : (to4(ip) ?? ip);
    }
  }
  return undefined;
}

/**
 * Formats an IP like Go's `net.IP.String`: 4-byte and IPv4-mapped 16-byte addresses as dotted
 * IPv4; other 16-byte addresses in RFC 5952 form (lower-case, leading zeros dropped, the first
 * longest run of two or more zero groups shortened to `::`). Like Go, an empty input gives
 * `<nil>` and any other length `?` followed by hex.
 */
export function formatIP(bytes: Uint8Array): string {
  if (bytes.length === 0) return '<nil>';
  if (bytes.length !== 4 && bytes.length !== 16) {
    return '?' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }
  const v4 = to4(bytes);
  if (v4 !== undefined) return Array.from(v4).join('.');

  const groups: number[] = [];
  for (let k = 0; k < 16; k += 2) groups.push(((bytes[k] ?? 0) << 8) | (bytes[k + 1] ?? 0));
  // Longest run of zero groups, at least 2 long; ties keep the first (strict '>').
  let zeroStart = -1;
  let zeroLen = 0;
  for (let k = 0; k < 8; k++) {
    let j = k;
    while (j < 8 && groups[j] === 0) j++;
    if (j - k >= 2 && j - k > zeroLen) {
      zeroStart = k;
      zeroLen = j - k;
    }
  }
  let out = '';
  for (let k = 0; k < 8; k++) {
    if (k === zeroStart) {
      out += '::';
      k += zeroLen - 1;
      continue;
    }
    if (k > 0 && !out.endsWith(':')) out += ':';
    out += (groups[k] ?? 0).toString(16);
  }
  return out;
}

/**
 * Splits host arguments the way `addHostsToTemplate` does: whatever {@link parseIP} accepts is an
 * IP SAN, everything else a DNS SAN kept verbatim (wildcards, `host:port`, anything). Argument
 * order is preserved within each list; nothing is de-duplicated.
 */
export function classifyHosts(hosts: string[]): { dns: string[]; ips: Uint8Array[] } {
  const dns: string[] = [];
  const ips: Uint8Array[] = [];
  for (const host of hosts) {
    const ip = parseIP(host);
    if (ip === undefined) dns.push(host);
    else ips.push(ip);
  }
  return { dns, ips };
}

/** Maximum length of a DNS name in text form (RFC 1035, without the trailing dot). */
const MAX_DNS_NAME = 253;
/** Maximum length of one DNS label (RFC 1035). */
const MAX_DNS_LABEL = 63;

/**
 * Stricter-than-upstream DNS name check for certgen's declarative spec (the `cockroach cert`
 * drop-in accepts anything, as upstream does).
 *
 * Allowed: labels of 1–63 ASCII letters, digits, `-` or `_` (underscore for service names such as
 * `_grpc`), not starting or ending with `-`; 253 characters overall; an optional single leading
 * `*.` wildcard label. Rejected besides: a trailing dot, and names made only of digits and dots
 * (those are malformed IPv4 addresses such as `10.0.0.300`, never meant as host names).
 *
 * @returns a human-readable reason when `s` is not a plausible DNS name, else `undefined`.
 */
export function checkDnsName(s: string): string | undefined {
  if (s === '') return 'DNS name is empty';
  if (s.length > MAX_DNS_NAME) return `DNS name is longer than ${MAX_DNS_NAME} characters`;
  if (/^[0-9.]+$/.test(s)) return 'DNS name consists only of digits and dots (not a valid IPv4 address)';
  const labels = s.split('.');
  for (let k = 0; k < labels.length; k++) {
    const label = labels[k] ?? '';
    if (label === '*' && k === 0 && labels.length > 1) continue; // "*.example.com"
    if (label === '') return 'DNS name has an empty label';
    if (label.length > MAX_DNS_LABEL) {
      return `DNS label ${JSON.stringify(label)} is longer than ${MAX_DNS_LABEL} characters`;
    }
    const bad = /[^A-Za-z0-9_-]/u.exec(label);
    if (bad !== null) {
      return bad[0] === '*'
        ? 'a wildcard "*" is only allowed as the whole first label'
        : `DNS label ${JSON.stringify(label)} contains ${JSON.stringify(bad[0])}; only ASCII letters, digits, "-" and "_" are allowed`;
    }
    if (label.startsWith('-') || label.endsWith('-')) {
      return `DNS label ${JSON.stringify(label)} starts or ends with a hyphen`;
    }
  }
  return undefined;
}

/**
 * Validates one host entry of the declarative spec: `undefined` if it is an IP address
 * ({@link parseIP}) or a DNS name ({@link checkDnsName}), else
 * `"<s>" is neither a valid IP address nor a DNS name`. Call {@link checkDnsName} for the detail.
 */
export function describeHostProblem(s: string): string | undefined {
  if (parseIP(s) !== undefined) return undefined;
  if (checkDnsName(s) === undefined) return undefined;
  // An internationalised name: a certificate holds DNS names as IA5Strings (ASCII), and CockroachDB
  // (Go's crypto/x509) refuses anything else, so name the A-label (punycode) form to write instead.
  if (/[^\x00-\x7f]/.test(s)) {
    const aLabel = domainToASCII(s);
    if (aLabel !== '' && checkDnsName(aLabel) === undefined) {
      return `${JSON.stringify(s)} has non-ASCII letters; a certificate can only hold a DNS name in its ASCII (A-label) form: write ${JSON.stringify(aLabel)}`;
    }
  }
  return `${JSON.stringify(s)} is neither a valid IP address nor a DNS name`;
}
