import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  FORMATS,
  displayWidth,
  encodeSQLIdent,
  encodeSQLString,
  expandTabs,
  goJSONString,
  isFormat,
  renderResultSet,
  type Format,
  type ResultSet,
} from '../../src/core/table-format.js';

const all = (rs: ResultSet): Record<Format, string> =>
  Object.fromEntries(FORMATS.map((f) => [f, renderResultSet(f, rs)])) as Record<Format, string>;

// ---------------------------------------------------------------------------------------------
// (a) The 3-row `cert list` example of the reference, §5.4 (its first line, "Certificate
// directory: certs", is printed by `cert list` itself, not by the renderer).

const CERTS: ResultSet = {
  columns: ['Usage', 'Certificate File', 'Key File', 'Expires', 'Notes', 'Error'],
  rows: [
    ['CA', 'ca.crt', '', '2033/11/02', 'num certs: 1', ''],
    ['Node', 'node.crt', 'node.key', '2028/10/29', 'addresses: localhost,cdb-01,cdb-02,cdb-03', ''],
    ['Client', 'client.root.crt', 'client.root.key', '2028/10/29', 'user: root', ''],
  ],
};

test('table: reproduces the reference example byte for byte', () => {
  const expected = [
    '  Usage  | Certificate File |    Key File     |  Expires   |                   Notes                   | Error',
    '---------+------------------+-----------------+------------+-------------------------------------------+--------',
    '  CA     | ca.crt           |                 | 2033/11/02 | num certs: 1                              |',
    '  Node   | node.crt         | node.key        | 2028/10/29 | addresses: localhost,cdb-01,cdb-02,cdb-03 |',
    '  Client | client.root.crt  | client.root.key | 2028/10/29 | user: root                                |',
    '(3 rows)',
    '',
  ].join('\n');
  assert.is(renderResultSet('table', CERTS), expected);
});

test('tsv: the example, no footer, empty fields bare', () => {
  assert.is(
    renderResultSet('tsv', CERTS),
    'Usage\tCertificate File\tKey File\tExpires\tNotes\tError\n' +
      'CA\tca.crt\t\t2033/11/02\tnum certs: 1\t\n' +
      'Node\tnode.crt\tnode.key\t2028/10/29\taddresses: localhost,cdb-01,cdb-02,cdb-03\t\n' +
      'Client\tclient.root.crt\tclient.root.key\t2028/10/29\tuser: root\t\n',
  );
});

test('csv: the example; only the field with commas is quoted', () => {
  assert.is(
    renderResultSet('csv', CERTS),
    'Usage,Certificate File,Key File,Expires,Notes,Error\n' +
      'CA,ca.crt,,2033/11/02,num certs: 1,\n' +
      'Node,node.crt,node.key,2028/10/29,"addresses: localhost,cdb-01,cdb-02,cdb-03",\n' +
      'Client,client.root.crt,client.root.key,2028/10/29,user: root,\n',
  );
});

test('json and ndjson: the example, keys sorted as Go marshals a map', () => {
  const o1 = '{"Certificate File":"ca.crt","Error":"","Expires":"2033/11/02","Key File":"","Notes":"num certs: 1","Usage":"CA"}';
  const o2 =
    '{"Certificate File":"node.crt","Error":"","Expires":"2028/10/29","Key File":"node.key","Notes":"addresses: localhost,cdb-01,cdb-02,cdb-03","Usage":"Node"}';
  const o3 =
    '{"Certificate File":"client.root.crt","Error":"","Expires":"2028/10/29","Key File":"client.root.key","Notes":"user: root","Usage":"Client"}';
  const json = renderResultSet('json', CERTS);
  assert.is(json, `[\n  ${o1},\n  ${o2},\n  ${o3}\n]\n`);
  assert.equal(JSON.parse(json), [
    { 'Certificate File': 'ca.crt', Error: '', Expires: '2033/11/02', 'Key File': '', Notes: 'num certs: 1', Usage: 'CA' },
    {
      'Certificate File': 'node.crt',
      Error: '',
      Expires: '2028/10/29',
      'Key File': 'node.key',
      Notes: 'addresses: localhost,cdb-01,cdb-02,cdb-03',
      Usage: 'Node',
    },
    {
      'Certificate File': 'client.root.crt',
      Error: '',
      Expires: '2028/10/29',
      'Key File': 'client.root.key',
      Notes: 'user: root',
      Usage: 'Client',
    },
  ]);
  assert.is(renderResultSet('ndjson', CERTS), `${o1}\n${o2}\n${o3}\n`);
});

