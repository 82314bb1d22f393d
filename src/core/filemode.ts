// Key-file permission messages quote modes the way Go's os.FileMode.String() prints them, e.g.
// `key file certs/node.key has permissions -rw-r--r--, exceeds -rwx------`.

/** Most permissive mode a key file may have (`maxKeyPermissions`): owner only, exec allowed. */
export const MAX_KEY_PERMISSIONS = 0o700;

/**
 * Most permissive mode for a root-owned key whose group is the process's group
 * (`maxGroupKeyPermissions`, CockroachDB ≥ v21.2): owner rwx plus group read.
 */
export const MAX_GROUP_KEY_PERMISSIONS = 0o740;

/** `S_IFMT` / `S_IFDIR` from a POSIX `st_mode` (Node's `fs.Stats.mode`). */
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

/**
 * Renders permission bits like Go's `os.FileMode.String()`: a type letter (`d` for a directory,
 * else `-`) followed by `rwxrwxrwx` with `-` for each missing bit, e.g. `-rw-r--r--`,
 * `-rwx------`, `-rwxr-----`. Only `mode & 0o777` is shown: setuid/setgid/sticky are dropped, as
 * they are in the messages CockroachDB prints for key files.
 *
 * @param mode - a POSIX mode (e.g. `fs.Stats.mode`) or bare permission bits such as `0o600`.
 */
export function formatFileMode(mode: number): string {
  // Node gives POSIX st_mode bits, not Go's FileMode type bits, so test S_IFDIR directly.
  let out = (mode & S_IFMT) === S_IFDIR ? 'd' : '-';
  const rwx = 'rwxrwxrwx';
  for (let i = 0; i < 9; i++) {
    out += mode & (1 << (8 - i)) ? rwx[i] : '-';
  }
  return out;
}
