// What the spec wants of one certificate and key pair in a leaf folder: the planner's input per
// pair (diff.ts plans it; tenant.ts says what a tenant wants). Types only.
import type { KeyParams } from '../core/key-type.js';
import type { CertParams } from './types.js';
import type { Artifact } from '../tree/layout.js';

export interface LeafWant {
  /** The artifact, or (a companion) a view of it holding only the pair's own files. */
  artifact: Artifact;
  cn: string;
  hosts?: string[];
  key: KeyParams;
  lifetime: bigint;
  renewBefore: bigint;
  serverAuth: boolean;
  /** The whole subject as the reader prints it, when it is not `O=Cockroach, CN=<cn>`. */
  subject?: string;
  /** The certificate apply signs, when not the artifact's kind (a tenant's signing certificate). */
  issueKind?: CertParams['kind'];
  /** Signed by its own key, not the CA (a tenant's signing certificate). */
  selfSigned?: true;
  /**
   * A second pair in a folder another want plans (listed right after it): its folder is checked
   * there, it has no CA bundle, and it adds no `keep` of its own.
   */
  companion?: true;
  /** Signed by the split client CA (a client's pair, a node's client.node pair); its bundle is ca-client.crt. */
  clientCa?: true;
}