test('records: the example', () => {
  const rec = (n: number, v: string[]): string =>
    `-[ RECORD ${n} ]\n` +
    `Usage            | ${v[0]}\n` +
    `Certificate File | ${v[1]}\n` +
    `Key File         | ${v[2]}\n` +
    `Expires          | ${v[3]}\n` +
    `Notes            | ${v[4]}\n` +
    `Error            | ${v[5]}\n`;
  assert.is(
    renderResultSet('records', CERTS),
    rec(1, ['CA', 'ca.crt', '', '2033/11/02', 'num certs: 1', '']) +
      rec(2, ['Node', 'node.crt', 'node.key', '2028/10/29', 'addresses: localhost,cdb-01,cdb-02,cdb-03', '']) +
      rec(3, ['Client', 'client.root.crt', 'client.root.key', '2028/10/29', 'user: root', '']),
  );
  // An empty value still gets its "| " (trailing space kept, as Go's Fprintf writes it).
  assert.ok(renderResultSet('records', CERTS).includes('Key File         | \n'));
});

test('sql: the example (capitalised column names need quoting)', () => {
  assert.is(
    renderResultSet('sql', CERTS),
    'CREATE TABLE results (\n' +
      '  "Usage" STRING,\n' +
      '  "Certificate File" STRING,\n' +
      '  "Key File" STRING,\n' +
      '  "Expires" STRING,\n' +
      '  "Notes" STRING,\n' +
      '  "Error" STRING\n' +
      ');\n' +
      '\n' +
      "INSERT INTO results VALUES ('CA', 'ca.crt', '', '2033/11/02', 'num certs: 1', '');\n" +
      "INSERT INTO results VALUES ('Node', 'node.crt', 'node.key', '2028/10/29', 'addresses: localhost,cdb-01,cdb-02,cdb-03', '');\n" +
      "INSERT INTO results VALUES ('Client', 'client.root.crt', 'client.root.key', '2028/10/29', 'user: root', '');\n" +
      '-- 3 rows\n',
  );
});

test('html: the example, with row numbers and a tfoot', () => {
  assert.is(
    renderResultSet('html', CERTS),
    '<table>\n' +
      '<thead><tr><th>row</th><th>Usage</th><th>Certificate File</th><th>Key File</th><th>Expires</th><th>Notes</th><th>Error</th></tr></thead>\n' +
      '<tbody>\n' +
      '<tr><td>1</td><td>CA</td><td>ca.crt</td><td></td><td>2033/11/02</td><td>num certs: 1</td><td></td></tr>\n' +
      '<tr><td>2</td><td>Node</td><td>node.crt</td><td>node.key</td><td>2028/10/29</td><td>addresses: localhost,cdb-01,cdb-02,cdb-03</td><td></td></tr>\n' +
      '<tr><td>3</td><td>Client</td><td>client.root.crt</td><td>client.root.key</td><td>2028/10/29</td><td>user: root</td><td></td></tr>\n' +
      '</tbody>\n' +
      '<tfoot><tr><td colspan=7>3 rows</td></tr></tfoot></table>\n',
  );
});

test('raw: the example, each value prefixed by its byte length', () => {
  const row = (n: number, v: string[]): string => `# row ${n}\n` + v.map((x) => `## ${x.length}\n${x}\n`).join('');
  assert.is(
    renderResultSet('raw', CERTS),
    '# 6 columns\n' +
      row(1, ['CA', 'ca.crt', '', '2033/11/02', 'num certs: 1', '']) +
      row(2, ['Node', 'node.crt', 'node.key', '2028/10/29', 'addresses: localhost,cdb-01,cdb-02,cdb-03', '']) +
      row(3, ['Client', 'client.root.crt', 'client.root.key', '2028/10/29', 'user: root', '']) +
      '# 3 rows\n',
  );
  assert.ok(renderResultSet('raw', CERTS).includes('## 41\naddresses: localhost,cdb-01,cdb-02,cdb-03\n## 0\n\n'));
});

test('footers pluralise: (1 row), -- 1 row, # 1 row, colspan …>1 row', () => {
  const one = { columns: ['a'], rows: [['x']] };
  assert.is(renderResultSet('table', one), '  a\n-----\n  x\n(1 row)\n');
  assert.ok(renderResultSet('sql', one).endsWith('-- 1 row\n'));
  assert.ok(renderResultSet('raw', one).startsWith('# 1 column\n'));
  assert.ok(renderResultSet('raw', one).endsWith('# 1 row\n'));
  assert.ok(renderResultSet('html', one).endsWith('<tfoot><tr><td colspan=2>1 row</td></tr></tfoot></table>\n'));
});

// ---------------------------------------------------------------------------------------------
// (b) Zero rows: CockroachDB's Example_sql_empty_table (pkg/cli/clisqlexec/format_table_test.go).

