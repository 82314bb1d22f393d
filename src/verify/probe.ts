// What a node presents on its TLS endpoints, read from a fresh connection: the SQL port (the
// PostgreSQL wire start, an 8-byte SSLRequest answered by `S`, then TLS, as CockroachDB and
// PostgreSQL both speak it), the RPC port (raw TLS offering ALPN h2) and the HTTP port (raw TLS).
// Nothing is trusted or refused here: the handshake accepts whatever the server sends, and the
// certificates are returned for compare.ts to judge against the local files. With a client
// certificate, the probe also says whether the server accepted it: with TLS 1.3 the server's
// verdict on the client's certificate arrives after the client's handshake is done, so the probe
// sends the protocol's opening message and reads until the server's first message (accepted),
// an alert or a close (refused), or the timeout (no answer).
import { createHash, X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

export type EndpointKind = 'sql' | 'rpc' | 'http';

export const ENDPOINT_KINDS: readonly EndpointKind[] = ['sql', 'rpc', 'http'];

/** CockroachDB's SQL (and RPC) port unless the spec's `verify:` says otherwise. */
export const DEFAULT_SQL_PORT = 26257;

/** Longest one probe connection (connect, handshake, the client verdict) may take (ms) by default. */
export const DEFAULT_PROBE_TIMEOUT_MS = 5_000;

export interface Endpoint {
  kind: EndpointKind;
  host: string;
  port: number;
}

/** A client certificate to present: PEM texts held in memory only (see probe-cert.ts). */
export interface ClientCredentials {
  /** How results name it: `client root`, `probe certificate`. */
  label: string;
  /** PEM: the certificate (optionally followed by intermediates). */
  cert: string;
  /** PEM private key. The caller owns the buffer (and may zero it afterwards). */
  key: Buffer;
  /** The certificate's CN, sent as the user of the SQL port's startup message. */
  user: string;
}

export interface ProbeOptions {
  /** Per connection; default {@link DEFAULT_PROBE_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** SNI to send (a DNS name; never an IP address, which TLS forbids). Default: none. */
  servername?: string;
  /** Present this client certificate and report the server's verdict on it. */
  client?: ClientCredentials;
}

/** Why no certificate could be read from an endpoint. */
export type ProbeFailure = 'connect' | 'timeout' | 'no-tls' | 'handshake';

/** The presented leaf, as reports show it. */
export interface PresentedLeaf {
  /** Lower-case hex SHA-256 of the DER: the same as `sha256sum` of the DER, `openssl x509 -fingerprint -sha256` without colons. */
  sha256: string;
  /** `AB:CD:…`, as openssl prints it. */
  fingerprint: string;
  subject: string;
  issuer: string;
  serial: string;
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  /** As X509Certificate.subjectAltName prints it (`DNS:a, IP Address:1.2.3.4`), or null. */
  subjectAltName: string | null;
}

/** The server's verdict on the client certificate the probe presented. */
export interface ClientVerdict {
  /** ClientCredentials.label. */
  offered: string;
  /** true: the server sent its first message; false: an alert or a close; null: no answer in time. */
  accepted: boolean | null;
  /** One line: what the server did. */
  detail: string;
}

/** What one endpoint presented on one fresh connection. */
export interface Presentation {
  kind: EndpointKind;
  host: string;
  port: number;
  /** Whether a TLS handshake completed (then `leaf` and `chain` are set). */
  reached: boolean;
  failure: ProbeFailure | null;
  /** One line when `reached` is false. */
  error: string | null;
  /** `TLSv1.3`. */
  protocol: string | null;
  /** The ALPN protocol the server chose, or null (none, or the server ignored ALPN). */
  alpn: string | null;
  leaf: PresentedLeaf | null;
  /** DER of every certificate the server sent, leaf first. */
  chain: Buffer[];
  /** Null when no client certificate was presented. */
  client: ClientVerdict | null;
  durationMs: number;
}

/** PostgreSQL's SSLRequest: length 8, code 1234.5679 (80877103). */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** The HTTP/2 client connection preface followed by an empty SETTINGS frame. */
const H2_PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

/** A PostgreSQL StartupMessage (protocol 3.0) for `user`. */
function startupMessage(user: string): Buffer {
  const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), Buffer.from(`user\0${user}\0application_name\0certgen-verify\0\0`, 'utf8')]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length + 4);
  return Buffer.concat([len, body]);
}

