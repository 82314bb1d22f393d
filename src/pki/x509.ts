// The one import site of @peculiar/x509. Its dependency-injection container needs a Reflect
// polyfill loaded first (x509 v2 made it mandatory), and it must be told to use Node's WebCrypto;
// keeping both here guarantees the order for every caller.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
export const subtle = webcrypto.subtle;

/** A copy backed by a plain ArrayBuffer, which @peculiar/x509's types insist on. */
export function bytes(data: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(data);
}
