// The differential corpus for the strict certificate reader (issue 10 item 2): valid certificates
// of every kind certgen writes, CockroachDB's own test certificates, and DER-level mutations of
// them. Everything is built here, at test time; nothing binary is committed.
//
// Mutating the TBSCertificate invalidates the signature, which does not matter: x509.ParseCertificate
// (what CockroachDB's loader calls) never checks signatures.
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { generateRsaKey, toSigner } from '../../../src/pki/keys.js';
import { CA_COMMON_NAME, issueCertificate } from '../../../src/pki/issue.js';

export interface CorpusCase {
  name: string;
  der: Uint8Array;
}

// ---- a tiny TLV codec (low tag numbers only; enough for X.509) ----

export interface Tlv {
  tag: number;
  /** Constructed values are kept as children and re-encoded (lengths recomputed) on output. */
  children?: Tlv[];
  value?: Uint8Array;
}

function readHeader(buf: Uint8Array, at: number): { tag: number; len: number; hdr: number } {
  const tag = buf[at];
  const first = buf[at + 1];
  if (tag === undefined || first === undefined) throw new Error('tlv: truncated header');
  if ((tag & 0x1f) === 0x1f) throw new Error('tlv: high tag numbers not supported');
  if (first < 0x80) return { tag, len: first, hdr: 2 };
  const n = first & 0x7f;
  if (n === 0 || n > 4) throw new Error('tlv: unsupported length form');
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + (buf[at + 2 + i] ?? NaN);
  if (Number.isNaN(len)) throw new Error('tlv: truncated length');
  return { tag, len, hdr: 2 + n };
}

/** Decodes one TLV; constructed values (bit 0x20) are decoded into children. */
export function decode(buf: Uint8Array): Tlv {
  const { node, end } = decodeAt(buf, 0);
  if (end !== buf.length) throw new Error('tlv: trailing data');
  return node;
}

function decodeAt(buf: Uint8Array, at: number): { node: Tlv; end: number } {
  const { tag, len, hdr } = readHeader(buf, at);
  const start = at + hdr;
  const end = start + len;
  if (end > buf.length) throw new Error('tlv: truncated value');
  if ((tag & 0x20) === 0) return { node: { tag, value: buf.slice(start, end) }, end };
  const children: Tlv[] = [];
  let p = start;
  while (p < end) {
    const c = decodeAt(buf, p);
    children.push(c.node);
    p = c.end;
  }
  if (p !== end) throw new Error('tlv: child overruns parent');
  return { node: { tag, children }, end };
}

