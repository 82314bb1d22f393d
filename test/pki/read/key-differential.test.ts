// The one key reader (src/pki/read/key.ts), the key↔certificate match and the signature check
// (src/pki/read/verify.ts) against Go's crypto/tls and crypto/x509 (test/pki/read/go/keycheck),
// for every key type certgen writes and a corpus of DER-level variations of them:
//   - the reader accepts a key exactly when tls.LoadX509KeyPair's parser does, and derives the same
//     public half (SPKI) and type, size or curve;
//   - certgen's encodings are byte for byte what Go writes (PKCS#1, SEC1, PKCS#8 for Ed25519; the
//     `.pk8` as MarshalPKCS8PrivateKey);
//   - keyMatchesCert agrees with tls.X509KeyPair, issuedBy with CheckSignatureFrom, in every
//     combination of CA and leaf key types, and the signature algorithm follows the CA's key.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateKey, privateKeyToPem, privateKeyToPkcs8Der, toSigner } from '../../../src/pki/keys.js';
import { CA_COMMON_NAME, issueCertificate } from '../../../src/pki/issue.js';
import { encodePem } from '../../../src/pki/read/pem.js';
import { parseCertificate } from '../../../src/pki/read/cert.js';
import { keyMatchesCert, readPkcs8Der, readPrivateKeyPem, type KeyFacts } from '../../../src/pki/read/key.js';
import { issuedBy } from '../../../src/pki/read/verify.js';
import { bytes, x509 } from '../../../src/pki/x509.js';
import { KEY_TYPES, keyParams, keyFactsText, type KeyType } from '../../../src/core/key-type.js';
import { tmpdir } from '../../helpers/index.js';
import { keycheck } from '../../helpers/go.js';
import { concat, cons, decode, encode, prim, type Tlv } from './corpus.js';

const tmp = tmpdir('certgen-keydiff-');
let n = 0;
const file = (data: string | Uint8Array): string => {
  const f = path.join(tmp, `f${n++}`);
  writeFileSync(f, data);
  return f;
};
const pem = (type: string, der: Uint8Array): string => encodePem(type, Buffer.from(der));
const der = (k: KeyObject, type: 'pkcs1' | 'pkcs8' | 'sec1'): Uint8Array => new Uint8Array(k.export({ type, format: 'der' }));
const kids = (t: Tlv): Tlv[] => t.children ?? [];
const mutate = (d: Uint8Array, edit: (t: Tlv) => void): Uint8Array => {
  const t = decode(d);
  edit(t);
  return encode(t);
};
const b64 = (d: Uint8Array | undefined): string | undefined => (d === undefined ? undefined : Buffer.from(d).toString('base64'));

