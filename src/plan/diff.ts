// Pure: compares the desired cluster (spec) with the facts read from disk and returns the plan.
// No I/O and no clock: `now` is an argument, so every reason is reproducible in tests.
import type { CertFacts } from '../pki/read/cert.js';
import { keyMatchesCert, readPkcs8Der, sameKey, type KeyFacts } from '../pki/read/key.js';
import { isSignedBy } from '../pki/read/verify.js';
import { classifyHosts, formatIP } from '../core/hosts.js';
import { formatDuration, formatMs } from '../core/duration.js';
import { CA_CERT } from '../core/cert-names.js';
import { formatFileMode } from '../core/filemode.js';
import { stagedTarget } from '../core/staging-name.js';
import { CERT_MODE, CLIENTS_DIR, DIR_MODE, KEY_MODE, LOCK_FILE, NODES_DIR, desiredArtifacts, type Artifact, type ManagedFile } from '../tree/layout.js';
import { certsOf, keyOf, type ActualTree, type FileFact } from '../tree/read-tree.js';
import type { ClusterSpec } from '../cluster-spec/spec.js';
import { PLAN_VERSION, type Change, type Plan, type PlanError, type Reason } from './types.js';

const DAY_MS = 24 * 3600 * 1000;
/** NotBefore is backdated by a day (cockroach's validFrom), so validity = lifetime + 24h. */
const BACKDATE_MS = DAY_MS;
/** Certificate times have second precision; allow for truncation at both ends. */
const LIFETIME_TOLERANCE_MS = 2000;

export interface DiffInput {
  spec: ClusterSpec;
  tree: ActualTree;
  now: Date;
  /** Remove orphans (`--prune`). */
  prune?: boolean;
  /** How to name the spec file in the plan (defaults to spec.file). */
  specFile?: string;
  /** How to name the certs dir in the plan (defaults to spec.certsDir). */
  certsDirLabel?: string;
}