/** What the probe sends after the handshake so that the server answers with its first message. */
function openingMessage(ep: Endpoint, user: string): Buffer {
  switch (ep.kind) {
    case 'sql':
      return startupMessage(user);
    case 'rpc':
      return H2_PREFACE;
    case 'http': {
      const host = ep.host.includes(':') ? `[${ep.host}]` : ep.host;
      return Buffer.from(`GET /health HTTP/1.1\r\nHost: ${host}:${ep.port}\r\nUser-Agent: certgen-verify\r\nConnection: close\r\n\r\n`, 'latin1');
    }
  }
}

/** `a:b:…` of a hex string, upper case. */
export function colonHex(hex: string): string {
  return (hex.toUpperCase().match(/../g) ?? []).join(':');
}

export function leafOf(der: Buffer): PresentedLeaf {
  const sha256 = createHash('sha256').update(der).digest('hex');
  let x: X509Certificate | undefined;
  try {
    x = new X509Certificate(der);
  } catch {
    /* a certificate OpenSSL cannot parse: only its sum is known */
  }
  return {
    sha256,
    fingerprint: colonHex(sha256),
    subject: x?.subject.replace(/\n/g, ', ') ?? '',
    issuer: x?.issuer.replace(/\n/g, ', ') ?? '',
    serial: x?.serialNumber ?? '',
    notBefore: x === undefined ? '' : new Date(x.validFrom).toISOString(),
    notAfter: x === undefined ? '' : new Date(x.validTo).toISOString(),
    subjectAltName: x?.subjectAltName ?? null,
  };
}

/** The DER chain the server sent, leaf first, from Node's peer-certificate objects. */
function peerChain(sock: tls.TLSSocket): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  let c = sock.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined;
  while (c !== undefined && c.raw !== undefined && c.raw.length > 0) {
    const key = c.raw.toString('base64');
    if (seen.has(key)) break; // a self-signed certificate is its own issuer
    seen.add(key);
    out.push(Buffer.from(c.raw));
    c = c.issuerCertificate;
  }
  return out;
}

/** An OpenSSL error in words: its reason (`tlsv1 alert unknown ca`) and the alert number, else the message's first line. */
function tlsErrorText(err: Error): string {
  const reason = (err as Error & { reason?: unknown }).reason;
  const alert = /SSL alert number (\d+)/.exec(err.message)?.[1];
  if (typeof reason === 'string' && reason !== '') return `${reason}${alert !== undefined ? ` (TLS alert ${alert})` : ''}`;
  return (err.message.split('\n')[0] ?? err.message).trim();
}

function connectErrorText(err: NodeJS.ErrnoException, ep: Endpoint): string {
  const where = `${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where} (nothing listens there)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve ${ep.host}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${where} is unreachable`;
    default:
      return `cannot connect to ${where}: ${err.message}`;
  }
}

/** A plain TCP socket, connected, or the reason it is not. */
function connectTcp(ep: Endpoint, timeoutMs: number): Promise<{ sock: net.Socket } | { error: string; failure: ProbeFailure }> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: ep.host, port: ep.port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ error: `no TCP connection to ${ep.host}:${ep.port} within ${timeoutMs} ms`, failure: 'timeout' });
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve({ sock });
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ error: connectErrorText(err, ep), failure: 'connect' });
    });
  });
}