test('zero rows: `select * from t.norows` (one column x) in every format', () => {
  assert.equal(all({ columns: ['x'], rows: [] }), {
    table: '  x\n-----\n(0 rows)\n',
    tsv: 'x\n',
    csv: 'x\n',
    json: '[\n]\n',
    ndjson: '\n',
    records: '',
    sql: 'CREATE TABLE results (\n  x STRING\n);\n\n-- 0 rows\n',
    html: '<table>\n<thead><tr><th>row</th><th>x</th></tr></thead>\n</tbody>\n<tfoot><tr><td colspan=2>0 rows</td></tr></tfoot></table>\n',
    raw: '# 1 column\n# 0 rows\n',
  });
  assert.equal(JSON.parse(renderResultSet('json', { columns: ['x'], rows: [] })), []);
});

test('zero rows: the cert list header still prints header and separator in table format', () => {
  assert.is(
    renderResultSet('table', { columns: CERTS.columns, rows: [] }),
    '  Usage | Certificate File | Key File | Expires | Notes | Error\n' +
      '--------+------------------+----------+---------+-------+--------\n' +
      '(0 rows)\n',
  );
  assert.is(renderResultSet('tsv', { columns: CERTS.columns, rows: [] }), 'Usage\tCertificate File\tKey File\tExpires\tNotes\tError\n');
});

test('no columns, three rows (`select * from t.nocols`)', () => {
  assert.equal(all({ columns: [], rows: [[], [], []] }), {
    table: '--\n(3 rows)\n',
    tsv: '# no columns\n# empty\n# empty\n# empty\n',
    csv: '# no columns\n# empty\n# empty\n# empty\n',
    json: '[\n  {},\n  {},\n  {}\n]\n',
    ndjson: '{}\n{}\n{}\n',
    records: '(3 rows)\n',
    sql:
      'CREATE TABLE results (\n);\n\n' +
      'INSERT INTO results(rowid) VALUES (DEFAULT);\n'.repeat(3) +
      '-- 3 rows\n',
    html:
      '<table>\n<thead><tr><th>row</th></tr></thead>\n<tbody>\n' +
      '<tr><td>1</td></tr>\n<tr><td>2</td></tr>\n<tr><td>3</td></tr>\n' +
      '</tbody>\n<tfoot><tr><td colspan=1>3 rows</td></tr></tfoot></table>\n',
    raw: '# 0 columns\n# row 1\n# row 2\n# row 3\n# 3 rows\n',
  });
});

test('no columns, no rows (`select * from t.nocolsnorows`)', () => {
  assert.equal(all({ columns: [], rows: [] }), {
    table: '--\n(0 rows)\n',
    tsv: '# no columns\n',
    csv: '# no columns\n',
    json: '[\n]\n',
    ndjson: '\n',
    records: '(0 rows)\n',
    sql: 'CREATE TABLE results (\n);\n\n-- 0 rows\n',
    html: '<table>\n<thead><tr><th>row</th></tr></thead>\n</tbody>\n<tfoot><tr><td colspan=1>0 rows</td></tr></tfoot></table>\n',
    raw: '# 0 columns\n# 0 rows\n',
  });
});

// ---------------------------------------------------------------------------------------------
// (c) Cells needing quoting / escaping.

const TRICKY: ResultSet = {
  columns: ['name', 'value'],
  rows: [
    ['tab', 'a\tb'],
    ['quote', 'say "hi"'],
    ['newline', 'x\ny'],
    ['lead', ' lead'],
    ['html', '<a href="x">&</a>'],
    ['sql', "it's"],
  ],
};

test('escaping: table expands tabs, splits newlines over lines, trims line ends', () => {
  assert.is(
    renderResultSet('table', TRICKY),
    [
      '   name   |       value',
      '----------+--------------------',
      '  tab     | a   b',
      '  quote   | say "hi"',
      '  newline | x',
      '          | y',
      '  lead    |  lead',
      '  html    | <a href="x">&</a>',
      "  sql     | it's",
      '(6 rows)',
      '',
    ].join('\n'),
  );
});

test('escaping: tsv quotes tab, quote, newline and leading space only', () => {
  assert.is(
    renderResultSet('tsv', TRICKY),
    'name\tvalue\n' +
      'tab\t"a\tb"\n' +
      'quote\t"say ""hi"""\n' +
      'newline\t"x\ny"\n' +
      'lead\t" lead"\n' +
      'html\t"<a href=""x"">&</a>"\n' +
      "sql\tit's\n",
  );
});

test('escaping: csv leaves tabs alone but quotes commas, quotes, newlines, leading space', () => {
  assert.is(
    renderResultSet('csv', TRICKY),
    'name,value\n' +
      'tab,a\tb\n' +
      'quote,"say ""hi"""\n' +
      'newline,"x\ny"\n' +
      'lead," lead"\n' +
      'html,"<a href=""x"">&</a>"\n' +
      "sql,it's\n",
  );
  assert.is(renderResultSet('csv', { columns: ['a'], rows: [['x,y'], ['\r'], ['\\.'], ['\\.x'], ['\u00a0nbsp'], ['']] }),
    'a\n"x,y"\n"\r"\n"\\."\n\\.x\n"\u00a0nbsp"\n\n');
});

