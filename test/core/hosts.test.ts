import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkDnsName, classifyHosts, describeHostProblem, formatIP, parseIP } from '../../src/core/hosts.js';

const v6 = (...bytes: number[]): number[] => bytes;

// [input, expected bytes] — largely Go's net ParseIP / netip ParseAddr test tables.
const parsed: Array<[string, number[]]> = [
  ['127.0.0.1', [127, 0, 0, 1]],
  ['127.0.1.2', [127, 0, 1, 2]],
  ['0.0.0.0', [0, 0, 0, 0]],
  ['255.255.255.255', [255, 255, 255, 255]],
  ['10.0.0.0', [10, 0, 0, 0]],
  ['::ffff:127.1.2.3', [127, 1, 2, 3]], // IPv4-mapped → 4 bytes (To4)
  ['::ffff:1.2.3.4', [1, 2, 3, 4]],
  ['::FFFF:1.2.3.4', [1, 2, 3, 4]],
  ['::ffff:7f01:0203', [127, 1, 2, 3]], // mapped, written in hex
  ['0:0:0:0:0000:ffff:127.1.2.3', [127, 1, 2, 3]],
  ['0:0:0:0::ffff:127.1.2.3', [127, 1, 2, 3]],
  ['::1', v6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)],
  ['::', v6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)],
  ['1::', v6(0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)],
  ['2001:db8::1', v6(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)],
  ['2001:DB8::1', v6(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)],
  ['2001:4860:0:2001::68', v6(0x20, 0x01, 0x48, 0x60, 0, 0, 0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x68)],
  ['2001:4860:0000:2001:0000:0000:0000:0068', v6(0x20, 0x01, 0x48, 0x60, 0, 0, 0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x68)],
  ['1:2:3:4:5:6:7:8', v6(0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8)],
  ['1:2:3:4:5:6:7::', v6(0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0)],
  ['::2:3:4:5:6:7:8', v6(0, 0, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8)],
  ['fe80::1:2', v6(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2)],
  ['64:ff9b::1.2.3.4', v6(0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4)],
  ['::1.2.3.4', v6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4)], // IPv4-compatible: stays 16
  ['1:2:3:4:5:6:1.2.3.4', v6(0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 1, 2, 3, 4)],
  ['::ffff:0:1.2.3.4', v6(0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 2, 3, 4)], // SIIT, not mapped
];

for (const [input, bytes] of parsed) {
  test(`parseIP(${JSON.stringify(input)})`, () => {
    const ip = parseIP(input);
    assert.ok(ip, 'expected an address');
    assert.instance(ip, Uint8Array);
    assert.equal(Array.from(ip), bytes);
  });
}

const notIPs = [
  '',
  'abc',
  'localhost',
  '[::1]',
  'fe80::1%eth0',
  'fe80::1%lo0',
  'fe80::1%911',
  'fe80::1%',
  '%eth0',
  '10.0.0.0/8',
  '::1/128',
  '127.0.0.1:26257',
  '[::1]:26257',
  '-0.0.0.0',
  '0.-1.0.0',
  '0.0.0.-3',
  '127.0.0.256',
  '10.0.0.300',
  '1.2.3',
  '1.2.3.4.5',
  '1.2..4',
  '.1.2.3',
  '1.2.3.',
  '010.1.1.1',
  '127.001.002.003',
  '123.000.000.000',
  '0123.0.0.1',
  '::ffff:127.001.002.003',
  ' 1.2.3.4',
  '1.2.3.4 ',
  '0x7f.0.0.1',
  '1',
  '123:',
  ':',
  ':::',
  '1:::2',
  '1::2::3',
  ':1::2',
  '1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7:8:9',
  '1:2:3:4:5:6:7:8::',
  '::1:2:3:4:5:6:7:8',
  'a1:a2:a3:a4::b1:b2:b3:b4',
  '0:0:0:0:000000:ffff:127.1.2.3',
  '12345::1',
  'g::1',
  '1:2:3:4:5:6:7:1.2.3.4', // IPv4 tail with no room
  '1:2:3:4:5:1.2.3.4', // IPv4 tail in the wrong place without ::
  '::ffff:1.2.3',
  '::a.2.3.4',
  '*.local',
  '１.２.３.４', // full-width digits
];