function hours(ns: bigint): number {
  return Number(ns / 1_000_000n) / 3_600_000;
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/** Desired mode vs actual: `mode-too-open` when any extra bit is set, else `mode-changed`. */
function modeReason(rel: string, actual: number, wanted: number): Reason | undefined {
  const m = actual & 0o777;
  if (m === wanted) return undefined;
  const tooOpen = (m & ~wanted) !== 0;
  return {
    code: tooOpen ? 'mode-too-open' : 'mode-changed',
    message: `${rel} is ${octal(m)} (${formatFileMode(m)}), wants ${octal(wanted)}`,
    file: rel,
    actual: octal(m),
    expected: octal(wanted),
  };
}

/** certgen keeps the tree's own files and folders as real entries: a symlink among them could lead
 * a write (or a prune) outside the certs dir, so it is refused rather than followed or replaced. */
function symlinkError(artifact: string, f: FileFact, what: 'file' | 'folder'): PlanError {
  return {
    artifact,
    code: 'symlink',
    message: `${f.rel} is a symlink${f.target ? ` to ${f.target}` : ''}: certgen never reads or writes through a symlink inside the certs dir; put the real ${what} there, or remove the link to have it made`,
  };
}

/** Something other than a folder (or a folder that cannot be listed) where a folder belongs. */
function notAFolder(artifact: string, rel: string, f: FileFact): PlanError {
  return { artifact, code: 'unreadable', message: `${rel} is a ${f.type === 'error' ? `folder that cannot be read (${f.error})` : f.type}, not a folder: move it away` };
}

interface CAState {
  /** What happens to the CA in this plan. */
  action: 'create' | 'keep' | 'error';
  first?: CertFacts;
  /** Current bundle bytes when the CA is kept (each folder's ca.crt must equal them). */
  bundle?: Buffer;
}


/** Hosts in their canonical text: DNS names as written, IPs as Go prints them. */
function canonicalHosts(hosts: string[]): string[] {
  const { dns, ips } = classifyHosts(hosts);
  return [...dns, ...ips.map(formatIP)];
}

function multisetDiff(want: string[], have: string[]): { added: string[]; removed: string[] } {
  const count = (xs: string[]): Map<string, number> => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  const w = count(want);
  const h = count(have);
  const added = [...w].flatMap(([k, n]) => Array(Math.max(0, n - (h.get(k) ?? 0))).fill(k) as string[]);
  const removed = [...h].flatMap(([k, n]) => Array(Math.max(0, n - (w.get(k) ?? 0))).fill(k) as string[]);
  return { added, removed };
}

interface LeafWant {
  artifact: Artifact;
  cn: string;
  hosts?: string[];
  keySize: number;
  lifetime: bigint;
  renewBefore: bigint;
  serverAuth: boolean;
}

export function diff(input: DiffInput): Plan {
  const { spec, tree, now } = input;
  const nowMs = now.getTime();
  const changes: Change[] = [];
  const errors: PlanError[] = [];
  const warnings: string[] = [];
  const entry = (rel: string): FileFact => tree.entries[rel] ?? { rel, type: 'missing', mode: 0, uid: 0, gid: 0 };
  const artifacts = desiredArtifacts(spec);
  const maxRenewBefore = [...spec.nodes, ...spec.clients].reduce((m, l) => (l.renewBefore > m ? l.renewBefore : m), 0n);

  const planOf = (): Plan => ({
    version: PLAN_VERSION,
    now: now.toISOString(),
    specFile: input.specFile ?? spec.file,
    certsDir: input.certsDirLabel ?? spec.certsDir,
    prune: input.prune ?? false,
    changes,
    errors,
    warnings,
  });
  if (tree.rootError !== undefined) {
    errors.push({ artifact: 'certs-dir', code: 'unreadable', message: `the certs dir ${input.certsDirLabel ?? spec.certsDir} ${tree.rootError}: nothing can be planned until it can be read` });
    return planOf();
  }
  if (tree.caKeyInTree !== undefined) {
    errors.push({
      artifact: 'ca',
      code: 'ca-key-in-certs-dir',
      message: `the CA key ${spec.caKey} really lies inside the certs dir (at ${tree.caKeyInTree || '.'}, through a symlink): move it out, the certs dir is what gets distributed`,
    });
  }

  // --- the CA -------------------------------------------------------------------------------
  const ca: CAState = { action: 'keep' };
  const caFile = entry(CA_CERT);
  const caKey = tree.caKey;
  const caChange: Change = { artifact: 'ca', kind: 'ca', action: 'keep', files: [CA_CERT], reasons: [] };
  // The CA key's path may be a link the operator made; one that leads nowhere is not "missing".
  const danglingKey = caKey.type === 'symlink';
  if (danglingKey) {
    ca.action = 'error';
    errors.push({
      artifact: 'ca',
      code: 'symlink',
      message: `the CA key ${spec.caKey} is a symlink to ${caKey.target ?? '?'}, which does not exist: restore the key it points to, or remove the link to have a new CA made`,
    });
  }
  // A CA key others could read may already have been copied: narrowing the mode quietly would
  // hide that, so (like ssh with an open private key) certgen stops and says so.
  const exposedKey = caKey.type === 'file' && (caKey.mode & 0o077) !== 0;
  if (exposedKey) {
    ca.action = 'error';
    errors.push({
      artifact: 'ca',
      code: 'mode-too-open',
      message: `the CA key ${spec.caKey} is ${octal(caKey.mode & 0o777)} (${formatFileMode(caKey.mode & 0o777)}), open to group or others: it may have been copied. chmod 600 it, and rotate the CA if it may have leaked`,
    });
  }
  if (caFile.type === 'symlink') {
    ca.action = 'error';
    errors.push(symlinkError('ca', caFile, 'file'));
  } else if (caFile.type === 'missing' && (danglingKey || exposedKey)) {
    // reported above: nothing safe to create a CA from
  } else if (caFile.type === 'missing') {
    ca.action = 'create';
    caChange.action = 'create';
    if (caKey.type === 'missing') {
      caChange.reasons.push({ code: 'missing', message: `${CA_CERT} and the CA key do not exist: a new CA is created`, file: CA_CERT });
    } else {
      try {
        keyOf(caKey);
        caChange.reasons.push({ code: 'missing', message: `${CA_CERT} does not exist: a CA certificate is made for the existing key ${spec.caKey}`, file: CA_CERT });
      } catch (err) {
        ca.action = 'error';
        errors.push({ artifact: 'ca', code: 'unreadable', message: `CA key ${spec.caKey} cannot be used (${(err as Error).message}): fix or move it away before creating the CA` });
      }
    }
  } else {
    try {
      const bundle = certsOf(caFile);
      ca.first = bundle[0];
      ca.bundle = caFile.bytes;
    } catch (err) {
      ca.action = 'error';
      errors.push({ artifact: 'ca', code: 'unreadable', message: `${CA_CERT} cannot be read as a CA bundle (${(err as Error).message}): restore it from a backup, or move it away to create a new CA` });
    }
    if (ca.first) {
      const first = ca.first;
      let key: KeyFacts | undefined;
      if (danglingKey) {
        // reported above
      } else if (caKey.type === 'missing') {
        ca.action = 'error';
        errors.push({
          artifact: 'ca',
          code: 'ca-key-missing',
          message: `the CA key ${spec.caKey} is missing but ${CA_CERT} exists: restore the key (certgen cannot sign without it), or move ${CA_CERT} away to start a new CA (every certificate will be reissued)`,
        });
      } else {
        try {
          key = keyOf(caKey);
        } catch (err) {
          ca.action = 'error';
          errors.push({ artifact: 'ca', code: 'unreadable', message: `the CA key ${spec.caKey} cannot be read (${(err as Error).message})` });
        }
      }
      if (key && !keyMatchesCert(key, first)) {
        ca.action = 'error';
        // "does not match" sends an operator hunting for another RSA key; say when it cannot be one.
        const kind = key.type !== 'rsa' && first.publicKey.type === 'rsa' ? ` (it is not an RSA key; the CA certificate's key is RSA-${first.publicKey.bits ?? 0})` : '';
        errors.push({ artifact: 'ca', code: 'key-mismatch', message: `the CA key ${spec.caKey} does not match the first certificate in ${CA_CERT}${kind}: point caKey at the right key, or restore ${CA_CERT}` });
      }
      const notAfter = first.notAfter.getTime();
      if (notAfter <= nowMs) {
        ca.action = 'error';
        errors.push({ artifact: 'ca', code: 'expired', message: `the CA expired on ${first.notAfter.toISOString()}: rotate the CA (create a new CA key and certificate, prepend it to ${CA_CERT}, then reissue every certificate)` });
      } else if (BigInt(notAfter - nowMs) * 1_000_000n < maxRenewBefore) {
        ca.action = 'error';
        errors.push({
          artifact: 'ca',
          code: 'ca-expiring',
          message: `the CA expires on ${first.notAfter.toISOString()} (${formatMs(notAfter - nowMs)} left), inside the renewal window of its leaves (${formatDuration(maxRenewBefore)}): rotate the CA now`,
        });
      }
      const caBits = first.publicKey.type === 'rsa' ? first.publicKey.bits : undefined;
      if (caBits !== undefined && caBits !== spec.ca.keySize) {
        warnings.push(`the CA key is ${caBits} bits but the spec asks for ${spec.ca.keySize}: certgen never replaces a CA by itself; rotate it deliberately`);
      }
      const caLifetimeMs = first.notAfter.getTime() - first.notBefore.getTime() - BACKDATE_MS;
      const wantMs = Number(spec.ca.lifetime / 1_000_000n);
      if (Math.abs(caLifetimeMs - wantMs) > LIFETIME_TOLERANCE_MS) {
        warnings.push(`the CA lifetime is ${formatMs(caLifetimeMs)} but the spec asks for ${formatDuration(spec.ca.lifetime)}: certgen never replaces a CA by itself`);
      }
      if (ca.action === 'keep') {
        const reasons = [modeReason(CA_CERT, caFile.mode, CERT_MODE), caKey.type === 'file' ? modeReason(spec.caKey, caKey.mode, KEY_MODE) : undefined].filter((r): r is Reason => r !== undefined);
        if (reasons.length > 0) {
          caChange.action = 'fix-mode';
          caChange.reasons = reasons;
          caChange.files = reasons.map((r) => r.file ?? CA_CERT);
        }
      }
    }
  }
  if (ca.action !== 'error') changes.push(caChange);

  // --- nodes and clients --------------------------------------------------------------------
  const wants: LeafWant[] = [];
  const nodes = new Map(spec.nodes.map((n) => [`node/${n.name}`, n]));
  const clients = new Map(spec.clients.map((c) => [`client/${c.user}`, c]));
  for (const a of artifacts) {
    if (a.kind === 'node') {
      const n = nodes.get(a.id);
      if (n) wants.push({ artifact: a, cn: 'node', hosts: n.hosts, keySize: n.keySize, lifetime: n.lifetime, renewBefore: n.renewBefore, serverAuth: true });
    } else if (a.kind === 'client') {
      const c = clients.get(a.id);
      if (c) wants.push({ artifact: a, cn: c.user, keySize: c.keySize, lifetime: c.lifetime, renewBefore: c.renewBefore, serverAuth: false });
    }
  }

  // nodes/ and clients/ themselves: one error for the folder rather than one per node or client.
  const blockedTops = new Set<string>();
  for (const top of [NODES_DIR, CLIENTS_DIR]) {
    const f = entry(top);
    if (f.type === 'dir' || f.type === 'missing' || !wants.some((w) => w.artifact.dir.startsWith(`${top}/`))) continue;
    blockedTops.add(top);
    errors.push(f.type === 'symlink' ? symlinkError(top, f, 'folder') : notAFolder(top, top, f));
  }

  for (const w of wants) {
    const a = w.artifact;
    if (blockedTops.has(a.dir.slice(0, a.dir.indexOf('/')))) continue;
    const file = (role: ManagedFile['role']): ManagedFile | undefined => a.files.find((f) => f.role === role);
    const certF = file('cert') as ManagedFile;
    const keyF = file('key') as ManagedFile;
    const bundleF = file('ca-bundle') as ManagedFile;
    const pk8F = file('pkcs8');
    const dirFact = entry(a.dir);
    if (dirFact.type === 'symlink') {
      errors.push(symlinkError(a.id, dirFact, 'folder'));
      continue;
    }
    const linked = a.files.map((f) => entry(f.rel)).filter((f) => f.type === 'symlink');
    if (linked.length > 0) {
      errors.push(...linked.map((f) => symlinkError(a.id, f, 'file')));
      continue;
    }
    if (dirFact.type !== 'dir' && dirFact.type !== 'missing') {
      errors.push(notAFolder(a.id, a.dir, dirFact));
      continue;
    }
    const reissue: Reason[] = [];
    let create = false;
    const certFact = entry(certF.rel);
    const keyFact = entry(keyF.rel);
    let cert: CertFacts | undefined;
    if (certFact.type === 'missing') {
      create = keyFact.type === 'missing';
      reissue.push({ code: 'missing', message: `${certF.rel} does not exist`, file: certF.rel });
    } else {
      try {
            cert = certsOf(certFact)[0];
      } catch (err) {
        reissue.push({ code: 'unreadable', message: `${certF.rel} ${(err as Error).message}`, file: certF.rel });
      }
    }
    let key: KeyFacts | undefined;
    if (keyFact.type === 'missing') {
      if (!create) reissue.push({ code: 'key-missing', message: `${keyF.rel} does not exist`, file: keyF.rel });
    } else {
      try {
        key = keyOf(keyFact);
      } catch (err) {
        reissue.push({ code: 'unreadable', message: `${keyF.rel}: ${(err as Error).message}`, file: keyF.rel });
      }
    }
    if (cert) {
      const c = cert;
      if (key && !keyMatchesCert(key, c)) {
        reissue.push({ code: 'key-mismatch', message: `${keyF.rel} does not match ${certF.rel}`, file: keyF.rel });
      }
      if (ca.action === 'create') {
        reissue.push({ code: 'not-signed-by-ca', message: 'a new CA is being created', file: certF.rel });
      } else if (ca.first) {
        if (!isSignedBy(c, ca.first)) reissue.push({ code: 'not-signed-by-ca', message: `${certF.rel} is not signed by the CA in ${CA_CERT}`, file: certF.rel });
      }
      const cn = c.subject.cn ?? '';
      const org = c.subject.o ?? '';
      if (cn !== w.cn || org !== 'Cockroach') {
        const subject = `O=${org}, CN=${cn}`;
        reissue.push({ code: 'subject-changed', message: `subject is "${subject}", wants "O=Cockroach, CN=${w.cn}"`, file: certF.rel, actual: subject, expected: `O=Cockroach, CN=${w.cn}` });
      }
      if (w.hosts) {
        const { added, removed } = multisetDiff(canonicalHosts(w.hosts), [...c.san.dns, ...c.san.ips, ...c.san.emails.map((e) => `email:${e}`), ...c.san.uris.map((u) => `uri:${u}`), ...c.san.other]);
        if (added.length > 0 || removed.length > 0) {
          const parts = [...added.map((h) => `+${h}`), ...removed.map((h) => `-${h}`)];
          reissue.push({ code: 'hosts-changed', message: `hosts ${parts.join(' ')}`, file: certF.rel, added, removed });
        }
      }
      const bits = c.publicKey.type === 'rsa' ? c.publicKey.bits : undefined;
      if (bits !== w.keySize) {
        const found = bits === undefined ? 'not an RSA key' : `${bits} bits`;
        reissue.push({ code: 'key-size-changed', message: `key is ${found}, wants ${w.keySize}`, file: keyF.rel, actual: bits === undefined ? 'not RSA' : String(bits), expected: String(w.keySize) });
      }
      const lifetimeMs = c.notAfter.getTime() - c.notBefore.getTime() - BACKDATE_MS;
      const wantMs = Number(w.lifetime / 1_000_000n);
      if (Math.abs(lifetimeMs - wantMs) > LIFETIME_TOLERANCE_MS) {
        reissue.push({ code: 'lifetime-changed', message: `lifetime is ${formatMs(lifetimeMs)}, wants ${formatDuration(w.lifetime)}`, file: certF.rel, actual: formatMs(lifetimeMs), expected: formatDuration(w.lifetime) });
      }
      const left = c.notAfter.getTime() - nowMs;
      if (left <= 0) {
        reissue.push({ code: 'expired', message: `expired on ${c.notAfter.toISOString()}`, file: certF.rel, notAfter: c.notAfter.toISOString() });
      } else if (BigInt(left) * 1_000_000n < w.renewBefore) {
        reissue.push({
          code: 'expiring',
          message: `expires on ${c.notAfter.toISOString()}, ${formatMs(left)} left, less than renewBefore ${formatDuration(w.renewBefore)}`,
          file: certF.rel,
          notAfter: c.notAfter.toISOString(),
          timeLeft: formatMs(left),
          renewBefore: formatDuration(w.renewBefore),
        });
      }
    }

    if (reissue.length > 0) {
      const action = create ? 'create' : 'reissue';
      const files = a.files.map((f) => f.rel);
      changes.push({ artifact: a.id, kind: a.kind as 'node' | 'client', action, files, reasons: reissue });
      // A leaf signed now must fit inside the CA (cockroach's checkLifetimeAgainstCA).
      if (ca.action === 'keep' && ca.first) {
        const caLeft = ca.first.notAfter.getTime() - nowMs;
        const wantMs = Number(w.lifetime / 1_000_000n);
        if (caLeft < wantMs && caLeft > 0) {
          errors.push({
            artifact: a.id,
            code: 'ca-lifetime-too-short',
            message: `CA lifetime is ${(caLeft / 3_600_000).toFixed(6)}h, shorter than the requested ${hours(w.lifetime).toFixed(6)}h. Renew CA certificate, or set lifetime to at most ${Math.trunc(caLeft / 3_600_000)}h for ${a.id}.`,
          });
        }
      }
      continue;
    }

    // The pair is good: what remains is the bundle copy, a derived PKCS#8 file and modes.
    const bundleFact = entry(bundleF.rel);
    if (ca.action === 'keep' && ca.bundle) {
      if (bundleFact.type === 'missing') {
        changes.push({ artifact: a.id, kind: a.kind as 'node' | 'client', action: 'update-ca-bundle', files: [bundleF.rel], reasons: [{ code: 'missing', message: `${bundleF.rel} does not exist`, file: bundleF.rel }] });
      } else if (bundleFact.type !== 'file' || !bundleFact.bytes || !bundleFact.bytes.equals(ca.bundle)) {
        changes.push({
          artifact: a.id,
          kind: a.kind as 'node' | 'client',
          action: 'update-ca-bundle',
          files: [bundleF.rel],
          reasons: [{ code: 'ca-bundle-stale', message: `${bundleF.rel} differs from ${CA_CERT}`, file: bundleF.rel }],
        });
      }
    }
    if (pk8F) {
      const pk8Fact = entry(pk8F.rel);
      let matches = false;
      if (pk8Fact.type === 'file' && pk8Fact.bytes && key) {
        try {
          matches = sameKey(readPkcs8Der(pk8Fact.bytes), key);
        } catch {
          matches = false;
        }
      }
      if (!matches) {
        const code = pk8Fact.type === 'missing' ? 'missing' : 'key-mismatch';
        changes.push({
          artifact: a.id,
          kind: 'client',
          action: 'create',
          files: [pk8F.rel],
          reasons: [{ code, message: `${pk8F.rel} ${code === 'missing' ? 'does not exist' : `does not hold ${keyF.rel}`}: written from the existing key`, file: pk8F.rel }],
        });
      }
    }
    const modeReasons: Reason[] = [];
    if (dirFact.type === 'dir') {
      const r = modeReason(a.dir, dirFact.mode, DIR_MODE);
      if (r) modeReasons.push(r);
    }
    for (const f of a.files) {
      const ff = entry(f.rel);
      if (ff.type !== 'file') continue;
      const r = modeReason(f.rel, ff.mode, f.mode);
      if (r) modeReasons.push(r);
    }
    if (modeReasons.length > 0) {
      changes.push({ artifact: a.id, kind: a.kind as 'node' | 'client', action: 'fix-mode', files: modeReasons.map((r) => r.file ?? ''), reasons: modeReasons });
    }
    if (changes.length === 0 || changes[changes.length - 1]?.artifact !== a.id) changes.push({ artifact: a.id, kind: a.kind as 'node' | 'client', action: 'keep', files: [], reasons: [] });
  }

  // --- orphans: anything in the tree the spec does not ask for ------------------------------
  const wantedDirs = new Set(artifacts.map((a) => a.dir).filter((d) => d !== ''));
  const wantedFiles = new Set(artifacts.flatMap((a) => a.files.map((f) => f.rel)));
  for (const rel of Object.keys(tree.entries).sort()) {
    const f = entry(rel);
    const parts = rel.split('/');
    let orphan = false;
    if (parts.length === 1) orphan = !(rel === CA_CERT || rel === LOCK_FILE || ((rel === NODES_DIR || rel === CLIENTS_DIR) && f.type === 'dir'));
    else if (parts.length === 2) orphan = !wantedDirs.has(rel);
    else orphan = wantedDirs.has(parts.slice(0, 2).join('/')) && !wantedFiles.has(rel);
    // The CA key, or a folder holding it, is never an orphan: pruning must not be able to reach it.
    const keyRel = tree.caKeyInTree;
    if (rel === '' || (keyRel !== undefined && (keyRel === rel || keyRel.startsWith(`${rel}/`)))) continue;
    if (blockedTops.has(rel)) continue;
    if (!orphan) continue;
    const kind = f.type === 'dir' ? 'dir' : 'file';
    const artifact = parts.length === 2 && f.type === 'dir' ? `${parts[0] === NODES_DIR ? 'node' : 'client'}/${parts[1]}` : rel;
    // What a killed apply staged (apply removes these under its lock, --prune or not): saying
    // "not in the spec" would send an operator looking for a spec entry.
    const staged = f.type === 'file' ? stagedTarget(parts[parts.length - 1] as string) : undefined;
    if (staged !== undefined && (parts.length === 3 || staged === CA_CERT)) {
      changes.push({ artifact, kind, action: 'orphan', files: [rel], reasons: [{ code: 'interrupted-write', message: `${rel} was left by an interrupted apply (a staged copy of ${staged}); the next apply removes it`, file: rel }] });
      continue;
    }
    changes.push({ artifact, kind, action: 'orphan', files: [rel], reasons: [{ code: 'not-in-spec', message: `${rel}${f.type === 'dir' ? '/' : ''} is not in the spec`, file: rel }] });
  }

  return planOf();
}