test('escaping: json is valid, escapes <>& like Go, keeps everything else', () => {
  const out = renderResultSet('json', TRICKY);
  assert.is(
    out,
    '[\n' +
      '  {"name":"tab","value":"a\\tb"},\n' +
      '  {"name":"quote","value":"say \\"hi\\""},\n' +
      '  {"name":"newline","value":"x\\ny"},\n' +
      '  {"name":"lead","value":" lead"},\n' +
      '  {"name":"html","value":"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"},\n' +
      '  {"name":"sql","value":"it\'s"}\n' +
      ']\n',
  );
  assert.equal(
    JSON.parse(out),
    TRICKY.rows.map(([name, value]) => ({ name, value })),
  );
  assert.is(goJSONString('\b\f\u0001\u007f\u2028\u2029é\ud800'), '"\\b\\f\\u0001\u007f\\u2028\\u2029é\\ufffd"');
});

test('escaping: json collapses duplicate column names (last wins) and sorts bytewise', () => {
  const rs = { columns: ['b', 'a', 'b', 'é', 'z'], rows: [['1', '2', '3', '4', '5']] };
  assert.is(renderResultSet('ndjson', rs), '{"a":"2","b":"3","z":"5","é":"4"}\n');
});

test('escaping: records splits values over lines with + continuation', () => {
  assert.is(
    renderResultSet('records', TRICKY).split('-[ RECORD 3 ]\n')[1]?.split('-[ RECORD 4 ]')[0],
    'name  | newline\nvalue | x+\n      | y\n',
  );
  assert.ok(renderResultSet('records', TRICKY).startsWith('-[ RECORD 1 ]\nname  | tab\nvalue | a\tb\n'));
});

test("escaping: sql doubles nothing but switches to e'' strings for ', \\ and control characters", () => {
  assert.is(
    renderResultSet('sql', TRICKY),
    'CREATE TABLE results (\n  name STRING,\n  value STRING\n);\n\n' +
      "INSERT INTO results VALUES ('tab', e'a\\tb');\n" +
      "INSERT INTO results VALUES ('quote', 'say \"hi\"');\n" +
      "INSERT INTO results VALUES ('newline', e'x\\ny');\n" +
      "INSERT INTO results VALUES ('lead', ' lead');\n" +
      "INSERT INTO results VALUES ('html', '<a href=\"x\">&</a>');\n" +
      "INSERT INTO results VALUES ('sql', e'it\\'s');\n" +
      '-- 6 rows\n',
  );
  assert.is(encodeSQLString('\u0001\u007f\\'), "e'\\x01\\x7f\\\\'");
  assert.is(encodeSQLString('ñé€😀'), "e'\\u00F1\\u00E9\\U000020AC\\U0001F600'");
  assert.is(encodeSQLIdent('select'), '"select"');
  assert.is(encodeSQLIdent('user'), '"user"'); // a lookahead keyword
  assert.is(encodeSQLIdent('users_1$'), 'users_1$');
  assert.is(encodeSQLIdent('1abc'), '"1abc"');
  assert.is(encodeSQLIdent('Abc'), '"Abc"');
  assert.is(encodeSQLIdent('a"b'), '"a""b"');
  assert.is(encodeSQLIdent('ÉTÉ'), '"ÉTÉ"'); // not lower case
  assert.is(encodeSQLIdent('été'), 'été');
});

test('escaping: html escapes &\'<>" and turns newlines into <br/>', () => {
  const out = renderResultSet('html', TRICKY);
  assert.is(
    out,
    '<table>\n<thead><tr><th>row</th><th>name</th><th>value</th></tr></thead>\n<tbody>\n' +
      '<tr><td>1</td><td>tab</td><td>a\tb</td></tr>\n' +
      '<tr><td>2</td><td>quote</td><td>say &#34;hi&#34;</td></tr>\n' +
      '<tr><td>3</td><td>newline</td><td>x<br/>y</td></tr>\n' +
      '<tr><td>4</td><td>lead</td><td> lead</td></tr>\n' +
      '<tr><td>5</td><td>html</td><td>&lt;a href=&#34;x&#34;&gt;&amp;&lt;/a&gt;</td></tr>\n' +
      '<tr><td>6</td><td>sql</td><td>it&#39;s</td></tr>\n' +
      '</tbody>\n<tfoot><tr><td colspan=3>6 rows</td></tr></tfoot></table>\n',
  );
});

test('escaping: raw writes values verbatim', () => {
  assert.is(
    renderResultSet('raw', TRICKY),
    '# 2 columns\n' +
      '# row 1\n## 3\ntab\n## 3\na\tb\n' +
      '# row 2\n## 5\nquote\n## 8\nsay "hi"\n' +
      '# row 3\n## 7\nnewline\n## 3\nx\ny\n' +
      '# row 4\n## 4\nlead\n## 5\n lead\n' +
      '# row 5\n## 4\nhtml\n## 17\n<a href="x">&</a>\n' +
      "# row 6\n## 3\nsql\n## 4\nit's\n" +
      '# 6 rows\n',
  );
});

