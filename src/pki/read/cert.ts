// The one certificate reader. It accepts exactly what Go's x509.ParseCertificate accepts (the
// parser CockroachDB loads its certificates with), refuses the rest with Go's own message, and
// reads every fact any command needs in the same pass, straight from the DER: `plan` reads
// thousands of files, and a full ASN.1 object tree per file was most of its time.
//
// The checks follow crypto/x509/parser.go (Go 1.19, as Debian ships it) step by step, in its
// order, so that the first problem found is the one Go names.
import { createHash, createPublicKey } from 'node:crypto';
import { bitStringBytes, booleanValue, Cursor, integerValue, isMinimalInteger, oidText, readTlv, unsignedInteger, value, type Tlv } from './der.js';
import { CURVES, NAME_SHORT, OID, SIGNATURES } from './oids.js';
import { goParseUrl, isGoDomain } from './go-url.js';
import { formatIP } from '../../core/hosts.js';
import { CertReadError, type CertFacts, type CertReadCode, type NameFacts, type PublicKeyFacts, type SanFacts } from './types.js';

export { CertReadError, type CertFacts } from './types.js';

const T = { BOOLEAN: 0x01, INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, NULL: 0x05, OID: 0x06, SEQUENCE: 0x30, SET: 0x31, UTCTime: 0x17, GeneralizedTime: 0x18 } as const;

function fail(code: CertReadCode, message: string): never {
  throw new CertReadError(code, message);
}

function need<T>(v: T | undefined, code: CertReadCode, message: string): T {
  if (v === undefined) fail(code, message);
  return v;
}

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const allAscii = (b: Uint8Array): boolean => b.every((c) => c < 0x80);

// --- names ---------------------------------------------------------------------------------------

/** How a Name's text is made for a name the fast path does not print (set by the module that loads @peculiar/x509). */
let nameFormatter: ((der: Uint8Array) => string) | undefined;
export function setNameFormatter(f: (der: Uint8Array) => string): void {
  nameFormatter = f;
}

function isPrintableByte(b: number): boolean {
  return (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || (b >= 0x27 && b <= 0x29) || (b >= 0x2b && b <= 0x2f) || b === 0x20 || b === 0x3a || b === 0x3d || b === 0x3f || b === 0x2a || b === 0x26;
}

/** Go's parseASN1String: the string, or the reason it is refused. */
function asn1String(tag: number, v: Uint8Array): string | { error: string } {
  switch (tag) {
    case 0x14: // T61String
      return latin1(v);
    case 0x13:
      return v.every(isPrintableByte) ? latin1(v) : { error: 'invalid PrintableString' };
    case 0x0c: {
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(v);
      } catch {
        return { error: 'invalid UTF-8 string' };
      }
    }
    case 0x1e: {
      if (v.length % 2 !== 0) return { error: 'invalid BMPString' };
      let end = v.length;
      if (end >= 2 && v[end - 1] === 0 && v[end - 2] === 0) end -= 2;
      let s = '';
      for (let i = 0; i < end; i += 2) s += String.fromCharCode(((v[i] as number) << 8) | (v[i + 1] as number));
      return s;
    }
    case 0x16:
      return allAscii(v) ? latin1(v) : { error: 'invalid IA5String' };
    case 0x12:
      return v.every((b) => (b >= 0x30 && b <= 0x39) || b === 0x20) ? latin1(v) : { error: 'invalid NumericString' };
    default:
      return { error: `unsupported string type: ${tag}` };
  }
}

