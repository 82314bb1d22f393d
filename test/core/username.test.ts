import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { USERNAME_HINT, checkUsername, normalizeUsername } from '../../src/core/username.js';

const normalized: Array<[string, string]> = [
  ['root', 'root'],
  ['Root', 'root'],
  ['FOO_BAR', 'foo_bar'],
  ['Ομηρος', 'ομηρος'],
  ['İstanbul', 'istanbul'], // U+0130 → ASCII i (JS toLowerCase would give "i̇stanbul")
  ['ıSTANBUL', 'istanbul'], // U+0131 → ASCII i (Go's plain unicode.ToLower leaves ı alone)
  ['DİYARBAKIR', 'diyarbakir'],
  ['ΟΔΟΣ', 'οδοσ'], // per-code-point lowering: no context-sensitive final sigma ς
  ['E\u0301MILE', '\u00e9mile'], // lower-cased, then NFC composes e + U+0301
  ['\u212b', '\u00e5'], // ANGSTROM SIGN lowers to å directly
  ['A\u030a', '\u00e5'], // A + ring → a + ring → NFC å
  ['ÅSA', 'åsa'],
  ['ǅ', 'ǆ'], // title-case digraph lowers to its lower-case form
  ['𐐀', '𐐨'], // astral (Deseret) code point lowered as one rune
  ['STRASSE', 'strasse'],
  ['ß', 'ß'],
  ['0FOO', '0foo'],
  ['', ''],
  [',Foo', ',foo'],
];

for (const [input, want] of normalized) {
  test(`normalizeUsername(${JSON.stringify(input)}) = ${JSON.stringify(want)}`, () => {
    assert.is(normalizeUsername(input), want);
  });
}

test('normalizeUsername does not NFC-normalise ASCII-only results (and NFC is applied otherwise)', () => {
  // U+0301 survives lowering and makes the string non-ASCII, so NFC composes it.
  assert.is(normalizeUsername('a\u0301'), '\u00e1');
  assert.is(normalizeUsername('a\u0301').length, 1);
});

const accepted = [
  'root',
  'node',
  'public',
  'pg_foo',
  '0foo',
  '_x',
  'a-b.c_d',
  'a.',
  'ομηρος',
  'istanbul',
  'a'.repeat(63), // 63 bytes: the limit
  'é'.repeat(31) + 'a', // 63 bytes in 32 characters
];

for (const name of accepted) {
  test(`checkUsername accepts ${JSON.stringify(name)}`, () => {
    assert.is(checkUsername(name), undefined);
  });
}

const rejected: Array<[string, 'username is empty' | 'username is too long' | 'username is invalid']> = [
  ['', 'username is empty'],
  ['a'.repeat(64), 'username is too long'],
  ['é'.repeat(32), 'username is too long'], // 32 characters but 64 bytes
  ['ω'.repeat(32), 'username is too long'],
  ['日本'.repeat(11), 'username is too long'], // 22 characters, 66 bytes
  ['A'.repeat(64), 'username is too long'], // length is checked before the pattern
  [',foo', 'username is invalid'],
  ['-foo', 'username is invalid'],
  ['.foo', 'username is invalid'],
  ['Foo', 'username is invalid'], // not normalised: upper case is not \p{Ll}
  ['foo bar', 'username is invalid'],
  ['foo@bar', 'username is invalid'],
  ['foo\n', 'username is invalid'], // $ is end of text, not end of line
  ['日本', 'username is invalid'], // Lo, not Ll
  ['a\u0301', 'username is invalid'], // combining mark (Mn) is not Ll
];

for (const [name, message] of rejected) {
  test(`checkUsername rejects ${JSON.stringify(name)} with "${message}"`, () => {
    assert.equal(checkUsername(name), { message, hint: USERNAME_HINT });
  });
}

test('hint text matches CockroachDB', () => {
  assert.is(
    USERNAME_HINT,
    'Usernames are case insensitive, must start with a letter, digit or underscore, may contain letters, digits, dashes, periods, or underscores, and must not exceed 63 characters.',
  );
});

test('normalise then check, as create-client does', () => {
  assert.is(checkUsername(normalizeUsername('Ομηρος')), undefined);
  assert.is(checkUsername(normalizeUsername('İ'.repeat(63))), undefined); // each İ becomes 1 byte
  assert.equal(checkUsername(normalizeUsername('  ')), { message: 'username is invalid', hint: USERNAME_HINT });
});

test.run();