// ---------------------------------------------------------------------------------------------
// (d) Wide characters.

const WIDE: ResultSet = { columns: ['名前', 'note'], rows: [['日本語', 'ok'], ['x', '한국어 👍']] };

test('wide characters: table pads by display width (CJK and emoji are 2 columns)', () => {
  assert.is(
    renderResultSet('table', WIDE),
    ['   名前  |   note', '---------+------------', '  日本語 | ok', '  x      | 한국어 👍', '(2 rows)', ''].join('\n'),
  );
});

test('wide characters: the other formats', () => {
  const out = all(WIDE);
  assert.is(out.tsv, '名前\tnote\n日本語\tok\nx\t한국어 👍\n');
  assert.is(out.csv, '名前,note\n日本語,ok\nx,한국어 👍\n');
  assert.is(out.ndjson, '{"note":"ok","名前":"日本語"}\n{"note":"한국어 👍","名前":"x"}\n');
  // records pads labels by rune count, as Go's %-*s does, not by display width.
  assert.is(out.records, '-[ RECORD 1 ]\n名前   | 日本語\nnote | ok\n-[ RECORD 2 ]\n名前   | x\nnote | 한국어 👍\n');
  assert.is(
    out.sql,
    'CREATE TABLE results (\n  名前 STRING,\n  note STRING\n);\n\n' +
      "INSERT INTO results VALUES (e'\\U000065E5\\U0000672C\\U00008A9E', 'ok');\n" +
      "INSERT INTO results VALUES ('x', e'\\U0000D55C\\U0000AD6D\\U0000C5B4 \\U0001F44D');\n" +
      '-- 2 rows\n',
  );
  assert.ok(out.html.includes('<tr><td>2</td><td>x</td><td>한국어 👍</td></tr>\n'));
  assert.ok(out.raw.includes('## 9\n日本語\n'));
  assert.ok(out.raw.includes('## 14\n한국어 👍\n'));
});

test('displayWidth: East Asian wide, emoji, combining, zero-width, ANSI', () => {
  assert.is(displayWidth(''), 0);
  assert.is(displayWidth('abc'), 3);
  assert.is(displayWidth('日本'), 4);
  assert.is(displayWidth('한'), 2);
  assert.is(displayWidth('Ａ'), 2); // fullwidth Latin
  assert.is(displayWidth('ｱ'), 1); // halfwidth katakana
  assert.is(displayWidth('κόσμε'), 5);
  assert.is(displayWidth('e\u0301'), 1); // combining acute
  assert.is(displayWidth('a\u200bb'), 2); // zero-width space
  assert.is(displayWidth('👍'), 2);
  assert.is(displayWidth('👨\u200d👩\u200d👧'), 2); // one ZWJ cluster
  assert.is(displayWidth('\x1b[31mred\x1b[0m'), 3);
  assert.is(displayWidth('\u0001'), 0);
});

// ---------------------------------------------------------------------------------------------
// CockroachDB's own golden outputs (pkg/cli/clisqlexec/format_table_test.go).

const SQL_TABLE: ResultSet = {
  columns: ['s', 'd'],
  rows: [
    ['foo', 'printable ASCII'],
    ['"foo', 'printable ASCII with quotes'],
    ['\\foo', 'printable ASCII with backslash'],
    ['foo\nbar', 'non-printable ASCII'],
    ['\u03ba\u1f79\u03c3\u03bc\u03b5', 'printable UTF8'],
    ['\u00f1', 'printable UTF8 using escapes'],
    ['\\x01', 'non-printable UTF8 string'],
    ['\u070885', 'UTF8 string with RTL char'],
    ['a\tb\tc\n12\t123123213\t12313', 'tabs'],
  ],
};

test('Example_sql_table: table (tabs expanded by text/tabwriter)', () => {
  assert.is(
    renderResultSet('table', SQL_TABLE),
    [
      '           s          |               d',
      '----------------------+---------------------------------',
      '  foo                 | printable ASCII',
      '  "foo                | printable ASCII with quotes',
      '  \\foo                | printable ASCII with backslash',
      '  foo                 | non-printable ASCII',
      '  bar                 |',
      '  \u03ba\u1f79\u03c3\u03bc\u03b5               | printable UTF8',
      '  \u00f1                   | printable UTF8 using escapes',
      '  \\x01                | non-printable UTF8 string',
      '  \u070885                 | UTF8 string with RTL char',
      '  a   b         c     | tabs',
      '  12  123123213 12313 |',
      '(9 rows)',
      '',
    ].join('\n'),
  );
});