/** The SQL port's answer to the SSLRequest: `S` to go on with TLS, anything else a reason not to. */
function sslRequest(sock: net.Socket, deadline: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const done = (why: string | undefined): void => {
      clearTimeout(timer);
      sock.removeListener('data', onData);
      sock.removeListener('error', onError);
      sock.removeListener('close', onClose);
      resolve(why);
    };
    const onData = (b: Buffer): void => {
      const c = b[0];
      // Anything after the one byte would be a protocol violation: the server never speaks first.
      if (c === 0x53 /* S */ && b.length === 1) done(undefined);
      else if (c === 0x53) done('the SQL port answered the SSLRequest with more than the byte "S"');
      else if (c === 0x4e /* N */) done('the SQL port does not offer TLS (it answered the SSLRequest with "N")');
      else if (c === 0x45 /* E */) done(`the SQL port refused the SSLRequest: ${b.subarray(1).toString('latin1').replace(/\0/g, ' ').trim()}`);
      else if (c === 0x15) done('the port answered the SSLRequest with a TLS alert: it speaks raw TLS (an RPC or HTTP port?), not the SQL protocol');
      else done(`the port answered the SSLRequest with byte 0x${(c ?? 0).toString(16).padStart(2, '0')}: not a PostgreSQL/CockroachDB SQL port`);
    };
    const onError = (err: Error): void => done(`connection failed during the SSLRequest: ${err.message}`);
    const onClose = (): void => done('the server closed the connection after the SSLRequest: not a PostgreSQL/CockroachDB SQL port?');
    const timer = setTimeout(() => done('no answer to the SSLRequest in time'), Math.max(1, deadline - Date.now()));
    sock.on('data', onData);
    sock.once('error', onError);
    sock.once('close', onClose);
    sock.write(SSL_REQUEST);
  });
}

type Handshake = { sock: tls.TLSSocket } | { error: string; failure: ProbeFailure };

function handshake(ep: Endpoint, o: ProbeOptions, deadline: number, socket: net.Socket | undefined): Promise<Handshake> {
  return new Promise((resolve) => {
    const opts: tls.ConnectionOptions = {
      // Judged by compare.ts against the local files; here every certificate is read.
      rejectUnauthorized: false,
      ...(socket !== undefined ? { socket } : { host: ep.host, port: ep.port }),
      ...(o.servername !== undefined ? { servername: o.servername } : {}),
      ...(ep.kind === 'rpc' ? { ALPNProtocols: ['h2'] } : {}),
      ...(o.client !== undefined ? { cert: o.client.cert, key: o.client.key } : {}),
    };
    let sock: tls.TLSSocket;
    const finish = (r: Handshake): void => {
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      sock.destroy();
      finish({ error: `no TLS handshake with ${ep.host}:${ep.port} in time`, failure: 'timeout' });
    }, Math.max(1, deadline - Date.now()));
    try {
      sock = tls.connect(opts);
    } catch (err) {
      clearTimeout(timer);
      resolve({ error: `cannot start TLS: ${(err as Error).message}`, failure: 'handshake' });
      return;
    }
    sock.once('secureConnect', () => {
      sock.removeAllListeners('error');
      finish({ sock });
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      sock.destroy();
      if (socket === undefined && err.code !== undefined && /^E[A-Z]+$/.test(err.code) && !err.code.startsWith('ERR_')) {
        finish({ error: connectErrorText(err, ep), failure: 'connect' });
      } else {
        finish({ error: `TLS handshake failed: ${tlsErrorText(err)}`, failure: 'handshake' });
      }
    });
  });
}

/**
 * After a handshake with a client certificate: the server's first message (accepted), or an
 * alert / close before it (refused), or nothing until the deadline (no answer).
 */
function clientVerdict(sock: tls.TLSSocket, ep: Endpoint, client: ClientCredentials, deadline: number): Promise<ClientVerdict> {
  return new Promise((resolve) => {
    const done = (accepted: boolean | null, detail: string): void => {
      clearTimeout(timer);
      sock.removeAllListeners('data');
      sock.removeAllListeners('error');
      sock.removeAllListeners('end');
      sock.removeAllListeners('close');
      sock.on('error', () => {});
      resolve({ offered: client.label, accepted, detail });
    };
    const timer = setTimeout(() => done(null, 'the server sent nothing after the handshake in time'), Math.max(1, deadline - Date.now()));
    sock.on('data', (b: Buffer) => done(true, `the server answered (${describeFirstMessage(ep.kind, b)})`));
    sock.once('error', (err: Error) => done(false, `the server refused the certificate: ${tlsErrorText(err)}`));
    sock.once('end', () => done(false, 'the server closed the connection before its first message'));
    sock.once('close', () => done(false, 'the server closed the connection before its first message'));
    sock.write(openingMessage(ep, client.user));
  });
}

