// The import graph of src/, checked by `npm run check:deps` (and so by `npm test`).
// Layers, bottom to top (a module may import its own layer and the ones below it):
//   src/errors.ts, src/core/ (pure leaves)
//   src/cluster-spec/, src/pki/
//   src/io/
//   src/tree/
//   src/plan/
//   src/apply.ts, src/report/, src/cert/, src/distribute.ts, src/render-distribute.ts
//   src/cli/, src/cli.ts, src/index.ts
// scripts/check-boundaries.mjs checks the other half: that src/core and the pure planner use no
// fs, process, clock or randomness. test/tooling/depcruise.test.ts checks that these rules bite.

/** `to.path` for "anything in src/ except these" (regexes relative to src/). */
const srcExcept = (...allowed) => ({ path: '^src/', pathNot: `^src/(${allowed.join('|')})` });

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles in src/ that exist at run time.',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-circular-type-only',
      severity: 'error',
      comment: 'No type-only import cycles in src/ either.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve would hide its edge from every other rule.',
      from: { path: '^src/' },
      // The schema validator npm run build generates into dist/ (src/cluster-spec/spec-validator.ts).
      to: { couldNotResolve: true, pathNot: '^\\./spec-schema-validate\\.cjs$' },
    },
    {
      name: 'errors-is-a-leaf',
      severity: 'error',
      comment: 'src/errors.ts is the bottom layer: it imports nothing from src/.',
      from: { path: '^src/errors\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'core-imports-only-core-and-errors',
      severity: 'error',
      comment: 'src/core/ holds pure leaves: it may import only src/core/ and src/errors.ts.',
      from: { path: '^src/core/' },
      to: srcExcept('core/', 'errors\\.ts$'),
    },
    {
      name: 'cluster-spec-imports-only-core-and-errors',
      severity: 'error',
      comment: 'src/cluster-spec/ (spec types, parse, load) sits on core and errors only.',
      from: { path: '^src/cluster-spec/' },
      to: srcExcept('cluster-spec/', 'core/', 'errors\\.ts$'),
    },
    {
      name: 'pki-imports-only-core-and-errors',
      severity: 'error',
      comment:
        'src/pki/ may import src/pki/, src/core/ and src/errors.ts; never tree, plan, report, cert, cli, apply, distribute or io.',
      from: { path: '^src/pki/' },
      to: srcExcept('pki/', 'core/', 'errors\\.ts$'),
    },
    {
      name: 'io-not-upwards',
      severity: 'error',
      comment: 'src/io/ is below the tree, the planner and everything that uses them.',
      from: { path: '^src/io/' },
      to: { path: '^src/(tree/|plan/|apply\\.ts$|report/|cert/|distribute\\.ts$|render-distribute\\.ts$|cli/|cli\\.ts$|index\\.ts$)' },
    },
    {
      name: 'tree-not-upwards',
      severity: 'error',
      comment: 'src/tree/ (layout and reader) is below the planner and everything that uses it.',
      from: { path: '^src/tree/' },
      to: { path: '^src/(plan/|apply\\.ts$|report/|cert/|distribute\\.ts$|render-distribute\\.ts$|cli/|cli\\.ts$|index\\.ts$)' },
    },
    {
      name: 'plan-not-upwards',
      severity: 'error',
      comment: 'src/plan/ must not import apply, report, cert, distribute or the CLI.',
      from: { path: '^src/plan/' },
      to: { path: '^src/(apply\\.ts$|report/|cert/|distribute\\.ts$|render-distribute\\.ts$|cli/|cli\\.ts$|index\\.ts$)' },
    },
    {
      name: 'report-not-to-apply-or-cli',
      severity: 'error',
      comment: 'src/report/ must not import src/apply.ts or the CLI.',
      from: { path: '^src/report/' },
      to: { path: '^src/(apply\\.ts$|cli/|cli\\.ts$|index\\.ts$)' },
    },
    {
      name: 'only-cli-imports-cli',
      severity: 'error',
      comment: 'Nothing but src/cli.ts and src/cli/ imports src/cli/ (the only place that prints).',
      from: { path: '^src/', pathNot: '^src/(cli\\.ts$|cli/)' },
      to: { path: '^src/(cli/|cli\\.ts$)' },
    },
    {
      name: 'nothing-imports-index',
      severity: 'error',
      comment: 'src/index.ts is the library entry point, the top of the graph.',
      from: { path: '^src/' },
      to: { path: '^src/index\\.ts$' },
    },
    {
      name: 'src-not-to-test',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
  },
};