/** @peculiar/x509's escaping of a name value. */
function escapeValue(v: string): string {
  return v
    .replace(/([,+"\\<>;])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/([ ]$)/, '\\$1');
}

/** Go's parseName over the Name element `t`; with the text and OpenSSL's canonical form for simple names. */
function readName(der: Uint8Array, t: Tlv): NameFacts {
  const c = Cursor.of(der, t);
  const parts: string[] = [];
  const canon: string[] = [];
  let simple = true;
  let cn: string | undefined;
  let o: string | undefined;
  while (!c.empty()) {
    const set = need(c.read(T.SET), 'bad-name', 'x509: invalid RDNSequence');
    const sc = Cursor.of(der, set);
    let count = 0;
    while (!sc.empty()) {
      const atv = need(sc.read(T.SEQUENCE), 'bad-name', 'x509: invalid RDNSequence: invalid attribute');
      const ac = Cursor.of(der, atv);
      const typeTlv = ac.read(T.OID);
      const type = typeTlv ? oidText(value(der, typeTlv)) : undefined;
      if (type === undefined) fail('bad-name', 'x509: invalid RDNSequence: invalid attribute type');
      const val = need(ac.next(), 'bad-name', 'x509: invalid RDNSequence: invalid attribute value');
      const raw = value(der, val);
      const s = asn1String(val.tag, raw);
      if (typeof s !== 'string') fail('bad-name', `x509: invalid RDNSequence: invalid attribute value: ${s.error}`);
      count++;
      if (type === OID.commonName && cn === undefined) cn = s;
      if (type === OID.organization && o === undefined) o = s;
      // The fast text: one known attribute per RDN, a Printable/UTF8 string of printable ASCII.
      const short = NAME_SHORT[type];
      if (short === undefined || (val.tag !== 0x13 && val.tag !== 0x0c) || raw.length === 0 || !raw.every((b) => b >= 0x20 && b <= 0x7e)) simple = false;
      parts.push(`${short ?? type}=${escapeValue(s)}`);
      canon.push(`${type}\u0000${s.trim().replace(/ +/g, ' ').toLowerCase()}`);
    }
    if (count !== 1) simple = false;
  }
  const nameDer = der.subarray(t.pos, t.end);
  const text = simple ? parts.join(', ') : undefined;
  return {
    der: nameDer,
    get text(): string {
      return text ?? nameFormatter?.(nameDer) ?? parts.join(', ');
    },
    canon: simple ? canon : [],
    cn,
    o,
  };
}

/** Whether a name's canonical form can be compared directly (simple names, and the empty name). */
export function hasCanonicalForm(n: NameFacts): boolean {
  return n.canon.length > 0 || n.der.length === 2;
}

// --- times ---------------------------------------------------------------------------------------

const daysIn = (y: number, m: number): number => new Date(Date.UTC(y, m, 0)).getUTCDate();

/**
 * A time as Go's time.Parse + Format round trip accepts it (cryptobyte's rule); undefined when
 * refused. Go 1.19's GeneralizedTime layout has no fraction, so a fractional second is refused.
 */
function parseGoTime(s: string, generalized: boolean): Date | undefined {
  const re = generalized ? /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)()(Z|[+-]\d{4})$/ : /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?(Z|[+-]\d{4})$/;
  const m = re.exec(s);
  if (!m) return undefined;
  let year = Number(m[1]);
  if (!generalized) year += year >= 69 ? 1900 : 2000;
  const [month, day, hour, min] = [m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number];
  const sec = m[6] === undefined ? 0 : Number(m[6]);
  const frac = generalized && m[7] ? m[7] : undefined;
  const zone = (generalized ? m[8] : m[7]) as string;
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || min > 59 || sec > 59) return undefined;
  // Format prints a zero offset as Z and a fraction without trailing zeros: anything else does not round-trip.
  if (zone !== 'Z' && /^[+-]0000$/.test(zone)) return undefined;
  if (zone !== 'Z' && (Number(zone.slice(3, 5)) > 59 || Number(zone.slice(1, 3)) > 99)) return undefined;
  if (frac !== undefined && frac.endsWith('0')) return undefined;
  let ms = Date.UTC(year, month - 1, day, hour, min, sec);
  if (year < 100) ms = new Date(ms).setUTCFullYear(year);
  if (frac !== undefined) ms += Number(`0${frac}`) * 1000;
  if (zone !== 'Z') ms -= (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5))) * 60_000;
  if (!generalized && year >= 2050) ms = new Date(ms).setUTCFullYear(new Date(ms).getUTCFullYear() - 100);
  return new Date(ms);
}

