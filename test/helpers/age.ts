// age identities made with Debian's age-keygen, and age -d, for the encrypted-key tests.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

export interface Identity {
  file: string;
  recipient: string;
  text: string;
}

export async function identity(dir: string, name: string): Promise<Identity> {
  const file = path.join(dir, name);
  await execa('age-keygen', ['-o', file]);
  const recipient = (await execa('age-keygen', ['-y', file])).stdout.trim();
  return { file, recipient, text: readFileSync(file, 'utf8') };
}

/** `age -d` of a file with an identity: its plaintext, or the CLI's failure. */
export async function ageDecrypt(file: string, id: Identity): Promise<{ code: number; out: Buffer }> {
  const r = await execa('age', ['-d', '-i', id.file, file], { reject: false, encoding: 'buffer', stripFinalNewline: false });
  return { code: r.exitCode ?? -1, out: Buffer.from(r.stdout) };
}