test('Example_sql_table: tsv and csv', () => {
  const body = (sep: string): string =>
    `s${sep}d\n` +
    `foo${sep}printable ASCII\n` +
    `"""foo"${sep}printable ASCII with quotes\n` +
    `\\foo${sep}printable ASCII with backslash\n` +
    `"foo\nbar"${sep}non-printable ASCII\n` +
    `\u03ba\u1f79\u03c3\u03bc\u03b5${sep}printable UTF8\n` +
    `\u00f1${sep}printable UTF8 using escapes\n` +
    `\\x01${sep}non-printable UTF8 string\n` +
    `\u070885${sep}UTF8 string with RTL char\n` +
    `"a\tb\tc\n12\t123123213\t12313"${sep}tabs\n`;
  assert.is(renderResultSet('tsv', SQL_TABLE), body('\t'));
  assert.is(renderResultSet('csv', SQL_TABLE), body(','));
});

test('Example_sql_table: records', () => {
  assert.is(
    renderResultSet('records', SQL_TABLE),
    '-[ RECORD 1 ]\ns | foo\nd | printable ASCII\n' +
      '-[ RECORD 2 ]\ns | "foo\nd | printable ASCII with quotes\n' +
      '-[ RECORD 3 ]\ns | \\foo\nd | printable ASCII with backslash\n' +
      '-[ RECORD 4 ]\ns | foo+\n  | bar\nd | non-printable ASCII\n' +
      '-[ RECORD 5 ]\ns | \u03ba\u1f79\u03c3\u03bc\u03b5\nd | printable UTF8\n' +
      '-[ RECORD 6 ]\ns | \u00f1\nd | printable UTF8 using escapes\n' +
      '-[ RECORD 7 ]\ns | \\x01\nd | non-printable UTF8 string\n' +
      '-[ RECORD 8 ]\ns | \u070885\nd | UTF8 string with RTL char\n' +
      '-[ RECORD 9 ]\ns | a\tb\tc+\n  | 12\t123123213\t12313\nd | tabs\n',
  );
});

test('Example_sql_table: ndjson and json', () => {
  const objs = [
    '{"d":"printable ASCII","s":"foo"}',
    '{"d":"printable ASCII with quotes","s":"\\"foo"}',
    '{"d":"printable ASCII with backslash","s":"\\\\foo"}',
    '{"d":"non-printable ASCII","s":"foo\\nbar"}',
    '{"d":"printable UTF8","s":"\u03ba\u1f79\u03c3\u03bc\u03b5"}',
    '{"d":"printable UTF8 using escapes","s":"\u00f1"}',
    '{"d":"non-printable UTF8 string","s":"\\\\x01"}',
    '{"d":"UTF8 string with RTL char","s":"\u070885"}',
    '{"d":"tabs","s":"a\\tb\\tc\\n12\\t123123213\\t12313"}',
  ];
  assert.is(renderResultSet('ndjson', SQL_TABLE), `${objs.join('\n')}\n`);
  assert.is(renderResultSet('json', SQL_TABLE), `[\n  ${objs.join(',\n  ')}\n]\n`);
});

test('Example_sql_table: sql', () => {
  assert.is(
    renderResultSet('sql', SQL_TABLE),
    'CREATE TABLE results (\n  s STRING,\n  d STRING\n);\n\n' +
      "INSERT INTO results VALUES ('foo', 'printable ASCII');\n" +
      "INSERT INTO results VALUES ('\"foo', 'printable ASCII with quotes');\n" +
      "INSERT INTO results VALUES (e'\\\\foo', 'printable ASCII with backslash');\n" +
      "INSERT INTO results VALUES (e'foo\\nbar', 'non-printable ASCII');\n" +
      "INSERT INTO results VALUES (e'\\u03BA\\U00001F79\\u03C3\\u03BC\\u03B5', 'printable UTF8');\n" +
      "INSERT INTO results VALUES (e'\\u00F1', 'printable UTF8 using escapes');\n" +
      "INSERT INTO results VALUES (e'\\\\x01', 'non-printable UTF8 string');\n" +
      "INSERT INTO results VALUES (e'\\u070885', 'UTF8 string with RTL char');\n" +
      "INSERT INTO results VALUES (e'a\\tb\\tc\\n12\\t123123213\\t12313', 'tabs');\n" +
      '-- 9 rows\n',
  );
});