for (const input of notIPs) {
  test(`parseIP(${JSON.stringify(input)}) is undefined`, () => {
    assert.is(parseIP(input), undefined);
  });
}

const formatted: Array<[number[], string]> = [
  [[127, 0, 0, 1], '127.0.0.1'],
  [[0, 0, 0, 0], '0.0.0.0'],
  [v6(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), '2001:db8::1'],
  [v6(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1), '2001:db8:0:1:0:1:0:1'],
  [v6(0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0), '2001:db8:1:0:1:0:1:0'],
  [v6(0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1), '2001::1:0:0:1'],
  [v6(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0), '2001:db8:0:0:1::'],
  [v6(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1), '2001:db8::1:0:0:1'],
  [v6(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0xa, 0, 0xb, 0, 0xc, 0, 0xd), '2001:db8::a:b:c:d'],
  [v6(0xab, 0xcd, 0, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 'abcd:12::'],
  [v6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), '::'],
  [v6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), '::1'],
  [v6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4), '1.2.3.4'], // v4-mapped prints dotted
  [v6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4), '::102:304'],
  [v6(0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8), '1:2:3:4:5:6:7:8'],
  [v6(0, 1, 0, 0, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8), '1:0:3:4:5:6:7:8'], // one zero group stays
  [v6(0, 1, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 7, 0, 8), '1::4:0:0:7:8'], // tie → first run
  [v6(0, 1, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 8), '1:0:0:4::8'], // longest run wins
  [v6(0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x0a, 0xbc, 0, 0, 0, 0, 0xff, 0xff), 'fe80::abc:0:0:ffff'],
  [[], '<nil>'],
  [[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef], '?0123456789abcdef'],
];

for (const [bytes, want] of formatted) {
  test(`formatIP(${want})`, () => {
    assert.is(formatIP(Uint8Array.from(bytes)), want);
  });
}

test('formatIP(parseIP(x)) canonicalises', () => {
  const cases: Array<[string, string]> = [
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['0000:0000::0001', '::1'],
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
    ['fe80:0000:0000:0000:0abc:0000:0000:ffff', 'fe80::abc:0:0:ffff'],
  ];
  for (const [input, want] of cases) {
    const ip = parseIP(input);
    assert.ok(ip);
    assert.is(formatIP(ip), want, input);
  }
});

test('classifyHosts keeps order, separates IPs and DNS names, no de-duplication', () => {
  const got = classifyHosts([
    '127.0.0.1',
    '::1',
    'localhost',
    '*.local',
    'localhost:26257',
    '[::1]',
    'fe80::1%eth0',
    '::ffff:10.0.0.1',
    '10.0.0.300',
    'localhost',
    '127.0.0.1',
    'Node1.Example.COM',
  ]);
  assert.equal(got.dns, [
    'localhost',
    '*.local',
    'localhost:26257',
    '[::1]',
    'fe80::1%eth0',
    '10.0.0.300',
    'localhost',
    'Node1.Example.COM',
  ]);
  assert.equal(
    got.ips.map((ip) => Array.from(ip)),
    [[127, 0, 0, 1], v6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), [10, 0, 0, 1], [127, 0, 0, 1]],
  );
  assert.equal(classifyHosts([]), { dns: [], ips: [] });
});

const goodDns = [
  'localhost',
  'node1',
  'node-1.example.com',
  'Node1.Example.COM',
  '*.local',
  '*.cockroach.svc.cluster.local',
  '_grpc._tcp.example.com',
  'a',
  '1a.example',
  '10.0.0.1a',
  'xn--bcher-kva.example',
  'a'.repeat(63) + '.com',
  ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.'), // exactly 253
];

