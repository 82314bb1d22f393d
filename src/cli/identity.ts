// The age identities a command decrypts with (keys that exist only as `<key>.age`, a CA key at
// caKey ending in .age): `--identity FILE`, else CERTGEN_AGE_IDENTITY, the identity itself as a CI
// secret holds it. Never a flag value holding the identity: it would show in `ps` and shell history.
import type { Io } from './io.js';
import { AGE_IDENTITY_ENV } from '../io/child-env.js';

export const IDENTITY_FLAG_HELP = 'age identity file (age-keygen): decrypt keys that exist only as <key>.age, and a caKey ending in .age (or CERTGEN_AGE_IDENTITY holding the identity)';

/** The identities, or none given. A bad one is one line (pki/age.ts) that never shows its text. */
export async function identitiesFor(io: Io, flags: { identity?: string }): Promise<{ identities?: string[] }> {
  const { readIdentityFile, parseIdentities } = await import('../pki/age.js');
  if (flags.identity !== undefined) return { identities: await readIdentityFile(flags.identity) };
  const env = io.env[AGE_IDENTITY_ENV];
  if (env !== undefined && env.trim() !== '') return { identities: await parseIdentities(env, AGE_IDENTITY_ENV) };
  return {};
}