function readTime(der: Uint8Array, c: Cursor): Date {
  const tag = c.peekTag();
  if (tag === T.UTCTime || tag === T.GeneralizedTime) {
    const generalized = tag === T.GeneralizedTime;
    const t = c.next();
    const d = t ? parseGoTime(latin1(value(der, t)), generalized) : undefined;
    return need(d, 'bad-time', generalized ? 'x509: malformed GeneralizedTime' : 'x509: malformed UTCTime');
  }
  fail('bad-time', 'x509: unsupported time format');
}

// --- algorithm identifiers and keys ----------------------------------------------------------------

interface AlgorithmId {
  oid: string;
  /** The parameters' whole encoding (empty when absent). */
  params: Uint8Array;
}

function readAlgorithm(der: Uint8Array, t: Tlv): AlgorithmId {
  const c = Cursor.of(der, t);
  const o = c.read(T.OID);
  const oid = o ? oidText(value(der, o)) : undefined;
  if (oid === undefined) fail('malformed', 'x509: malformed OID');
  if (c.empty()) return { oid, params: new Uint8Array(0) };
  const p = need(c.next(), 'malformed', 'x509: malformed parameters');
  return { oid, params: der.subarray(p.pos, p.end) };
}

/** BitString.RightAlign. */
function rightAlign(bits: Uint8Array, padding: number): Uint8Array {
  if (padding === 0 || bits.length === 0) return bits;
  const out = new Uint8Array(bits.length);
  for (let i = bits.length - 1, carry = 0; i >= 0; i--) {
    const b = bits[i] as number;
    out[i] = ((b >> padding) | (carry << (8 - padding))) & 0xff;
    carry = b;
  }
  return out;
}

function bitLength(n: Uint8Array): number {
  return n.length === 0 ? 0 : (n.length - 1) * 8 + (32 - Math.clz32(n[0] ?? 0));
}

