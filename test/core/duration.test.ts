import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DurationError,
  MAX_DURATION,
  MIN_DURATION,
  NS_PER_HOUR,
  durationToMs,
  formatDuration,
  parseDuration,
} from '../../src/core/duration.js';

const ns = 1n;
const us = 1_000n;
const ms = 1_000_000n;
const sec = 1_000_000_000n;
const min = 60n * sec;
const hour = NS_PER_HOUR;

// Go's time_test.go parseDurationTests, plus the values certgen relies on.
const valid: Array<[string, bigint]> = [
  ['0', 0n],
  ['-0', 0n],
  ['+0', 0n],
  ['5s', 5n * sec],
  ['30s', 30n * sec],
  ['1478s', 1478n * sec],
  ['-5s', -5n * sec],
  ['+5s', 5n * sec],
  ['+5m', 5n * min],
  ['5.0s', 5n * sec],
  ['5.6s', 5n * sec + 600n * ms],
  ['5.s', 5n * sec],
  ['.5s', 500n * ms],
  ['1.0s', sec],
  ['1.00s', sec],
  ['1.004s', sec + 4n * ms],
  ['1.0040s', sec + 4n * ms],
  ['100.00100s', 100n * sec + ms],
  ['10ns', 10n * ns],
  ['11us', 11n * us],
  ['12\u00b5s', 12n * us],
  ['12\u03bcs', 12n * us],
  ['13ms', 13n * ms],
  ['14s', 14n * sec],
  ['15m', 15n * min],
  ['16h', 16n * hour],
  ['3h30m', 3n * hour + 30n * min],
  ['1h30m', 90n * min],
  ['10.5s4m', 4n * min + 10n * sec + 500n * ms],
  ['-2m3.4s', -(2n * min + 3n * sec + 400n * ms)],
  ['1h2m3s4ms5us6ns', hour + 2n * min + 3n * sec + 4n * ms + 5n * us + 6n * ns],
  ['39h9m14.425s', 39n * hour + 9n * min + 14n * sec + 425n * ms],
  ['52763797000ns', 52763797000n],
  ['0.3333333333333333333h', 20n * min],
  ['9007199254740993ns', (1n << 53n) + 1n],
  ['9223372036854775807ns', MAX_DURATION],
  ['9223372036854775.807us', MAX_DURATION],
  ['9223372036s854ms775us807ns', MAX_DURATION],
  ['-9223372036854775808ns', MIN_DURATION],
  ['-9223372036854775.808us', MIN_DURATION],
  ['-9223372036s854ms775us808ns', MIN_DURATION],
  ['-2562047h47m16.854775808s', MIN_DURATION],
  ['0.100000000000000000000h', 6n * min],
  ['0.830103483285477580700h', 49n * min + 48n * sec + 372539827n],
  ['87840h0m0s', 87840n * hour],
  ['87840h', 87840n * hour],
  ['43920h', 43920n * hour],
  ['.5h', 30n * min],
  ['1.h', hour],
  ['1.5h', 90n * min],
  ['-1.5h', -90n * min],
  ['1m1m', 2n * min], // repeated units simply add up
];

for (const [input, want] of valid) {
  test(`parseDuration(${JSON.stringify(input)}) = ${want}`, () => {
    assert.is(parseDuration(input), want);
  });
}

