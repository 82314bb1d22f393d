// The shipped examples work: examples/github-workflow.yml's steps run here as GitHub would run
// them (each `run:` in bash -e, in its working-directory, with GITHUB_WORKSPACE and
// GITHUB_STEP_SUMMARY set), against a real sshd on 127.0.0.1 for `distribute`. Only the
// `npx --prefix "$GITHUB_WORKSPACE" certgen` prefix is replaced by this checkout's bin.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { startSshd, type SshdServer } from './helpers/sshd.js';
import { ROOT, setup, tmpdir } from './helpers/index.js';

interface Step {
  name?: string;
  run?: string;
  uses?: string;
  if?: string;
  'working-directory'?: string;
}
interface Workflow {
  env: Record<string, string>;
  jobs: Record<string, { steps: Step[] }>;
}

const workflow = parse(readFileSync(path.join(ROOT, 'examples/github-workflow.yml'), 'utf8')) as Workflow;
const PREFIX = 'npx --prefix "$GITHUB_WORKSPACE" certgen';
const BIN = `node ${JSON.stringify(path.join(ROOT, 'bin/certgen.cjs'))}`;

const s = suite('examples/github-workflow.yml');
let sshd: SshdServer | undefined;
setup(s, async () => {
  sshd = await startSshd();
});
s.after(async () => {
  await sshd?.stop();
});

/** Runs a job's run steps (uses: steps and npm ci are the runner's business) in a fresh checkout and CERTGEN_HOME. */
async function runJob(job: string, workspace: string, home: string, summary: string): Promise<void> {
  for (const step of workflow.jobs[job]!.steps) {
    if (step.run === undefined || step.run.trim() === 'npm ci') continue;
    const script = step.run.replaceAll('${{ env.CERTGEN_HOME }}', home);
    for (const line of script.split('\n')) if (line.includes('certgen ')) assert.ok(line.includes(PREFIX), `a certgen call without the npx prefix: ${line}`);
    const cwd = (step['working-directory'] ?? workspace).replaceAll('${{ env.CERTGEN_HOME }}', home);
    const r = await execa('bash', ['-e', '-c', script.replaceAll(PREFIX, BIN)], { cwd, reject: false, all: true, env: { ...process.env, CERTGEN_HOME: home, GITHUB_WORKSPACE: workspace, GITHUB_STEP_SUMMARY: summary } });
    assert.is(r.exitCode, 0, `step "${step.name ?? script}" failed:\n${r.all}`);
  }
}

s('the pull-request plan, then the apply/check/distribute job on merge, then a pull request changing one node', async () => {
  const sv = sshd!;
  const dir = tmpdir();
  const workspace = path.join(dir, 'checkout');
  const home = path.join(dir, 'certgen-home');
  mkdirSync(workspace);
  mkdirSync(home, { mode: 0o700 });
  const target = (name: string) => ({ host: sv.host, port: sv.port, user: sv.user, dir: path.join(dir, 'remote', name), identityFile: sv.identityFile, knownHosts: sv.knownHosts });
  const spec = { certsDir: 'certs', caKey: 'secrets/ca.key', ca: { keySize: 1024 }, defaults: { keySize: 1024 }, nodes: [{ name: 'node1', hosts: ['localhost'], ssh: target('node1') }, { name: 'node2', hosts: ['127.0.0.1'], ssh: target('node2') }], clients: [{ user: 'root' }] };
  writeFileSync(path.join(workspace, 'cluster-certs.yaml'), stringify(spec));

  const summary1 = path.join(dir, 'summary-pr1.md');
  await runJob('plan', workspace, home, summary1);
  const md = readFileSync(summary1, 'utf8');
  assert.match(md, /^### certgen plan: `pull-request\.yaml`/);
  assert.match(md, '**4 to create, ');
  assert.ok(existsSync(path.join(home, 'certs.plan')), 'the saved plan the artifact step uploads');
  assert.not.ok(existsSync(path.join(home, 'certs')), 'a pull request writes no certificate');

  const summary2 = path.join(dir, 'summary-main.md');
  await runJob('apply', workspace, home, summary2);
  for (const n of ['node1', 'node2']) {
    assert.equal(readFileSync(path.join(dir, 'remote', n, 'node.crt')), readFileSync(path.join(home, 'certs/nodes', n, 'node.crt')), `${n} got its certificate`);
  }
  assert.match(readFileSync(summary2, 'utf8'), /\| `nodes\/node2\/node\.crt` \|/, 'the report in the summary');

  spec.nodes[1]!.hosts = ['127.0.0.1', 'db2.example.com'];
  writeFileSync(path.join(workspace, 'cluster-certs.yaml'), stringify(spec));
  const summary3 = path.join(dir, 'summary-pr2.md');
  await runJob('plan', workspace, home, summary3);
  assert.match(readFileSync(summary3, 'utf8'), /\| \*\*reissue\*\* \| `node\/node2` \| .* \| `hosts-changed` hosts \+db2\.example\.com \|/);
});

s.run();