function readPublicKey(alg: AlgorithmId, key: Uint8Array, spki: Uint8Array): PublicKeyFacts {
  switch (alg.oid) {
    case OID.rsaEncryption: {
      if (!(alg.params.length === 2 && alg.params[0] === 0x05 && alg.params[1] === 0x00)) fail('bad-public-key', 'x509: RSA key missing NULL parameters');
      let seq: Tlv;
      try {
        seq = readTlv(key, 0);
      } catch {
        fail('bad-public-key', 'x509: invalid RSA public key');
      }
      if (seq.tag !== T.SEQUENCE) fail('bad-public-key', 'x509: invalid RSA public key');
      const c = Cursor.of(key, seq);
      const n = c.read(T.INTEGER);
      if (!n || !isMinimalInteger(value(key, n))) fail('bad-public-key', 'x509: invalid RSA modulus');
      const e = c.read(T.INTEGER);
      // Go reads E into an int: at most 8 bytes.
      if (!e || !isMinimalInteger(value(key, e)) || e.end - e.start > 8) fail('bad-public-key', 'x509: invalid RSA public exponent');
      const nv = value(key, n);
      const ev = value(key, e);
      if (((nv[0] as number) & 0x80) !== 0 || integerValue(nv) === 0n) fail('bad-public-key', 'x509: RSA modulus is not a positive number');
      if (integerValue(ev) <= 0n) fail('bad-public-key', 'x509: RSA public exponent is not a positive number');
      const modulus = unsignedInteger(nv);
      return { type: 'rsa', spki, rsaModulus: modulus, rsaExponent: unsignedInteger(ev), bits: bitLength(modulus) };
    }
    case OID.ecPublicKey: {
      let curveOid: string | undefined;
      try {
        const p = readTlv(alg.params, 0);
        curveOid = p.tag === T.OID ? oidText(value(alg.params, p)) : undefined;
      } catch {
        curveOid = undefined;
      }
      if (curveOid === undefined) fail('bad-public-key', 'x509: invalid ECDSA parameters');
      const curve = CURVES[curveOid];
      if (!curve) fail('bad-public-key', 'x509: unsupported elliptic curve');
      // elliptic.Unmarshal: an uncompressed point on the curve.
      let onCurve = key.length === 1 + 2 * curve.bytes && key[0] === 4;
      if (onCurve) {
        try {
          createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
        } catch {
          onCurve = false;
        }
      }
      if (!onCurve) fail('bad-public-key', 'x509: failed to unmarshal elliptic curve point');
      return { type: 'ec', spki, curve: curve.name, bits: Number(curve.name.slice(2)) };
    }
    case OID.ed25519:
      if (alg.params.length !== 0) fail('bad-public-key', 'x509: Ed25519 key encoded with illegal parameters');
      if (key.length !== 32) fail('bad-public-key', 'x509: wrong Ed25519 public key size');
      return { type: 'ed25519', spki };
    case OID.dsa: {
      const y = safeTlv(key, 0);
      if (!y || y.tag !== T.INTEGER || !isMinimalInteger(value(key, y))) fail('bad-public-key', 'x509: invalid DSA public key');
      const ps = safeTlv(alg.params, 0);
      const ints = ps && ps.tag === T.SEQUENCE ? (() => { const c = Cursor.of(alg.params, ps); return [c.read(T.INTEGER), c.read(T.INTEGER), c.read(T.INTEGER)]; })() : [];
      if (ints.length !== 3 || ints.some((i) => !i || !isMinimalInteger(value(alg.params, i)))) fail('bad-public-key', 'x509: invalid DSA parameters');
      if ([value(key, y), ...ints.map((i) => value(alg.params, i as Tlv))].some((v) => integerValue(v) <= 0n)) fail('bad-public-key', 'x509: zero or negative DSA parameter');
      return { type: 'dsa', spki };
    }
    default:
      // An algorithm Go does not know: parsed, with no usable key.
      return { type: alg.oid, spki };
  }
}

function safeTlv(buf: Uint8Array, pos: number): Tlv | undefined {
  try {
    return readTlv(buf, pos);
  } catch {
    return undefined;
  }
}

// --- extensions ----------------------------------------------------------------------------------

type ExtensionFacts = Pick<CertFacts, 'san' | 'keyUsage' | 'extKeyUsage' | 'basicConstraints' | 'subjectKeyId' | 'authorityKeyId' | 'unhandledCritical'>;

/** The single element of an extension's value that Go reads with ReadASN1(tag); undefined when absent or another tag. */
function inner(v: Uint8Array, tag: number): Tlv | undefined {
  const t = safeTlv(v, 0);
  return t && t.tag === tag ? t : undefined;
}

function readSan(v: Uint8Array, out: SanFacts): void {
  const seq = need(inner(v, T.SEQUENCE), 'bad-san', 'x509: invalid subject alternative names');
  const c = Cursor.of(v, seq);
  while (!c.empty()) {
    const gn = need(c.next(), 'bad-san', 'x509: invalid subject alternative name');
    const data = value(v, gn);
    switch (gn.tag ^ 0x80) {
      case 1:
        if (!allAscii(data)) fail('bad-san', 'x509: SAN rfc822Name is malformed');
        out.emails.push(latin1(data));
        break;
      case 2:
        if (!allAscii(data)) fail('bad-san', 'x509: SAN dNSName is malformed');
        out.dns.push(latin1(data));
        break;
      case 6: {
        if (!allAscii(data)) fail('bad-san', 'x509: SAN uniformResourceIdentifier is malformed');
        const uri = latin1(data);
        const parsed = goParseUrl(uri);
        if ('error' in parsed) fail('bad-san', `x509: cannot parse URI ${JSON.stringify(uri)}: ${parsed.error}`);
        if (parsed.host.length > 0 && !isGoDomain(parsed.host)) fail('bad-san', `x509: cannot parse URI ${JSON.stringify(uri)}: invalid domain`);
        out.uris.push(goUrlString(uri));
        break;
      }
      case 7:
        if (data.length !== 4 && data.length !== 16) fail('bad-san', `x509: cannot parse IP address of length ${data.length}`);
        out.ips.push(formatIP(data));
        break;
      default:
        out.other.push(`tag${gn.tag & 0x1f}`);
    }
  }
}