test('Example_sql_table: html and raw', () => {
  assert.is(
    renderResultSet('html', SQL_TABLE),
    '<table>\n<thead><tr><th>row</th><th>s</th><th>d</th></tr></thead>\n<tbody>\n' +
      '<tr><td>1</td><td>foo</td><td>printable ASCII</td></tr>\n' +
      '<tr><td>2</td><td>&#34;foo</td><td>printable ASCII with quotes</td></tr>\n' +
      '<tr><td>3</td><td>\\foo</td><td>printable ASCII with backslash</td></tr>\n' +
      '<tr><td>4</td><td>foo<br/>bar</td><td>non-printable ASCII</td></tr>\n' +
      '<tr><td>5</td><td>\u03ba\u1f79\u03c3\u03bc\u03b5</td><td>printable UTF8</td></tr>\n' +
      '<tr><td>6</td><td>\u00f1</td><td>printable UTF8 using escapes</td></tr>\n' +
      '<tr><td>7</td><td>\\x01</td><td>non-printable UTF8 string</td></tr>\n' +
      '<tr><td>8</td><td>\u070885</td><td>UTF8 string with RTL char</td></tr>\n' +
      '<tr><td>9</td><td>a\tb\tc<br/>12\t123123213\t12313</td><td>tabs</td></tr>\n' +
      '</tbody>\n<tfoot><tr><td colspan=3>9 rows</td></tr></tfoot></table>\n',
  );
  const raw = renderResultSet('raw', SQL_TABLE);
  assert.ok(raw.startsWith('# 2 columns\n# row 1\n## 3\nfoo\n## 15\nprintable ASCII\n# row 2\n## 4\n"foo\n'));
  assert.ok(raw.includes('# row 4\n## 7\nfoo\nbar\n## 19\nnon-printable ASCII\n'));
  assert.ok(raw.includes('# row 5\n## 11\n\u03ba\u1f79\u03c3\u03bc\u03b5\n## 14\nprintable UTF8\n'));
  assert.ok(raw.includes('# row 6\n## 2\n\u00f1\n'));
  assert.ok(raw.includes('# row 8\n## 4\n\u070885\n'));
  assert.ok(raw.endsWith('# row 9\n## 24\na\tb\tc\n12\t123123213\t12313\n## 4\ntabs\n# 9 rows\n'));
});

// Example_sql_column_labels: names with quotes, backslashes, newlines and non-ASCII letters.
// (κόσμε as stored by current CockroachDB, i.e. NFC with U+03CC.)
const LABELS: ResultSet = {
  columns: ['f"oo', "f'oo", 'f\\oo', 'short\nvery very long\nnot much', 'very very long\nthenshort', '\u03ba\u03cc\u03c3\u03bc\u03b5', 'a|b', '\u070885'],
  rows: [['0', '0', '0', '0', '0', '0', '0', '0']],
};

test('Example_sql_column_labels: multi-line headers in table format', () => {
  // Header and separator lines verbatim from CockroachDB; the INT cells there are right-aligned,
  // here every column is left-aligned (strings), as for `cert list`.
  assert.is(
    renderResultSet('table', LABELS),
    [
      '  f"oo | f\'oo | f\\oo |     short      | very very long | \u03ba\u03cc\u03c3\u03bc\u03b5 | a|b | \u070885',
      '       |      |      | very very long |   thenshort    |       |     |',
      '       |      |      |    not much    |                |       |     |',
      '-------+------+------+----------------+----------------+-------+-----+------',
      '  0    | 0    | 0    | 0              | 0              | 0     | 0   | 0',
      '(1 row)',
      '',
    ].join('\n'),
  );
});

test('Example_sql_column_labels: records, sql, json, html, tsv, csv', () => {
  const out = all(LABELS);
  assert.is(
    out.records,
    '-[ RECORD 1 ]\n' +
      'f"oo           | 0\n' +
      "f'oo           | 0\n" +
      'f\\oo           | 0\n' +
      'short         +| 0\n' +
      'very very long+|\n' +
      'not much       |\n' +
      'very very long+| 0\n' +
      'thenshort      |\n' +
      '\u03ba\u03cc\u03c3\u03bc\u03b5          | 0\n' +
      'a|b            | 0\n' +
      '\u070885            | 0\n',
  );
  assert.is(
    out.sql,
    'CREATE TABLE results (\n' +
      '  "f""oo" STRING,\n' +
      '  "f\'oo" STRING,\n' +
      '  "f\\oo" STRING,\n' +
      '  "short\nvery very long\nnot much" STRING,\n' +
      '  "very very long\nthenshort" STRING,\n' +
      '  \u03ba\u03cc\u03c3\u03bc\u03b5 STRING,\n' +
      '  "a|b" STRING,\n' +
      '  \u070885 STRING\n' +
      ');\n\n' +
      "INSERT INTO results VALUES ('0', '0', '0', '0', '0', '0', '0', '0');\n" +
      '-- 1 row\n',
  );
  const obj =
    '{"a|b":"0","f\\"oo":"0","f\'oo":"0","f\\\\oo":"0","short\\nvery very long\\nnot much":"0","very very long\\nthenshort":"0","\u03ba\u03cc\u03c3\u03bc\u03b5":"0","\u070885":"0"}';
  assert.is(out.ndjson, `${obj}\n`);
  assert.is(out.json, `[\n  ${obj}\n]\n`);
  assert.is(
    out.html,
    '<table>\n<thead><tr><th>row</th><th>f&#34;oo</th><th>f&#39;oo</th><th>f\\oo</th>' +
      '<th>short<br/>very very long<br/>not much</th><th>very very long<br/>thenshort</th>' +
      '<th>\u03ba\u03cc\u03c3\u03bc\u03b5</th><th>a|b</th><th>\u070885</th></tr></thead>\n<tbody>\n' +
      `<tr><td>1</td>${'<td>0</td>'.repeat(8)}</tr>\n` +
      '</tbody>\n<tfoot><tr><td colspan=9>1 row</td></tr></tfoot></table>\n',
  );
  const header = (sep: string): string =>
    ['"f""oo"', "f'oo", 'f\\oo', '"short\nvery very long\nnot much"', '"very very long\nthenshort"', '\u03ba\u03cc\u03c3\u03bc\u03b5', 'a|b', '\u070885'].join(sep);
  assert.is(out.tsv, `${header('\t')}\n${Array(8).fill('0').join('\t')}\n`);
  assert.is(out.csv, `${header(',')}\n${Array(8).fill('0').join(',')}\n`);
  assert.is(out.raw, `# 8 columns\n# row 1\n${'## 1\n0\n'.repeat(8)}# 1 row\n`);
});