// Go's parseDurationErrorTests plus the messages --lifetime users hit.
const invalid: Array<[string, string]> = [
  ['', 'time: invalid duration ""'],
  ['-', 'time: invalid duration "-"'],
  ['s', 'time: invalid duration "s"'],
  ['h', 'time: invalid duration "h"'],
  ['.', 'time: invalid duration "."'],
  ['-.', 'time: invalid duration "-."'],
  ['.s', 'time: invalid duration ".s"'],
  ['+.s', 'time: invalid duration "+.s"'],
  ['--5s', 'time: invalid duration "--5s"'],
  [' 5s', 'time: invalid duration " 5s"'],
  ['3', 'time: missing unit in duration "3"'],
  ['1', 'time: missing unit in duration "1"'],
  ['00', 'time: missing unit in duration "00"'],
  ['1.5', 'time: missing unit in duration "1.5"'],
  ['1h30', 'time: missing unit in duration "1h30"'],
  ['1d', 'time: unknown unit "d" in duration "1d"'],
  ['10y', 'time: unknown unit "y" in duration "10y"'],
  ['1e3h', 'time: unknown unit "e" in duration "1e3h"'],
  ['1H', 'time: unknown unit "H" in duration "1H"'],
  ['5 s', 'time: unknown unit " s" in duration "5 s"'],
  ['1h-5m', 'time: unknown unit "h-" in duration "1h-5m"'],
  ['\ufffd', 'time: invalid duration "\\xef\\xbf\\xbd"'],
  ['\ufffd hello \ufffd world', 'time: invalid duration "\\xef\\xbf\\xbd hello \\xef\\xbf\\xbd world"'],
  ['1\u00e9', 'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"'],
  ['1"s', 'time: unknown unit "\\"s" in duration "1\\"s"'],
  ['1\ts', 'time: unknown unit "\\x09s" in duration "1\\x09s"'],
  ['9223372036854775810ns', 'time: invalid duration "9223372036854775810ns"'],
  ['9223372036854775808ns', 'time: invalid duration "9223372036854775808ns"'],
  ['-9223372036854775809ns', 'time: invalid duration "-9223372036854775809ns"'],
  ['9223372036854776us', 'time: invalid duration "9223372036854776us"'],
  ['3000000h', 'time: invalid duration "3000000h"'],
  ['9223372036854775.808us', 'time: invalid duration "9223372036854775.808us"'],
  ['9223372036854ms775us808ns', 'time: invalid duration "9223372036854ms775us808ns"'],
  ['99999999999999999999h', 'time: invalid duration "99999999999999999999h"'],
];

for (const [input, message] of invalid) {
  test(`parseDuration(${JSON.stringify(input)}) throws ${message}`, () => {
    try {
      parseDuration(input);
    } catch (err) {
      assert.instance(err, DurationError);
      assert.instance(err, Error);
      assert.is((err as Error).message, message);
      assert.is((err as Error).name, 'DurationError');
      return;
    }
    assert.unreachable(`expected ${JSON.stringify(input)} to be rejected`);
  });
}

// Go's time_test.go durationTests.
const formatted: Array<[bigint, string]> = [
  [0n, '0s'],
  [1n, '1ns'],
  [999n, '999ns'],
  [1000n, '1\u00b5s'],
  [1100n, '1.1\u00b5s'],
  [2200n * us, '2.2ms'],
  [500n * ms, '500ms'],
  [3300n * ms, '3.3s'],
  [1500n * ms, '1.5s'],
  [4n * min + 5n * sec, '4m5s'],
  [4n * min + 5001n * ms, '4m5.001s'],
  [5n * hour + 6n * min + 7001n * ms, '5h6m7.001s'],
  [8n * min + 1n, '8m0.000000001s'],
  [hour, '1h0m0s'],
  [-hour, '-1h0m0s'],
  [90n * min, '1h30m0s'],
  [-1n, '-1ns'],
  [-1500n * us, '-1.5ms'],
  [60n * sec, '1m0s'],
  [87840n * hour, '87840h0m0s'],
  [43920n * hour, '43920h0m0s'],
  [MAX_DURATION, '2562047h47m16.854775807s'],
  [MIN_DURATION, '-2562047h47m16.854775808s'],
];

for (const [value, want] of formatted) {
  test(`formatDuration(${value}) = ${want}`, () => {
    assert.is(formatDuration(value), want);
  });
}

test('formatDuration output parses back to the same value', () => {
  for (const [value] of formatted) assert.is(parseDuration(formatDuration(value)), value);
  for (const [, value] of valid) assert.is(parseDuration(formatDuration(value)), value);
});

test('formatDuration rejects values outside int64', () => {
  assert.throws(() => formatDuration(MAX_DURATION + 1n), RangeError);
  assert.throws(() => formatDuration(MIN_DURATION - 1n), RangeError);
});

test('NS_PER_HOUR and the CA default lifetime', () => {
  assert.is(NS_PER_HOUR, 3_600_000_000_000n);
  assert.is(parseDuration('87840h0m0s'), 87840n * NS_PER_HOUR);
  assert.is(parseDuration('87840h0m0s'), 10n * 366n * 24n * NS_PER_HOUR);
});

test('durationToMs truncates toward zero', () => {
  assert.is(durationToMs(0n), 0);
  assert.is(durationToMs(NS_PER_HOUR), 3_600_000);
  assert.is(durationToMs(87840n * NS_PER_HOUR), 87840 * 3_600_000);
  assert.is(durationToMs(1_999_999n), 1);
  assert.is(durationToMs(-1_999_999n), -1);
  assert.is(durationToMs(999_999n), 0);
});

test.run();