function readOidList(v: Uint8Array, message: string): string[] {
  const seq = need(inner(v, T.SEQUENCE), 'bad-extension', message);
  const c = Cursor.of(v, seq);
  const out: string[] = [];
  while (!c.empty()) {
    const t = c.read(T.OID);
    const oid = t ? oidText(value(v, t)) : undefined;
    out.push(need(oid, 'bad-extension', message));
  }
  return out;
}

/** Go's processExtensions: each extension it knows, checked as it checks it. */
function readExtensions(exts: { oid: string; critical: boolean; value: Uint8Array }[]): ExtensionFacts {
  const out: ExtensionFacts = { san: { dns: [], ips: [], emails: [], uris: [], other: [] }, keyUsage: undefined, extKeyUsage: undefined, basicConstraints: undefined, subjectKeyId: undefined, authorityKeyId: undefined, unhandledCritical: [] };
  for (const e of exts) {
    const v = e.value;
    let unhandled = false;
    const m = /^2\.5\.29\.(\d+)$/.exec(e.oid);
    if (m) {
      switch (Number(m[1])) {
        case 15: {
          const t = inner(v, T.BIT_STRING);
          const bits = t ? bitStringBytes(value(v, t)) : undefined;
          if (!bits) fail('bad-extension', 'x509: invalid key usage');
          let usage = 0;
          for (let i = 0; i < 9; i++) if (((bits[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) usage |= 1 << i;
          out.keyUsage = usage;
          break;
        }
        case 19: {
          const seq = need(inner(v, T.SEQUENCE), 'bad-extension', 'x509: invalid basic constraints a');
          const c = Cursor.of(v, seq);
          let ca = false;
          if (c.peekTag() === T.BOOLEAN) {
            const b = c.next();
            const bv = b ? booleanValue(value(v, b)) : undefined;
            ca = need(bv, 'bad-extension', 'x509: invalid basic constraints b');
          }
          let pathLen: number | undefined;
          if (!c.empty() && c.peekTag() === T.INTEGER) {
            const i = c.next();
            if (!i || !isMinimalInteger(value(v, i)) || i.end - i.start > 8) fail('bad-extension', 'x509: invalid basic constraints c');
            pathLen = Number(integerValue(value(v, i)));
          }
          out.basicConstraints = { ca, pathLen };
          break;
        }
        case 17: {
          const before = out.san.dns.length + out.san.ips.length + out.san.emails.length + out.san.uris.length;
          readSan(v, out.san);
          if (out.san.dns.length + out.san.ips.length + out.san.emails.length + out.san.uris.length === before) unhandled = true;
          break;
        }
        case 30:
          unhandled = readNameConstraints(v);
          break;
        case 31: {
          const seq = need(inner(v, T.SEQUENCE), 'bad-extension', 'x509: invalid CRL distribution points');
          const c = Cursor.of(v, seq);
          while (!c.empty()) need(c.read(T.SEQUENCE), 'bad-extension', 'x509: invalid CRL distribution point');
          break;
        }
        case 35: {
          const seq = need(inner(v, T.SEQUENCE), 'bad-extension', 'x509: invalid authority key identifier');
          const c = Cursor.of(v, seq);
          if (c.peekTag() === 0x80) out.authorityKeyId = value(v, need(c.next(), 'bad-extension', 'x509: invalid authority key identifier'));
          break;
        }
        case 37:
          out.extKeyUsage = readOidList(v, 'x509: invalid extended key usages');
          break;
        case 14:
          out.subjectKeyId = value(v, need(inner(v, T.OCTET_STRING), 'bad-extension', 'x509: invalid subject key identifier'));
          break;
        case 32: {
          const seq = need(inner(v, T.SEQUENCE), 'bad-extension', 'x509: invalid certificate policies');
          const c = Cursor.of(v, seq);
          while (!c.empty()) {
            const p = need(c.read(T.SEQUENCE), 'bad-extension', 'x509: invalid certificate policies');
            const o = Cursor.of(v, p).read(T.OID);
            need(o ? oidText(value(v, o)) : undefined, 'bad-extension', 'x509: invalid certificate policies');
          }
          break;
        }
        default:
          unhandled = true;
      }
    } else if (e.oid === OID.authorityInfoAccess) {
      const seq = need(inner(v, T.SEQUENCE), 'bad-extension', 'x509: invalid authority info access');
      const c = Cursor.of(v, seq);
      while (!c.empty()) {
        const a = need(c.read(T.SEQUENCE), 'bad-extension', 'x509: invalid authority info access');
        const ac = Cursor.of(v, a);
        const o = ac.read(T.OID);
        need(o ? oidText(value(v, o)) : undefined, 'bad-extension', 'x509: invalid authority info access');
        if (ac.peekTag() === 0x86) need(ac.next(), 'bad-extension', 'x509: invalid authority info access');
      }
    } else {
      unhandled = true;
    }
    if (e.critical && unhandled) out.unhandledCritical.push(e.oid);
  }
  return out;
}

/** Go's parseNameConstraintsExtension, as far as its structure goes; returns whether it is unhandled. */
function readNameConstraints(v: Uint8Array): boolean {
  const top = safeTlv(v, 0);
  if (!top || top.tag !== T.SEQUENCE || top.end !== v.length) fail('bad-extension', 'x509: invalid NameConstraints extension');
  const c = Cursor.of(v, top);
  const permitted = c.peekTag() === 0xa0 ? c.next() : undefined;
  const excluded = c.peekTag() === 0xa1 ? c.next() : undefined;
  if (!c.empty()) fail('bad-extension', 'x509: invalid NameConstraints extension');
  const len = (t: Tlv | undefined): number => (t ? t.end - t.start : 0);
  let unhandled = false;
  if ((!permitted && !excluded) || (len(permitted) === 0 && len(excluded) === 0)) fail('bad-extension', 'x509: empty name constraints extension');
  for (const sub of [permitted, excluded]) {
    if (!sub) continue;
    const sc = Cursor.of(v, sub);
    while (!sc.empty()) {
      const seq = sc.read(T.SEQUENCE);
      const val = seq ? Cursor.of(v, seq).next() : undefined;
      if (!val) fail('bad-extension', 'x509: invalid NameConstraints extension');
      const data = value(v, val);
      const text = latin1(data);
      const ia5 = (): void => {
        if (!allAscii(data)) fail('bad-extension', `x509: invalid constraint value: x509: ${JSON.stringify(text)} cannot be encoded as an IA5String`);
      };
      switch (val.tag) {
        case 0x82:
          ia5();
          if (!isGoDomain(text.startsWith('.') ? text.slice(1) : text)) fail('bad-extension', `x509: failed to parse dnsName constraint ${JSON.stringify(text)}`);
          break;
        case 0x87: {
          if (data.length !== 8 && data.length !== 32) fail('bad-extension', `x509: IP constraint contained value of length ${data.length}`);
          const mask = data.subarray(data.length / 2);
          let seenZero = false;
          for (const b of mask) {
            if (seenZero && b !== 0) fail('bad-extension', `x509: IP constraint contained invalid mask ${Buffer.from(mask).toString('hex')}`);
            if (b !== 0xff) {
              if (![0x00, 0x80, 0xc0, 0xe0, 0xf0, 0xf8, 0xfc, 0xfe].includes(b)) fail('bad-extension', `x509: IP constraint contained invalid mask ${Buffer.from(mask).toString('hex')}`);
              seenZero = true;
            }
          }
          break;
        }
        case 0x81:
          ia5();
          break;
        case 0x86:
          ia5();
          if (!isGoDomain(text.startsWith('.') ? text.slice(1) : text)) fail('bad-extension', `x509: failed to parse URI constraint ${JSON.stringify(text)}`);
          break;
        default:
          unhandled = true;
      }
    }
  }
  return unhandled;
}

/** The serial as node:crypto prints it: uppercase hex of the magnitude, `-` for a negative one. */
function serialText(v: Uint8Array): string {
  const n = integerValue(v);
  const hex = (n < 0n ? -n : n).toString(16).toUpperCase();
  return `${n < 0n ? '-' : ''}${hex.length % 2 ? `0${hex}` : hex}`;
}

/** A URI as Go's url.URL.String() gives it back: what must be escaped in a path is escaped. */
function goUrlString(uri: string): string {
  return uri.replace(/[^A-Za-z0-9\-_.~$&+,/:;=@%!'()*?#[\]]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

// --- the certificate -----------------------------------------------------------------------------

/**
 * Reads one DER certificate as Go's x509.ParseCertificate does; throws CertReadError with Go's
 * message when Go would refuse it.
 */
export function parseCertificate(input: Uint8Array): CertFacts {
  const der = input;
  const certTlv = safeTlv(der, 0);
  if (!certTlv || certTlv.tag !== T.SEQUENCE) fail('malformed', 'x509: malformed certificate');
  const outer = Cursor.of(der, certTlv);
  const tbsTlv = need(outer.read(T.SEQUENCE), 'malformed', 'x509: malformed tbs certificate');
  const tbs = Cursor.of(der, tbsTlv);

  let version = 0;
  if (tbs.peekTag() === 0xa0) {
    const v = need(tbs.next(), 'bad-version', 'x509: malformed version');
    const vc = Cursor.of(der, v);
    const i = vc.read(T.INTEGER);
    if (!i || !isMinimalInteger(value(der, i)) || i.end - i.start > 8 || !vc.empty()) fail('bad-version', 'x509: malformed version');
    const n = integerValue(value(der, i));
    if (n < 0n) fail('bad-version', 'x509: malformed version');
    if (n > 2n) fail('bad-version', 'x509: invalid version');
    version = Number(n);
  }
  version++;

  const serialTlv = tbs.read(T.INTEGER);
  if (!serialTlv || !isMinimalInteger(value(der, serialTlv))) fail('bad-serial', 'x509: malformed serial number');
  const serialBytes = value(der, serialTlv);
  const sigInner = need(tbs.read(T.SEQUENCE), 'malformed', 'x509: malformed signature algorithm identifier');
  const sigOuter = need(outer.read(T.SEQUENCE), 'malformed', 'x509: malformed algorithm identifier');
  if (!Buffer.from(value(der, sigInner)).equals(Buffer.from(value(der, sigOuter)))) fail('signature-algorithm-mismatch', "x509: inner and outer signature algorithm identifiers don't match");
  const sigAlg = readAlgorithm(der, sigInner);

  const issuerTlv = need(tbs.read(T.SEQUENCE), 'malformed', 'x509: malformed issuer');
  const issuer = readName(der, issuerTlv);
  const validity = need(tbs.read(T.SEQUENCE), 'bad-time', 'x509: malformed validity');
  const vc = Cursor.of(der, validity);
  const notBefore = readTime(der, vc);
  const notAfter = readTime(der, vc);
  const subjectTlv = need(tbs.read(T.SEQUENCE), 'malformed', 'x509: malformed issuer'); // sic: Go says "issuer" here too
  const subject = readName(der, subjectTlv);

  const spkiTlv = need(tbs.read(T.SEQUENCE), 'bad-public-key', 'x509: malformed spki');
  const sc = Cursor.of(der, spkiTlv);
  const pkAlgTlv = need(sc.read(T.SEQUENCE), 'bad-public-key', 'x509: malformed public key algorithm identifier');
  const pkAlg = readAlgorithm(der, pkAlgTlv);
  const bits = sc.read(T.BIT_STRING);
  const keyBits = bits ? bitStringBytes(value(der, bits)) : undefined;
  if (!bits || !keyBits) fail('bad-public-key', 'x509: malformed subjectPublicKey');
  const spki = der.subarray(spkiTlv.pos, spkiTlv.end);
  const publicKey = readPublicKey(pkAlg, rightAlign(keyBits, value(der, bits)[0] ?? 0), spki);

  const rawExts: { oid: string; critical: boolean; value: Uint8Array }[] = [];
  if (version > 1) {
    for (const [tag, what] of [[0x81, 'issuerUniqueID'], [0x82, 'subjectUniqueID']] as const) {
      if (tbs.peekTag() === tag && !tbs.next()) fail('malformed', `x509: malformed ${what}`);
    }
    if (version === 3 && tbs.peekTag() === 0xa3) {
      const wrap = need(tbs.next(), 'bad-extension', 'x509: malformed extensions');
      const list = need(Cursor.of(der, wrap).read(T.SEQUENCE), 'bad-extension', 'x509: malformed extensions');
      const lc = Cursor.of(der, list);
      const seen = new Set<string>();
      while (!lc.empty()) {
        const ext = need(lc.read(T.SEQUENCE), 'bad-extension', 'x509: malformed extension');
        const ec = Cursor.of(der, ext);
        const idTlv = ec.read(T.OID);
        const oid = idTlv ? oidText(value(der, idTlv)) : undefined;
        if (oid === undefined) fail('bad-extension', 'x509: malformed extension OID field');
        let critical = false;
        if (ec.peekTag() === T.BOOLEAN) {
          const b = ec.next();
          critical = need(b ? booleanValue(value(der, b)) : undefined, 'bad-extension', 'x509: malformed extension critical field');
        }
        const octets = need(ec.read(T.OCTET_STRING), 'bad-extension', 'x509: malformed extension value field');
        if (seen.has(oid)) fail('duplicate-extension', 'x509: certificate contains duplicate extensions');
        seen.add(oid);
        rawExts.push({ oid, critical, value: value(der, octets) });
      }
    }
  }
  const ext = readExtensions(rawExts);

  const sigTlv = outer.read(T.BIT_STRING);
  const sigBytes = sigTlv ? bitStringBytes(value(der, sigTlv)) : undefined;
  if (!sigTlv || !sigBytes) fail('malformed', 'x509: malformed signature');
  if (certTlv.end !== der.length) fail('trailing-data', 'x509: trailing data');

  const sigInfo = sigAlg.oid === OID.ed25519 && sigAlg.params.length !== 0 ? undefined : SIGNATURES[sigAlg.oid];
  let fingerprint: string | undefined;
  return {
    der,
    version,
    serial: serialText(serialBytes),
    subject,
    issuer,
    notBefore,
    notAfter,
    publicKey,
    ...ext,
    signatureAlgorithm: sigAlg.oid,
    signatureHash: sigInfo?.hash,
    signatureKeyType: sigInfo?.keyType,
    tbs: der.subarray(tbsTlv.pos, tbsTlv.end),
    signature: rightAlign(sigBytes, value(der, sigTlv)[0] ?? 0),
    get fingerprint(): string {
      fingerprint ??= createHash('sha256').update(der).digest('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');
      return fingerprint;
    },
  };
}
