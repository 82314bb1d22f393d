// The environment of every program certgen starts (git, ssh): its own, without the age identity
// CERTGEN_AGE_IDENTITY may hold. ssh's ProxyCommand or LocalCommand, a git hook, credential
// helper or core.fsmonitor all inherit the environment, and none of them needs the identity
// that opens the CA key.
export const AGE_IDENTITY_ENV = 'CERTGEN_AGE_IDENTITY';

export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env[AGE_IDENTITY_ENV];
  return env;
}