export function encodeLength(len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(len);
  const bytes: number[] = [];
  for (let l = len; l > 0; l = Math.floor(l / 256)) bytes.unshift(l & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function encode(node: Tlv): Uint8Array {
  const value = node.children ? concat(...node.children.map(encode)) : (node.value ?? new Uint8Array());
  return concat(Uint8Array.of(node.tag), encodeLength(value.length), value);
}

/** A primitive TLV. */
export function prim(tag: number, value: Uint8Array | number[]): Tlv {
  return { tag, value: Uint8Array.from(value) };
}
export function cons(tag: number, children: Tlv[]): Tlv {
  return { tag, children };
}

function clone(node: Tlv): Tlv {
  return node.children ? { tag: node.tag, children: node.children.map(clone) } : { tag: node.tag, value: Uint8Array.from(node.value ?? []) };
}

function kids(node: Tlv | undefined): Tlv[] {
  if (!node?.children) throw new Error('tlv: not constructed');
  return node.children;
}

const ascii = (s: string) => new TextEncoder().encode(s);

// ---- certificate surgery ----

/** Handles into a decoded certificate. */
class CertTree {
  readonly root: Tlv;
  constructor(der: Uint8Array) {
    this.root = decode(der);
  }
  get tbs(): Tlv {
    return kids(this.root)[0] as Tlv;
  }
  /** TBSCertificate field by role (the version is optional). */
  field(role: 'version' | 'serial' | 'sigalg' | 'issuer' | 'validity' | 'subject' | 'spki'): Tlv {
    const t = kids(this.tbs);
    const off = t[0]?.tag === 0xa0 ? 1 : 0;
    const i = { version: -1, serial: 0, sigalg: 1, issuer: 2, validity: 3, subject: 4, spki: 5 }[role];
    const node = i < 0 ? (off ? t[0] : undefined) : t[i + off];
    if (!node) throw new Error(`no ${role}`);
    return node;
  }
  get extensionsSeq(): Tlv {
    const ext = kids(this.tbs).find((n) => n.tag === 0xa3);
    if (!ext) throw new Error('no extensions');
    return kids(ext)[0] as Tlv;
  }
  /** The Extension SEQUENCE whose OID is `oidHex` (the OID's content bytes in hex). */
  extension(oidHex: string): Tlv {
    const e = kids(this.extensionsSeq).find((x) => Buffer.from(kids(x)[0]?.value ?? []).toString('hex') === oidHex);
    if (!e) throw new Error(`no extension ${oidHex}`);
    return e;
  }
  /** Replaces an extension's extnValue with the encoding of `inner`. */
  setExtensionValue(oidHex: string, inner: Uint8Array): void {
    const e = kids(this.extension(oidHex));
    (e[e.length - 1] as Tlv).value = inner;
  }
  der(): Uint8Array {
    return encode(this.root);
  }
}

const OID = {
  keyUsage: '551d0f',
  basicConstraints: '551d13',
  san: '551d11',
  extKeyUsage: '551d25',
};

function mutate(der: Uint8Array, edit: (t: CertTree) => void): Uint8Array {
  const t = new CertTree(der);
  edit(t);
  return t.der();
}

function ext(oidBytes: number[], critical: boolean | undefined, inner: Uint8Array): Tlv {
  const parts: Tlv[] = [prim(0x06, oidBytes)];
  if (critical !== undefined) parts.push(prim(0x01, [critical ? 0xff : 0x00]));
  parts.push(prim(0x04, inner));
  return cons(0x30, parts);
}

function sanWith(names: Tlv[]): Uint8Array {
  return encode(cons(0x30, names));
}

/** Replaces the SAN extension value with a GeneralNames SEQUENCE of `names`. */
function setSan(t: CertTree, names: Tlv[]): void {
  t.setExtensionValue(OID.san, sanWith(names));
}

function time(tag: number, s: string): Tlv {
  return prim(tag, ascii(s));
}

function setNotBefore(t: CertTree, node: Tlv): void {
  kids(t.field('validity'))[0] = node;
}

function setSerial(t: CertTree, bytes: number[]): void {
  t.field('serial').value = Uint8Array.from(bytes);
}

function setVersion(t: CertTree, inner: number[] | undefined): void {
  const tbs = kids(t.tbs);
  if (tbs[0]?.tag === 0xa0) tbs.shift();
  if (inner) tbs.unshift(cons(0xa0, [prim(0x02, inner)]));
}

// ---- the valid certificates ----

async function keyPair(type: 'rsa' | 'ec' | 'ed25519'): Promise<KeyObject> {
  if (type === 'rsa') return (await generateRsaKey(2048)).privateKey;
  if (type === 'ec') return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  return generateKeyPairSync('ed25519').privateKey;
}

const NOW = new Date('2026-03-01T12:34:56Z');
const DAY = 24 * 3600e3;

async function family(type: 'rsa' | 'ec' | 'ed25519'): Promise<CorpusCase[]> {
  const caKey = await keyPair(type);
  const leafKey = type === 'rsa' ? caKey : await keyPair(type); // one 2048-bit key is enough per family
  const signer = await toSigner(caKey);
  const ca = await issueCertificate({ kind: 'ca', subjectKey: caKey, signer, commonName: CA_COMMON_NAME, now: NOW, lifetimeMs: 3660 * DAY, serial: randomBytes(16) });
  const hosts = ['node1.example.com', '*.cluster.local', 'localhost', '127.0.0.1', '::1', '2001:db8::7', '::ffff:10.1.2.3', '10.0.0.1'];
  const node = await issueCertificate({ kind: 'node', subjectKey: leafKey, signer, issuer: ca, commonName: 'node', hosts, now: NOW, lifetimeMs: 1830 * DAY, serial: randomBytes(16) });
  const client = await issueCertificate({ kind: 'client', subjectKey: leafKey, signer, issuer: ca, commonName: 'root', now: NOW, lifetimeMs: 1830 * DAY, serial: randomBytes(16) });
  const tenant = await issueCertificate({
    kind: 'client',
    subjectKey: leafKey,
    signer,
    issuer: ca,
    commonName: 'alice',
    uris: ['crdb://tenant/2/user/alice', 'crdb://tenant/10/user/alice'],
    now: NOW,
    lifetimeMs: 1830 * DAY,
    serial: randomBytes(16),
  });
  // A serial with the top bit set (DER needs a leading zero) and one that is short.
  const highSerial = await issueCertificate({ kind: 'client', subjectKey: leafKey, signer, issuer: ca, commonName: 'high_serial', now: NOW, lifetimeMs: DAY, serial: Uint8Array.from([0xff, ...randomBytes(15)]) });
  const der = (c: { rawData: ArrayBuffer }) => new Uint8Array(c.rawData);
  return [
    { name: `${type}/ca`, der: der(ca) },
    { name: `${type}/node`, der: der(node) },
    { name: `${type}/client`, der: der(client) },
    { name: `${type}/client-tenant-uris`, der: der(tenant) },
    { name: `${type}/client-high-serial`, der: der(highSerial) },
  ];
}

function cockroachTestCerts(): CorpusCase[] {
  const dir = new URL('../../../fixtures/cockroach-test-certs/', import.meta.url).pathname;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.crt'))
    .sort()
    .map((f) => {
      const pem = readFileSync(path.join(dir, f), 'utf8');
      const b64 = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem)?.[1] ?? '';
      return { name: `cockroach/${f}`, der: new Uint8Array(Buffer.from(b64.replace(/\s+/g, ''), 'base64')) };
    });
}

// ---- the mutations ----

function mutations(node: Uint8Array, client: Uint8Array, ca: Uint8Array, ec: Uint8Array, ed: Uint8Array): CorpusCase[] {
  const out: CorpusCase[] = [];
  const add = (name: string, der: Uint8Array) => out.push({ name: `mut/${name}`, der });
  const m = (name: string, edit: (t: CertTree) => void, base = node) => add(name, mutate(base, edit));

  // Truncation and trailing data.
  for (const n of [0, 1, 2, 4, 10, 100, Math.floor(node.length / 2), node.length - 10, node.length - 1]) add(`truncated-${n}`, node.slice(0, n));
  add('trailing-1-zero', concat(node, Uint8Array.of(0)));
  add('trailing-2-zeros', concat(node, Uint8Array.of(0, 0)));
  add('trailing-second-cert', concat(node, client));
  add('trailing-newline', concat(node, ascii('\n')));

  // Tags and lengths.
  add('outer-tag-set', concat(Uint8Array.of(0x31), node.slice(1)));
  add('outer-tag-octet-string', concat(Uint8Array.of(0x04), node.slice(1)));
  m('tbs-tag-set', (t) => void (t.tbs.tag = 0x31));
  m('validity-tag-set', (t) => void (t.field('validity').tag = 0x31));
  m('serial-tag-octet-string', (t) => void (t.field('serial').tag = 0x04));
  m('sigalg-tag-set', (t) => void (t.field('sigalg').tag = 0x31));
  m('spki-tag-set', (t) => void (t.field('spki').tag = 0x31));
  m('extensions-tag-a4', (t) => void ((kids(t.tbs).find((n) => n.tag === 0xa3) as Tlv).tag = 0xa4));
  m('outer-signature-tag-octet-string', (t) => void ((kids(t.root)[2] as Tlv).tag = 0x04));
  {
    // Non-minimal lengths: the outer length one octet longer than needed, and a short length in long form.
    const h = readHeader(node, 0);
    const body = node.slice(h.hdr);
    add('outer-length-non-minimal', concat(Uint8Array.of(0x30, 0x83, 0, (h.len >> 8) & 0xff, h.len & 0xff), body));
    add('outer-length-indefinite', concat(Uint8Array.of(0x30, 0x80), body, Uint8Array.of(0, 0)));
    const tbs = encode(new CertTree(node).tbs);
    const th = readHeader(tbs, 0);
    add('tbs-length-indefinite', encodeRaw(0x30, concat(Uint8Array.of(0x30, 0x80), tbs.slice(th.hdr), Uint8Array.of(0, 0), ...kids(new CertTree(node).root).slice(1).map(encode))));
    // The serial's length (short) in long form: 02 81 nn.
    const serial = encode(new CertTree(node).field('serial'));
    add('serial-length-long-form', rebuildTbs(node, 'serial', concat(Uint8Array.of(0x02, 0x81), serial.slice(1))));
    // notBefore's length in long form: 17 81 0d.
    const validity = kids(new CertTree(node).field('validity')).map(encode);
    const nb = validity[0] as Uint8Array;
    add('time-length-long-form', rebuildTbs(node, 'validity', encodeRaw(0x30, concat(Uint8Array.of(nb[0] ?? 0, 0x81), nb.slice(1), ...validity.slice(1)))));
    add('outer-length-too-long', concat(Uint8Array.of(0x30, 0x82, ((h.len + 1) >> 8) & 0xff, (h.len + 1) & 0xff), body));
  }

  // Version.
  m('version-v3-as-3', (t) => setVersion(t, [3]));
  m('version-5', (t) => setVersion(t, [5]));
  m('version-minus-1', (t) => setVersion(t, [0xff]));
  m('version-explicit-v1', (t) => setVersion(t, [0]));
  m('version-v2', (t) => setVersion(t, [1]));
  m('version-absent-with-extensions', (t) => setVersion(t, undefined));
  m('version-non-minimal', (t) => setVersion(t, [0, 2]));
  m('version-absent-no-extensions', (t) => {
    setVersion(t, undefined);
    const tbs = kids(t.tbs);
    tbs.splice(tbs.findIndex((n) => n.tag === 0xa3), 1);
  });
  m('version-explicit-v1-no-extensions', (t) => {
    setVersion(t, [0]);
    const tbs = kids(t.tbs);
    tbs.splice(tbs.findIndex((n) => n.tag === 0xa3), 1);
  });

  // Serial.
  m('serial-negative', (t) => setSerial(t, [0x80, 1, 2, 3, 4, 5, 6, 7]));
  m('serial-minus-1', (t) => setSerial(t, [0xff]));
  m('serial-zero', (t) => setSerial(t, [0]));
  m('serial-empty', (t) => setSerial(t, []));
  m('serial-non-minimal-zero', (t) => setSerial(t, [0, 0x01, 0x02]));
  m('serial-non-minimal-ff', (t) => setSerial(t, [0xff, 0x81]));
  m('serial-20-bytes', (t) => setSerial(t, [0x7f, ...Array.from({ length: 19 }, (_, i) => i + 1)]));
  m('serial-21-bytes-leading-zero', (t) => setSerial(t, [0, 0x80, ...Array.from({ length: 19 }, (_, i) => i + 1)]));
  m('serial-21-bytes', (t) => setSerial(t, [0x01, ...Array.from({ length: 20 }, (_, i) => i + 1)]));
  m('serial-40-bytes', (t) => setSerial(t, [0x01, ...Array.from({ length: 39 }, (_, i) => i + 1)]));

  // Signature algorithms.
  const sha384WithRSA = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
  m('outer-sigalg-differs', (t) => void (kids(kids(t.root)[1])[0] = prim(0x06, sha384WithRSA)));
  m('inner-sigalg-differs', (t) => void (kids(t.field('sigalg'))[0] = prim(0x06, sha384WithRSA)));
  m('inner-sigalg-params-dropped', (t) => void kids(t.field('sigalg')).splice(1));
  m('sigalg-unknown-oid-both', (t) => {
    kids(t.field('sigalg'))[0] = prim(0x06, [0x2a, 0x03, 0x04]);
    kids(kids(t.root)[1])[0] = prim(0x06, [0x2a, 0x03, 0x04]);
  });
  m('sigalg-oid-non-minimal', (t) => {
    kids(t.field('sigalg'))[0] = prim(0x06, [0x80, ...sha384WithRSA]);
    kids(kids(t.root)[1])[0] = prim(0x06, [0x80, ...sha384WithRSA]);
  });

  // Times.
  const UTC = 0x17;
  const GEN = 0x18;
  m('time-utc-missing-z', (t) => setNotBefore(t, time(UTC, '260301000000')));
  m('time-utc-no-seconds', (t) => setNotBefore(t, time(UTC, '2603010000Z')));
  m('time-utc-fractional', (t) => setNotBefore(t, time(UTC, '260301000000.5Z')));
  m('time-utc-month-13', (t) => setNotBefore(t, time(UTC, '261301000000Z')));
  m('time-utc-day-32', (t) => setNotBefore(t, time(UTC, '260132000000Z')));
  m('time-utc-feb-30', (t) => setNotBefore(t, time(UTC, '260230000000Z')));
  m('time-utc-hour-24', (t) => setNotBefore(t, time(UTC, '260301240000Z')));
  m('time-utc-offset', (t) => setNotBefore(t, time(UTC, '260301000000+0100')));
  m('time-utc-1950', (t) => setNotBefore(t, time(UTC, '500101000000Z')));
  m('time-utc-2049', (t) => setNotBefore(t, time(UTC, '491231235959Z')));
  m('time-generalized-2026', (t) => setNotBefore(t, time(GEN, '20260301000000Z')));
  m('time-generalized-2050', (t) => setNotBefore(t, time(GEN, '20500101000000Z')));
  m('time-generalized-9999', (t) => void (kids(t.field('validity'))[1] = time(GEN, '99991231235959Z')));
  m('time-generalized-fractional', (t) => setNotBefore(t, time(GEN, '20260301000000.5Z')));
  m('time-generalized-missing-z', (t) => setNotBefore(t, time(GEN, '20260301000000')));
  m('time-generalized-no-seconds', (t) => setNotBefore(t, time(GEN, '202603010000Z')));
  m('time-generalized-month-13', (t) => setNotBefore(t, time(GEN, '20261301000000Z')));
  m('time-octet-string', (t) => setNotBefore(t, time(0x04, '260301000000Z')));
  m('time-notbefore-after-notafter', (t) => setNotBefore(t, time(GEN, '20990101000000Z')));

  // Names.
  const cnAttr = (tag: number, value: Uint8Array | number[]) => cons(0x30, [cons(0x31, [cons(0x30, [prim(0x06, [0x55, 0x04, 0x03]), prim(tag, value)])])]);
  m('subject-cn-utf8', (t) => void (kids(t.tbs)[kids(t.tbs).indexOf(t.field('subject'))] = cnAttr(0x0c, ascii('nöde'))));
  m('subject-cn-bad-utf8', (t) => void (kids(t.tbs)[kids(t.tbs).indexOf(t.field('subject'))] = cnAttr(0x0c, [0x6e, 0xc3, 0x28])));
  m('subject-cn-printable-star', (t) => void (kids(t.tbs)[kids(t.tbs).indexOf(t.field('subject'))] = cnAttr(0x13, ascii('*.node'))));
  m('subject-cn-printable-underscore', (t) => void (kids(t.tbs)[kids(t.tbs).indexOf(t.field('subject'))] = cnAttr(0x13, ascii('my_node'))));
  m('subject-cn-ia5-non-ascii', (t) => void (kids(t.tbs)[kids(t.tbs).indexOf(t.field('subject'))] = cnAttr(0x16, [0x6e, 0xfc])));
  m('subject-cn-bmp', (t) => void (kids(t.tbs)[kids(t.tbs).indexOf(t.field('subject'))] = cnAttr(0x1e, [0, 0x6e, 0, 0x6f])));
  m('subject-cn-bmp-odd', (t) => void (kids(t.tbs)[kids(t.tbs).indexOf(t.field('subject'))] = cnAttr(0x1e, [0, 0x6e, 0])));
  m('subject-empty', (t) => void (kids(t.tbs)[kids(t.tbs).indexOf(t.field('subject'))] = cons(0x30, [])));
  m('subject-rdn-empty-set', (t) => void (kids(t.tbs)[kids(t.tbs).indexOf(t.field('subject'))] = cons(0x30, [cons(0x31, [])])));
  m('issuer-tag-set', (t) => void (t.field('issuer').tag = 0x31));

  // Subject alternative names.
  const dns = (s: string | number[]) => prim(0x82, typeof s === 'string' ? ascii(s) : s);
  const ip = (b: number[]) => prim(0x87, b);
  const uri = (s: string) => prim(0x86, ascii(s));
  const email = (s: string | number[]) => prim(0x81, typeof s === 'string' ? ascii(s) : s);
  m('san-dns-non-ascii', (t) => setSan(t, [dns('ok.example'), dns([0x6e, 0xfc, 0x64, 0x65])]));
  m('san-dns-empty', (t) => setSan(t, [dns(''), dns('ok.example')]));
  m('san-dns-space', (t) => setSan(t, [dns('a b.example')]));
  m('san-email', (t) => setSan(t, [email('root@example.com'), dns('ok.example')]));
  m('san-email-non-ascii', (t) => setSan(t, [email([0x72, 0xfc, 0x40, 0x78])]));
  m('san-uri-space', (t) => setSan(t, [uri('a b')]));
  m('san-uri-bad-ipv6', (t) => setSan(t, [uri('http://[::1')]));
  m('san-uri-bad-escape', (t) => setSan(t, [uri('%zz')]));
  m('san-uri-ok', (t) => setSan(t, [uri('crdb://tenant/5/user/bob'), uri('https://example.com/a?b=c#d')]));
  m('san-uri-non-ascii', (t) => setSan(t, [prim(0x86, [0x68, 0x3a, 0xfc])]));
  m('san-uri-bad-domain', (t) => setSan(t, [uri('http://exa_mple..com/')]));
  m('san-uri-empty', (t) => setSan(t, [uri('')]));
  m('san-ip-length-5', (t) => setSan(t, [ip([10, 0, 0, 1, 2])]));
  m('san-ip-length-0', (t) => setSan(t, [ip([])]));
  m('san-ip-length-16-v4-mapped', (t) => setSan(t, [ip([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3])]));
  m('san-ip-zero-v6', (t) => setSan(t, [ip(Array(16).fill(0))]));
  m('san-empty-sequence', (t) => setSan(t, []));
  m('san-not-a-sequence', (t) => t.setExtensionValue(OID.san, encode(prim(0x04, [1, 2]))));
  m('san-trailing-bytes', (t) => t.setExtensionValue(OID.san, concat(sanWith([dns('ok.example')]), Uint8Array.of(0))));
  m('san-other-name-and-dirname', (t) =>
    setSan(t, [cons(0xa0, [prim(0x06, [0x2b, 0x06, 0x01]), cons(0xa0, [prim(0x0c, ascii('x'))])]), cons(0xa4, [cons(0x30, [])]), dns('ok.example')]),
  );
  m('san-registered-id', (t) => setSan(t, [prim(0x88, [0x2a, 0x03]), dns('ok.example')]));
  m('san-dns-constructed', (t) => setSan(t, [cons(0xa2, [prim(0x16, ascii('x'))])]));

  // Extensions.
  m('ext-duplicate-san', (t) => kids(t.extensionsSeq).push(clone(t.extension(OID.san))));
  m('ext-duplicate-unknown', (t) => {
    const e = ext([0x2a, 0x03, 0x04, 0x05], undefined, encode(prim(0x05, [])));
    kids(t.extensionsSeq).push(e, clone(e));
  });
  m('ext-unknown-critical', (t) => kids(t.extensionsSeq).push(ext([0x2a, 0x03, 0x04, 0x05], true, encode(prim(0x05, [])))));
  m('ext-unknown-non-critical', (t) => kids(t.extensionsSeq).push(ext([0x2a, 0x03, 0x04, 0x05], false, encode(prim(0x05, [])))));
  m('ext-unknown-critical-garbage-value', (t) => kids(t.extensionsSeq).push(ext([0x2a, 0x03, 0x04, 0x06], true, Uint8Array.of(0xff, 0xff))));
  m('ext-critical-bool-01', (t) => void ((kids(t.extension(OID.keyUsage))[1] as Tlv).value = Uint8Array.of(0x01)));
  m('ext-critical-explicit-false', (t) => void kids(t.extension(OID.extKeyUsage)).splice(1, 0, prim(0x01, [0])));
  m('ext-critical-bool-empty', (t) => void ((kids(t.extension(OID.keyUsage))[1] as Tlv).value = new Uint8Array()));
  m('ext-san-critical', (t) => void kids(t.extension(OID.san)).splice(1, 0, prim(0x01, [0xff])));
  m('ext-extensions-empty', (t) => void kids(t.extensionsSeq).splice(0));
  m('ext-oid-empty', (t) => kids(t.extensionsSeq).push(ext([], false, encode(prim(0x05, [])))));
  m('ext-value-not-octet-string', (t) => void ((kids(t.extension(OID.extKeyUsage))[1] as Tlv).tag = 0x03));
  m('ku-empty-bit-string', (t) => t.setExtensionValue(OID.keyUsage, encode(prim(0x03, []))));
  m('ku-unused-bits-8', (t) => t.setExtensionValue(OID.keyUsage, encode(prim(0x03, [8, 0xa0]))));
  m('ku-nonzero-padding', (t) => t.setExtensionValue(OID.keyUsage, encode(prim(0x03, [5, 0xa1]))));
  m('ku-not-bit-string', (t) => t.setExtensionValue(OID.keyUsage, encode(prim(0x04, [0xa0]))));
  m('ku-zero-bits', (t) => t.setExtensionValue(OID.keyUsage, encode(prim(0x03, [0]))));
  m('ku-two-bytes', (t) => t.setExtensionValue(OID.keyUsage, encode(prim(0x03, [7, 0xa0, 0x80]))));
  m('eku-empty', (t) => t.setExtensionValue(OID.extKeyUsage, encode(cons(0x30, []))));
  m('eku-not-oid', (t) => t.setExtensionValue(OID.extKeyUsage, encode(cons(0x30, [prim(0x04, [1])]))));
  m('bc-pathlen-negative', (t) => t.setExtensionValue(OID.basicConstraints, encode(cons(0x30, [prim(0x01, [0xff]), prim(0x02, [0xff])]))), ca);
  m('bc-pathlen-huge', (t) => t.setExtensionValue(OID.basicConstraints, encode(cons(0x30, [prim(0x01, [0xff]), prim(0x02, [0x01, 0, 0, 0, 0, 0, 0, 0, 0])]))), ca);
  m('bc-ca-bool-01', (t) => t.setExtensionValue(OID.basicConstraints, encode(cons(0x30, [prim(0x01, [0x01]), prim(0x02, [1])]))), ca);
  m('bc-empty', (t) => t.setExtensionValue(OID.basicConstraints, encode(cons(0x30, []))), ca);
  m('bc-not-sequence', (t) => t.setExtensionValue(OID.basicConstraints, encode(prim(0x01, [0xff]))), ca);
  m('bc-pathlen-without-ca', (t) => t.setExtensionValue(OID.basicConstraints, encode(cons(0x30, [prim(0x02, [1])]))), ca);

  // Other extensions Go parses (and so refuses when malformed).
  const push = (name: string, oid: number[], critical: boolean | undefined, inner: Uint8Array) => m(name, (t) => kids(t.extensionsSeq).push(ext(oid, critical, inner)));
  const ce = (n: number) => [0x55, 0x1d, n];
  push('skid-ok', ce(0x0e), undefined, encode(prim(0x04, [1, 2, 3])));
  push('skid-not-octet-string', ce(0x0e), undefined, encode(prim(0x03, [0, 1])));
  m('akid-not-sequence', (t) => t.setExtensionValue('551d23', encode(prim(0x04, [1, 2]))));
  m('akid-keyid-wrong-tag', (t) => t.setExtensionValue('551d23', encode(cons(0x30, [prim(0x04, [1, 2])]))));
  push('name-constraints-ok', ce(0x1e), true, encode(cons(0x30, [cons(0xa0, [cons(0x30, [prim(0x82, ascii('example.com'))])])])));
  push('name-constraints-empty', ce(0x1e), true, encode(cons(0x30, [])));
  push('name-constraints-bad-ip', ce(0x1e), true, encode(cons(0x30, [cons(0xa0, [cons(0x30, [prim(0x87, [10, 0, 0, 0, 255])])])])));
  push('cert-policies-ok', ce(0x20), false, encode(cons(0x30, [cons(0x30, [prim(0x06, [0x55, 0x1d, 0x20, 0x00])])])));
  push('cert-policies-bad', ce(0x20), false, encode(cons(0x30, [prim(0x06, [0x55, 0x1d, 0x20, 0x00])])));
  push('crl-dp-ok', ce(0x1f), false, encode(cons(0x30, [cons(0x30, [cons(0xa0, [cons(0xa0, [prim(0x86, ascii('http://crl.example/ca.crl'))])])])])));
  push('crl-dp-bad', ce(0x1f), false, encode(prim(0x04, [1])));
  push('aia-ok', [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01], false, encode(cons(0x30, [cons(0x30, [prim(0x06, [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01]), prim(0x86, ascii('http://ocsp.example/'))])])));
  push('aia-bad', [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01], false, encode(cons(0x30, [prim(0x04, [1])])));
  push('ext-known-oid-critical-policy-constraints', ce(0x24), true, encode(cons(0x30, [prim(0x80, [0])])));

  // Subject public keys.
  m('rsa-spki-missing-null', (t) => void kids(kids(t.field('spki'))[0]).splice(1));
  m('rsa-spki-params-not-null', (t) => void (kids(kids(t.field('spki'))[0])[1] = prim(0x02, [0])));
  const rsaKey = (t: CertTree, edit: (n: Tlv[]) => void) => {
    const bits = kids(t.field('spki'))[1] as Tlv;
    const inner = decode((bits.value ?? new Uint8Array()).subarray(1));
    edit(kids(inner));
    bits.value = concat(Uint8Array.of(0), encode(inner));
  };
  m('rsa-modulus-negative', (t) => rsaKey(t, (n) => void ((n[0] as Tlv).value = Uint8Array.from((n[0]?.value ?? new Uint8Array()).subarray(1)))));
  m('rsa-modulus-zero', (t) => rsaKey(t, (n) => void ((n[0] as Tlv).value = Uint8Array.of(0))));
  m('rsa-exponent-negative', (t) => rsaKey(t, (n) => void ((n[1] as Tlv).value = Uint8Array.of(0xff))));
  m('rsa-exponent-huge', (t) => rsaKey(t, (n) => void ((n[1] as Tlv).value = Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 1))));
  m('rsa-key-trailing', (t) => {
    const bits = kids(t.field('spki'))[1] as Tlv;
    bits.value = concat(bits.value ?? new Uint8Array(), Uint8Array.of(0));
  });
  m('spki-bitstring-unused-bits', (t) => {
    const bits = kids(t.field('spki'))[1] as Tlv;
    const v = Uint8Array.from(bits.value ?? []);
    v[0] = 1;
    bits.value = v;
  });
  m('spki-unknown-algorithm', (t) => void (kids(kids(t.field('spki'))[0])[0] = prim(0x06, [0x2a, 0x03, 0x04])));
  m('ec-unknown-curve', (t) => void (kids(kids(t.field('spki'))[0])[1] = prim(0x06, [0x2a, 0x03, 0x04])), ec);
  m('ec-point-bad', (t) => void ((kids(t.field('spki'))[1] as Tlv).value = Uint8Array.of(0, 4, 1, 2, 3)), ec);
  m('ec-params-missing', (t) => void kids(kids(t.field('spki'))[0]).splice(1), ec);
  m('ed25519-with-params', (t) => void kids(kids(t.field('spki'))[0]).push(prim(0x05, [])), ed);
  m('ed25519-short-key', (t) => void ((kids(t.field('spki'))[1] as Tlv).value = Uint8Array.of(0, 1, 2, 3)), ed);

  // Unique identifiers and signature.
  m('unique-ids-v3', (t) => void kids(t.tbs).splice(kids(t.tbs).findIndex((n) => n.tag === 0xa3), 0, prim(0x81, [0, 1]), prim(0x82, [0, 2])));
  m('signature-unused-bits', (t) => {
    const sig = kids(t.root)[2] as Tlv;
    const v = Uint8Array.from(sig.value ?? []);
    v[0] = 1;
    sig.value = v;
  });
  m('signature-empty-bit-string', (t) => void ((kids(t.root)[2] as Tlv).value = new Uint8Array()));
  m('cert-extra-field', (t) => void kids(t.root).push(prim(0x05, [])));
  m('tbs-extra-field', (t) => void kids(t.tbs).push(prim(0x05, [])));

  // The client and CA bases too, for a few of the above.
  add('client-trailing-1-zero', concat(client, Uint8Array.of(0)));
  add('ca-truncated-half', ca.slice(0, Math.floor(ca.length / 2)));
  m('client-uri-bad-escape', (t) => setSan(t, [uri('crdb://tenant/%zz')]), client);
  m('ec-trailing', (t) => void kids(t.root).push(prim(0x00, [])), ec);
  return out;
}