for (const name of goodDns) {
  test(`checkDnsName accepts ${JSON.stringify(name.length > 40 ? name.slice(0, 40) + '…' : name)}`, () => {
    assert.is(checkDnsName(name), undefined);
  });
}

const badDns: Array<[string, RegExp]> = [
  ['', /empty/],
  [['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(62)].join('.'), /longer than 253/],
  ['a'.repeat(64) + '.com', /longer than 63/],
  ['a..b', /empty label/],
  ['.a', /empty label/],
  ['example.com.', /empty label/],
  ['-a.com', /hyphen/],
  ['a-.com', /hyphen/],
  ['a.b-', /hyphen/],
  ['localhost:26257', /":"/],
  ['foo bar', /" "/],
  ['[::1]', /"\["/],
  ['::1', /":"/],
  ['fe80::1%eth0', /":"/],
  ['bücher.example', /"ü"/],
  ['a/b', /"\/"/],
  ['*', /wildcard/],
  ['*foo.com', /wildcard/],
  ['a.*.com', /wildcard/],
  ['*.*.com', /wildcard/],
  ['10.0.0.300', /digits and dots/],
  ['1.2.3', /digits and dots/],
  ['123', /digits and dots/],
];

for (const [name, reason] of badDns) {
  test(`checkDnsName rejects ${JSON.stringify(name.length > 40 ? name.slice(0, 40) + '…' : name)}`, () => {
    const got = checkDnsName(name);
    assert.type(got, 'string');
    assert.match(got ?? '', reason);
  });
}

test('describeHostProblem accepts IPs and DNS names', () => {
  for (const host of ['127.0.0.1', '::1', '::ffff:1.2.3.4', '2001:db8::1', 'localhost', '*.local', 'node-1.example.com']) {
    assert.is(describeHostProblem(host), undefined, host);
  }
});

test('describeHostProblem flags strings that are neither', () => {
  const cases: Array<[string, string]> = [
    ['10.0.0.300', '"10.0.0.300" is neither a valid IP address nor a DNS name'],
    ['010.1.1.1', '"010.1.1.1" is neither a valid IP address nor a DNS name'],
    ['1.2.3', '"1.2.3" is neither a valid IP address nor a DNS name'],
    ['[::1]', '"[::1]" is neither a valid IP address nor a DNS name'],
    ['fe80::1%eth0', '"fe80::1%eth0" is neither a valid IP address nor a DNS name'],
    ['localhost:26257', '"localhost:26257" is neither a valid IP address nor a DNS name'],
    ['10.0.0.0/8', '"10.0.0.0/8" is neither a valid IP address nor a DNS name'],
    ['', '"" is neither a valid IP address nor a DNS name'],
  ];
  for (const [host, want] of cases) assert.is(describeHostProblem(host), want, host);
});

test('describeHostProblem names the A-label form of an internationalised name', () => {
  const cases: Array<[string, string]> = [
    ['bücher.de', '"bücher.de" has non-ASCII letters; a certificate can only hold a DNS name in its ASCII (A-label) form: write "xn--bcher-kva.de"'],
    ['*.Bücher.example', '"*.Bücher.example" has non-ASCII letters; a certificate can only hold a DNS name in its ASCII (A-label) form: write "*.xn--bcher-kva.example"'],
    ['中文.cn', '"中文.cn" has non-ASCII letters; a certificate can only hold a DNS name in its ASCII (A-label) form: write "xn--fiq228c.cn"'],
    // No usable A-label form: the general message.
    ['bü cher.de', '"bü cher.de" is neither a valid IP address nor a DNS name'],
    ['bücher.de:26257', '"bücher.de:26257" is neither a valid IP address nor a DNS name'],
  ];
  for (const [host, want] of cases) assert.is(describeHostProblem(host), want, host);
  assert.is(describeHostProblem('xn--bcher-kva.de'), undefined, 'the A-label form itself is accepted');
});

test.run();
