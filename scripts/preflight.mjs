// The first step of `npm test`: checks in a few milliseconds that the programs and files the
// suites use are there, and if any is missing says at once which, from which Debian package, and
// the one command that installs them all (scripts/system-deps.sh holds the package list).
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** [program looked up on PATH, Debian package] */
const onPath = [
  ['openssl', 'openssl'],
  ['gnutls-cli', 'gnutls-bin'],
  ['gnutls-serv', 'gnutls-bin'],
  ['certtool', 'gnutls-bin'],
  ['ssh', 'openssh-client'],
  ['scp', 'openssh-client'],
  ['ssh-keygen', 'openssh-client'],
  ['java', 'default-jdk-headless'],
  ['javac', 'default-jdk-headless'],
  ['chromium', 'chromium'],
  ['certutil', 'libnss3-tools'],
  ['dropbearkey', 'dropbear-bin'],
  ['go', 'golang-go'],
  ['strace', 'strace'],
  ['age', 'age'],
  ['age-keygen', 'age'],
  ['chattr', 'e2fsprogs'],
  ['setpriv', 'util-linux'],
  ['unshare', 'util-linux'],
  ['nsenter', 'util-linux'],
  ['ip', 'iproute2'],
  ['mount', 'mount'],
  ['umount', 'mount'],
  ['git', 'git'],
  ['pre-commit', 'pre-commit'],
  ['gpg', 'gpg'],
];
/** [absolute file, Debian package] */
const files = [
  ['/usr/sbin/sshd', 'openssh-server'],
  ['/usr/sbin/dropbear', 'dropbear-bin'],
  ['/usr/share/java/postgresql.jar', 'libpostgresql-jdbc-java'],
  ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', 'fonts-dejavu-core'],
];
// What test/integration/postgres.test.ts runs from the newest /usr/lib/postgresql/<version>/bin.
const PG_ROOT = '/usr/lib/postgresql';
const pgNeeded = ['initdb', 'postgres', 'pg_isready', 'psql'];

const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};
const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);

const missing = []; // [what, package]
for (const [name, pkg] of onPath) {
  if (!dirs.some((dir) => executable(path.join(dir, name)))) missing.push([`${name} (on PATH)`, pkg]);
}
for (const [file, pkg] of files) {
  if (!existsSync(file)) missing.push([file, pkg]);
}
const pgVersions = existsSync(PG_ROOT) ? readdirSync(PG_ROOT) : [];
if (!pgVersions.some((v) => pgNeeded.every((b) => executable(path.join(PG_ROOT, v, 'bin', b))))) {
  missing.push([`${pgNeeded.join(', ')} (under ${PG_ROOT}/*/bin)`, 'postgresql']);
}

if (missing.length > 0) {
  const width = Math.max(...missing.map(([what]) => what.length));
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  console.error(`preflight: ${missing.length} program(s) or file(s) the tests need are missing:`);
  for (const [what, pkg] of missing) console.error(`  ${what.padEnd(width)}  Debian package ${pkg}`);
  console.error(`\nInstall them (${packages.join(' ')}) with:\n\n  sudo bash scripts/system-deps.sh\n`);
  process.exit(1);
}
if (typeof process.getuid === 'function' && process.getuid() !== 0) {
  console.warn('preflight: warning: not root; the tests expect root (chattr, tmpfs mounts, setpriv, network namespaces), as CI runs them');
}
console.log('preflight ok: every program the tests use is installed');