test('Example_csv_tsv_quoting: values and column names', () => {
  const cases: Array<[string, string, string]> = [
    // value, csv rendering, tsv rendering
    ['ab', 'ab', 'ab'],
    ['a b', 'a b', 'a b'],
    ['a\nbc\ndef', '"a\nbc\ndef"', '"a\nbc\ndef"'],
    ['a, b', '"a, b"', 'a, b'],
    ['"a", "b"', '"""a"", ""b"""', '"""a"", ""b"""'],
    ["'a', 'b'", `"'a', 'b'"`, "'a', 'b'"],
    ['a\\,b', '"a\\,b"', 'a\\,b'],
    ['a\tb', 'a\tb', '"a\tb"'],
  ];
  for (const [value, csv, tsv] of cases) {
    const rs = { columns: ['s', 't'], rows: [[value, value]] };
    assert.is(renderResultSet('csv', rs), `s,t\n${csv},${csv}\n`, `csv value ${JSON.stringify(value)}`);
    assert.is(renderResultSet('tsv', rs), `s\tt\n${tsv}\t${tsv}\n`, `tsv value ${JSON.stringify(value)}`);
    const named = { columns: [`${value}1`, `${value}2`], rows: [['1', '2']] };
    const q = (r: string, n: string): string => (r.startsWith('"') ? `${r.slice(0, -1)}${n}"` : `${r}${n}`);
    assert.is(renderResultSet('csv', named), `${q(csv, '1')},${q(csv, '2')}\n1,2\n`, `csv name ${JSON.stringify(value)}`);
    assert.is(renderResultSet('tsv', named), `${q(tsv, '1')}\t${q(tsv, '2')}\n1\t2\n`, `tsv name ${JSON.stringify(value)}`);
  }
});

// ---------------------------------------------------------------------------------------------
// text/tabwriter details and API edges.

test('expandTabs: text/tabwriter(minwidth 4, padding 1) semantics', () => {
  assert.is(expandTabs('no tabs\nhere'), 'no tabs\nhere');
  assert.is(expandTabs('a\tb'), 'a   b');
  assert.is(expandTabs('abcdef\tb'), 'abcdef b');
  assert.is(expandTabs('\tx'), '    x');
  assert.is(expandTabs('a\t'), 'a'); // a trailing tab-terminated cell is never padded
  assert.is(expandTabs('a\t\nbb\tc'), 'a   \nbb  c');
  assert.is(expandTabs('ab\tc\nlonger\td'), 'ab     c\nlonger d'); // one column block
  assert.is(expandTabs('ab\tc\nplain\nlonger\td'), 'ab  c\nplain\nlonger d'); // block broken
  assert.is(expandTabs('ab\tc\flonger\td'), 'ab  c\nlonger d'); // \f flushes and becomes \n
  assert.is(expandTabs('ñ\tx'), 'ñ   x'); // widths counted in runes
});

test('isFormat, FORMATS, and malformed input', () => {
  assert.equal([...FORMATS], ['table', 'tsv', 'csv', 'json', 'ndjson', 'records', 'sql', 'html', 'raw']);
  assert.ok(isFormat('ndjson'));
  assert.not.ok(isFormat('rawhtml'));
  assert.not.ok(isFormat('TABLE'));
  assert.throws(() => renderResultSet('table', { columns: ['a', 'b'], rows: [['1']] }), /row 1 has 1 cells but there are 2 columns/);
  assert.throws(() => renderResultSet('nope' as Format, { columns: [], rows: [] }), /invalid table display format: nope/);
});

test.run();