function ours(text: string): { ok: true; facts: KeyFacts } | { ok: false; error: string } {
  try {
    return { ok: true, facts: readPrivateKeyPem(text) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

const P256_ORDER = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');

/** Key PEM variations: the block type, trailing bytes, SEC1 and PKCS#8 fields Go reads, or refuses. */
async function keyCorpus(): Promise<{ name: string; text: string }[]> {
  const out: { name: string; text: string }[] = [];
  const add = (name: string, text: string) => out.push({ name, text });
  const keys: Record<string, KeyObject> = {};
  for (const t of KEY_TYPES) keys[t] = (await generateKey(keyParams(t, 1024))).privateKey;
  for (const [t, k] of Object.entries(keys)) {
    add(`${t}/certgen`, privateKeyToPem(k));
    add(`${t}/pkcs8-block`, pem('PRIVATE KEY', der(k, 'pkcs8')));
    add(`${t}/pkcs8-as-rsa-type`, pem('RSA PRIVATE KEY', der(k, 'pkcs8')));
    add(`${t}/pkcs8-trailing`, pem('PRIVATE KEY', concat(der(k, 'pkcs8'), Uint8Array.of(0, 0))));
    add(`${t}/pkcs8-version-1`, pem('PRIVATE KEY', mutate(der(k, 'pkcs8'), (x) => void (kids(x)[0] = prim(0x02, [1])))));
    add(`${t}/pkcs8-version-nonminimal`, pem('PRIVATE KEY', mutate(der(k, 'pkcs8'), (x) => void (kids(x)[0] = prim(0x02, [0, 0])))));
    add(`${t}/pkcs8-extra-element`, pem('PRIVATE KEY', mutate(der(k, 'pkcs8'), (x) => void kids(x).push(prim(0x05, [])))));
    add(`${t}/pkcs8-truncated`, pem('PRIVATE KEY', der(k, 'pkcs8').subarray(0, 40)));
    add(`${t}/pkcs8-unknown-algorithm`, pem('PRIVATE KEY', mutate(der(k, 'pkcs8'), (x) => void (kids(kids(x)[1] as Tlv)[0] = prim(0x06, [0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01])))));
  }
  const rsa = keys['rsa'] as KeyObject;
  add('rsa/pkcs1-trailing', pem('RSA PRIVATE KEY', concat(der(rsa, 'pkcs1'), Uint8Array.of(0))));
  add('rsa/pkcs1-as-ec-type', pem('EC PRIVATE KEY', der(rsa, 'pkcs1')));
  add('rsa/encrypted', rsa.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'x' }) as string);
  for (const t of ['ecdsa-p256', 'ecdsa-p384'] as const) {
    const k = keys[t] as KeyObject;
    const sec1 = der(k, 'sec1');
    add(`${t}/sec1-as-private-key-type`, pem('PRIVATE KEY', sec1));
    add(`${t}/sec1-trailing`, pem('EC PRIVATE KEY', concat(sec1, Uint8Array.of(0))));
    add(`${t}/sec1-no-params`, pem('EC PRIVATE KEY', mutate(sec1, (x) => void kids(x).splice(2, 1))));
    add(`${t}/sec1-no-public`, pem('EC PRIVATE KEY', mutate(sec1, (x) => void kids(x).splice(3, 1))));
    add(`${t}/sec1-no-params-no-public`, pem('EC PRIVATE KEY', mutate(sec1, (x) => void kids(x).splice(2, 2))));
    add(`${t}/sec1-version-2`, pem('EC PRIVATE KEY', mutate(sec1, (x) => void (kids(x)[0] = prim(0x02, [2])))));
    add(`${t}/sec1-version-0`, pem('EC PRIVATE KEY', mutate(sec1, (x) => void (kids(x)[0] = prim(0x02, [0])))));
    add(`${t}/sec1-extra-element`, pem('EC PRIVATE KEY', mutate(sec1, (x) => void kids(x).push(prim(0x05, [])))));
    add(`${t}/sec1-unknown-curve`, pem('EC PRIVATE KEY', mutate(sec1, (x) => void (kids(x)[2] = cons(0xa0, [prim(0x06, [0x2a, 0x03, 0x04])])))));
    add(`${t}/sec1-params-not-oid`, pem('EC PRIVATE KEY', mutate(sec1, (x) => void (kids(x)[2] = cons(0xa0, [prim(0x05, [])])))));
    add(`${t}/sec1-public-bad-bitstring`, pem('EC PRIVATE KEY', mutate(sec1, (x) => void (kids(x)[3] = cons(0xa1, [prim(0x03, [9, 1])])))));
    add(`${t}/sec1-scalar-leading-zero`, pem('EC PRIVATE KEY', mutate(sec1, (x) => void (kids(x)[1] = prim(0x04, concat(Uint8Array.of(0), kids(x)[1]?.value ?? new Uint8Array()))))));
    add(`${t}/sec1-scalar-long`, pem('EC PRIVATE KEY', mutate(sec1, (x) => void (kids(x)[1] = prim(0x04, concat(Uint8Array.of(1), kids(x)[1]?.value ?? new Uint8Array()))))));
    add(`${t}/sec1-scalar-short`, pem('EC PRIVATE KEY', mutate(sec1, (x) => void (kids(x)[1] = prim(0x04, (kids(x)[1]?.value ?? new Uint8Array()).subarray(1))))));
    add(`${t}/sec1-scalar-zero`, pem('EC PRIVATE KEY', mutate(sec1, (x) => void (kids(x)[1] = prim(0x04, new Uint8Array(t === 'ecdsa-p256' ? 32 : 48))))));
    // An embedded public key that is another key's: Go derives the public half from the scalar.
    const other = der((await generateKey({ type: t })).privateKey, 'sec1');
    add(`${t}/sec1-foreign-public`, pem('EC PRIVATE KEY', mutate(sec1, (x) => void (kids(x)[3] = kids(decode(other))[3] as Tlv))));
    // PKCS#8: the wrapping's curve wins; a non-OID parameter leaves it to the inner key.
    const p8 = der(k, 'pkcs8');
    const otherCurve = t === 'ecdsa-p256' ? [0x2b, 0x81, 0x04, 0x00, 0x22] : [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    add(`${t}/pkcs8-other-curve`, pem('PRIVATE KEY', mutate(p8, (x) => void (kids(kids(x)[1] as Tlv)[1] = prim(0x06, otherCurve)))));
    add(`${t}/pkcs8-params-null`, pem('PRIVATE KEY', mutate(p8, (x) => void (kids(kids(x)[1] as Tlv)[1] = prim(0x05, [])))));
    add(`${t}/pkcs8-params-null-inner-sec1-curve`, pem('PRIVATE KEY', mutate(p8, (x) => {
      kids(x)[1] = cons(0x30, [kids(kids(x)[1] as Tlv)[0] as Tlv, prim(0x05, [])]);
      kids(x)[2] = prim(0x04, sec1);
    })));
    add(`${t}/pkcs8-unknown-curve`, pem('PRIVATE KEY', mutate(p8, (x) => void (kids(kids(x)[1] as Tlv)[1] = prim(0x06, [0x2a, 0x03, 0x04])))));
  }
  const p256 = der(keys['ecdsa-p256'] as KeyObject, 'sec1');
  add('ecdsa-p256/sec1-scalar-order', pem('EC PRIVATE KEY', mutate(p256, (x) => void (kids(x)[1] = prim(0x04, P256_ORDER)))));
  // Curves certgen does not write but Go reads.
  for (const c of ['P-224', 'P-521']) add(`ec-${c}/sec1`, privateKeyToPem(generateKeyPairSync('ec', { namedCurve: c }).privateKey));
  const ed = der(keys['ed25519'] as KeyObject, 'pkcs8');
  const seed = (decode(kids(decode(ed))[2]?.value ?? new Uint8Array()).value ?? new Uint8Array()) as Uint8Array;
  const edWith = (inner: Uint8Array) => mutate(ed, (x) => void (kids(x)[2] = prim(0x04, inner)));
  add('ed25519/params-null', pem('PRIVATE KEY', mutate(ed, (x) => void kids(kids(x)[1] as Tlv).push(prim(0x05, [])))));
  add('ed25519/seed-31', pem('PRIVATE KEY', edWith(encode(prim(0x04, seed.subarray(1))))));
  add('ed25519/seed-33', pem('PRIVATE KEY', edWith(encode(prim(0x04, concat(seed, Uint8Array.of(0)))))));
  add('ed25519/seed-trailing', pem('PRIVATE KEY', edWith(concat(encode(prim(0x04, seed)), Uint8Array.of(0, 0)))));
  add('ed25519/seed-bare', pem('PRIVATE KEY', edWith(seed)));
  add('ed25519/seed-bitstring', pem('PRIVATE KEY', edWith(encode(prim(0x03, concat(Uint8Array.of(0), seed))))));
  add('ed25519/as-ec-type', pem('EC PRIVATE KEY', ed));
  // A long-form length for a short value: not DER.
  const longLen = concat(Uint8Array.of(0x30, 0x81, ed.length - 2), ed.subarray(2));
  add('ed25519/non-minimal-length', pem('PRIVATE KEY', longLen));
  add('garbage', pem('EC PRIVATE KEY', Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01)));
  return out;
}

const keysSuite = suite('key reader against Go');

keysSuite('accepts exactly what Go accepts, with the same public half, type and size or curve', async () => {
  const corpus = await keyCorpus();
  const go = keycheck(corpus.map((c) => ({ op: 'key' as const, key: file(c.text) })));
  const lines: string[] = [];
  let accepted = 0;
  corpus.forEach((c, i) => {
    const g = go[i];
    const o = ours(c.text);
    if (!g) return;
    if (g.ok) accepted++;
    if (g.ok !== o.ok) lines.push(`${c.name}: Go ${g.ok ? 'accepts' : `refuses (${g.error})`}; ours ${o.ok ? 'accepts' : `refuses (${o.error})`}`);
    else if (g.ok && o.ok) {
      const spki = o.facts.spki ?? undefined;
      if (o.facts.type !== g.type) lines.push(`${c.name}: type go ${g.type} ours ${o.facts.type}`);
      if (o.facts.type === 'rsa') {
        if (o.facts.bits !== g.bits) lines.push(`${c.name}: bits go ${g.bits} ours ${o.facts.bits}`);
      } else if (b64(spki) !== g.spki) lines.push(`${c.name}: public half differs from Go's`);
      if (o.facts.type === 'ec' && o.facts.curve !== g.curve) lines.push(`${c.name}: curve go ${g.curve} ours ${o.facts.curve}`);
    }
  });
  console.log(`\nkey corpus: ${corpus.length} cases, Go accepts ${accepted}`);
  assert.equal(lines, []);
  assert.ok(accepted >= 20 && corpus.length - accepted >= 20, 'the corpus exercises both verdicts');
});

keysSuite('certgen writes every key type byte for byte as Go writes it (PEM and .pk8)', async () => {
  for (const t of KEY_TYPES) {
    const k = (await generateKey(keyParams(t, 2048))).privateKey;
    const text = privateKeyToPem(k);
    const label = /^-----BEGIN ([A-Z ]+)-----/.exec(text)?.[1];
    assert.is(label, { rsa: 'RSA PRIVATE KEY', 'ecdsa-p256': 'EC PRIVATE KEY', 'ecdsa-p384': 'EC PRIVATE KEY', ed25519: 'PRIVATE KEY' }[t], t);
    const [g] = keycheck([{ op: 'key', key: file(text) }]);
    assert.ok(g?.ok, `${t}: ${g?.error}`);
    const body = Buffer.from(text.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
    assert.is(body.toString('base64'), g?.native, `${t}: PEM body is Go's encoding`);
    const pk8 = privateKeyToPkcs8Der(k);
    assert.is(pk8.toString('base64'), g?.pkcs8, `${t}: .pk8 is Go's MarshalPKCS8PrivateKey`);
    const facts = readPkcs8Der(pk8);
    assert.is(keyFactsText(facts), { rsa: 'RSA 2048', 'ecdsa-p256': 'ECDSA P-256', 'ecdsa-p384': 'ECDSA P-384', ed25519: 'Ed25519' }[t]);
  }
});

const trees = suite('mixed trees against Go');

const SIG_ALG: Record<KeyType, string> = { rsa: 'SHA256-RSA', 'ecdsa-p256': 'ECDSA-SHA256', 'ecdsa-p384': 'ECDSA-SHA384', ed25519: 'Ed25519' };

trees('every CA type signs every leaf type; the match and the signature check agree with Go', async () => {
  const now = new Date();
  const made = new Map<KeyType, { key: KeyObject; ca: Uint8Array; caFile: string; keyFile: string }>();
  for (const t of KEY_TYPES) {
    const key = (await generateKey(keyParams(t, 1024))).privateKey;
    const ca = await issueCertificate({ kind: 'ca', subjectKey: key, signer: await toSigner(key), commonName: CA_COMMON_NAME, now, lifetimeMs: 864e5 * 30, serial: randomBytes(16) });
    const caDer = new Uint8Array(ca.rawData);
    made.set(t, { key, ca: caDer, caFile: file(pem('CERTIFICATE', caDer)), keyFile: file(privateKeyToPem(key)) });
  }
  const requests: Parameters<typeof keycheck>[0] = [];
  const expect: { name: string; pair: boolean; sig: boolean; sigAlg: string }[] = [];
  const oursSaid: { pair: boolean; sig: boolean }[] = [];
  for (const caType of KEY_TYPES) {
    const issuer = made.get(caType)!;
    const caX = new x509.X509Certificate(bytes(issuer.ca));
    for (const leafType of KEY_TYPES) {
      const leafKey = (await generateKey(keyParams(leafType, 1024))).privateKey;
      const cert = await issueCertificate({ kind: 'node', subjectKey: leafKey, signer: await toSigner(issuer.key), issuer: caX, commonName: 'node', hosts: ['localhost'], now, lifetimeMs: 864e5, serial: randomBytes(16) });
      const certDer = new Uint8Array(cert.rawData);
      const certFile = file(pem('CERTIFICATE', certDer));
      const facts = parseCertificate(certDer);
      const caFacts = parseCertificate(issuer.ca);
      const keyFile = file(privateKeyToPem(leafKey));
      // The leaf with its own key, with the CA's key (another key, same type when caType = leafType), and
      // the signature with its own CA and with another CA.
      const otherCa = made.get(KEY_TYPES[(KEY_TYPES.indexOf(caType) + 1) % KEY_TYPES.length] as KeyType)!;
      const flipped = Uint8Array.from(certDer);
      flipped[flipped.length - 5] = (flipped[flipped.length - 5] as number) ^ 1;
      for (const [label, kf, kt] of [['own key', keyFile, privateKeyToPem(leafKey)], ['CA key', issuer.keyFile, privateKeyToPem(issuer.key)]] as const) {
        requests.push({ op: 'pair', cert: certFile, key: kf });
        expect.push({ name: `${caType} CA → ${leafType} leaf, ${label}`, pair: true, sig: false, sigAlg: '' });
        oursSaid.push({ pair: keyMatchesCert(readPrivateKeyPem(kt), facts), sig: false });
      }
      for (const [label, caFile, ca, c] of [['own CA', issuer.caFile, caFacts, certDer], ['other CA', otherCa.caFile, parseCertificate(otherCa.ca), certDer], ['flipped signature', issuer.caFile, caFacts, flipped]] as const) {
        requests.push({ op: 'sig', cert: file(pem('CERTIFICATE', c)), ca: caFile });
        expect.push({ name: `${caType} CA → ${leafType} leaf, ${label}`, pair: false, sig: true, sigAlg: SIG_ALG[caType] });
        let sig = false;
        try {
          sig = issuedBy(parseCertificate(c), ca);
        } catch {
          sig = false;
        }
        oursSaid.push({ pair: false, sig });
      }
    }
  }
  const go = keycheck(requests);
  const lines: string[] = [];
  let goOk = 0;
  go.forEach((g, i) => {
    const e = expect[i]!;
    const o = oursSaid[i]!;
    if (g.ok) goOk++;
    const us = e.pair ? o.pair : o.sig;
    if (us !== g.ok) lines.push(`${e.name}: Go ${g.ok ? 'ok' : g.error}; ours ${us}`);
    if (e.sig && g.sigAlg !== e.sigAlg) lines.push(`${e.name}: signature algorithm ${g.sigAlg}, wants ${e.sigAlg}`);
  });
  assert.equal(lines, []);
  // 16 combinations: own key and own CA succeed; the other three fail.
  assert.is(goOk, 16 * 2);
});

keysSuite.run();
trees.run();