/** TLV with an explicit value (no re-encoding). */
function encodeRaw(tag: number, value: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(tag), encodeLength(value.length), value);
}

/** Rebuilds the certificate with one TBS field replaced by raw bytes (no re-encoding of that field). */
function rebuildTbs(der: Uint8Array, role: 'serial' | 'validity', raw: Uint8Array): Uint8Array {
  const t = new CertTree(der);
  const target = t.field(role);
  const tbs = encodeRaw(0x30, concat(...kids(t.tbs).map((f) => (f === target ? raw : encode(f)))));
  return encodeRaw(0x30, concat(tbs, ...kids(t.root).slice(1).map(encode)));
}

/** The whole corpus: valid certificates and their mutations, names unique. */
export async function buildCorpus(): Promise<CorpusCase[]> {
  const [rsa, ec, ed] = await Promise.all([family('rsa'), family('ec'), family('ed25519')]);
  const pick = (fam: CorpusCase[], n: string) => (fam.find((c) => c.name.endsWith(`/${n}`)) as CorpusCase).der;
  const cases = [...rsa, ...ec, ...ed, ...cockroachTestCerts()];
  cases.push(...mutations(pick(rsa, 'node'), pick(rsa, 'client-tenant-uris'), pick(rsa, 'ca'), pick(ec, 'node'), pick(ed, 'node')));
  const seen = new Set<string>();
  for (const c of cases) {
    if (seen.has(c.name)) throw new Error(`duplicate corpus case name ${c.name}`);
    seen.add(c.name);
  }
  return cases;
}