/** A few words on what a server's first message was, for the verdict's detail. */
function describeFirstMessage(kind: EndpointKind, b: Buffer): string {
  if (kind === 'sql') {
    const t = String.fromCharCode(b[0] ?? 0);
    if (t === 'R') return 'an authentication request';
    if (t === 'E') {
      const m = /M([^\0]*)\0/.exec(b.subarray(5).toString('utf8'));
      return `an error message${m !== null ? `: ${m[1]}` : ''}`;
    }
    return `a message of type ${JSON.stringify(t)}`;
  }
  if (kind === 'rpc') return b.length >= 4 && b[3] === 4 ? 'an HTTP/2 SETTINGS frame' : 'HTTP/2 data';
  const line = b.toString('latin1').split('\r\n', 1)[0] ?? '';
  return line.startsWith('HTTP/') ? line : 'data';
}

function endSocket(sock: net.Socket): void {
  sock.on('error', () => {});
  sock.destroy();
}

/**
 * Connects once to one endpoint and reads what it presents (and, given a client certificate, the
 * server's verdict on it). Never throws: every failure is in the result.
 */
export async function probeEndpoint(ep: Endpoint, options: ProbeOptions = {}): Promise<Presentation> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const deadline = started + timeoutMs;
  const base: Presentation = {
    kind: ep.kind,
    host: ep.host,
    port: ep.port,
    reached: false,
    failure: null,
    error: null,
    protocol: null,
    alpn: null,
    leaf: null,
    chain: [],
    client: null,
    durationMs: 0,
  };
  const failed = (failure: ProbeFailure, error: string): Presentation => ({ ...base, failure, error, durationMs: Date.now() - started });
  let raw: net.Socket | undefined;
  if (ep.kind === 'sql') {
    const c = await connectTcp(ep, timeoutMs);
    if ('error' in c) return failed(c.failure, c.error);
    raw = c.sock;
    const why = await sslRequest(raw, deadline);
    if (why !== undefined) {
      endSocket(raw);
      return failed(/in time$/.test(why) ? 'timeout' : 'no-tls', why);
    }
  }
  const hs = await handshake(ep, options, deadline, raw);
  if ('error' in hs) {
    if (raw !== undefined) endSocket(raw);
    const r = failed(hs.failure, hs.error);
    // Before TLS 1.3 the server's refusal of a client certificate ends the handshake itself.
    if (options.client !== undefined && hs.failure === 'handshake' && /alert/i.test(hs.error)) {
      r.client = { offered: options.client.label, accepted: false, detail: `the server refused the certificate during the handshake: ${hs.error.replace(/^TLS handshake failed: /, '')}` };
    }
    return r;
  }
  const sock = hs.sock;
  try {
    const chain = peerChain(sock);
    const first = chain[0];
    const result: Presentation = {
      ...base,
      reached: true,
      protocol: sock.getProtocol() ?? null,
      alpn: typeof sock.alpnProtocol === 'string' ? sock.alpnProtocol : null,
      leaf: first === undefined ? null : leafOf(first),
      chain,
    };
    if (first === undefined) {
      result.reached = false;
      result.failure = 'handshake';
      result.error = 'the server presented no certificate';
    }
    if (options.client !== undefined && first !== undefined) result.client = await clientVerdict(sock, ep, options.client, deadline);
    result.durationMs = Date.now() - started;
    return result;
  } finally {
    endSocket(sock);
    if (raw !== undefined) endSocket(raw);
  }
}

/** The ports a node is probed on (from the spec's `verify:` block). */
export interface NodePorts {
  sql?: number;
  rpc?: number;
  http?: number;
}

/** The endpoints of a host, in the order sql, rpc, http; only the ports given. */
export function endpointsOf(host: string, ports: NodePorts): Endpoint[] {
  return ENDPOINT_KINDS.flatMap((kind) => (ports[kind] === undefined ? [] : [{ kind, host, port: ports[kind] as number }]));
}

/** Every endpoint of a node at once, one fresh connection each; the results in endpointsOf's order. */
export function probeNode(host: string, ports: NodePorts, options: ProbeOptions = {}): Promise<Presentation[]> {
  return Promise.all(endpointsOf(host, ports).map((ep) => probeEndpoint(ep, options)));
}
