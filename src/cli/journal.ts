// `certgen journal verify|show [FILE]`: the append-only journal beside a spec (src/journal).
import type { Command } from 'commander';
import { DEFAULT_SPEC_FILE } from '../cluster-spec/spec.js';
import { JournalError, headOf, journalFileFor, parseJournalLenient, verifyJournalText } from '../journal/journal.js';
import { renderJournalText } from '../journal/render.js';
import { subcommand } from './command.js';
import type { Io, Run } from './io.js';
import { promises as fs } from 'node:fs';

const FILE_ARGUMENT = `the cluster spec whose journal it is (default ./${DEFAULT_SPEC_FILE}), or the .journal.jsonl file`;

/** The journal named by the argument: a .jsonl file itself, or the one beside a spec. */
function journalOf(arg: string | undefined): string {
  const f = arg ?? DEFAULT_SPEC_FILE;
  return f.endsWith('.jsonl') ? f : journalFileFor(f);
}

export function addJournalCommands(program: Command, io: Io, run: Run): void {
  const journal = subcommand(program, 'journal', io).description('the append-only journal of every apply beside the spec: verify its chain, or show it');

  subcommand(journal, 'verify', io)
    .argument('[file]', FILE_ARGUMENT)
    .description('check that no line of the journal was changed, removed or inserted')
    .addHelpText(
      'after',
      `
Each line carries the SHA-256 of the line before it; verify recomputes the chain and names the
first line where it breaks. The last line's SHA-256 (the head) is printed: note it somewhere else
(a CI log, a ticket) to detect a change to the last line too.

Exit codes:
  0  the chain is whole (or there is no journal yet)
  1  a line is broken, or the journal cannot be read
`,
    )
    .action((file: string | undefined) => {
      run.path = 'journal verify';
      run.action = async () => {
        const path = journalOf(file);
        let text: string;
        try {
          text = await fs.readFile(path, 'utf8');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          io.stdout(`${path}: no journal yet\n`);
          return;
        }
        const entries = verifyJournalText(text, path);
        io.stdout(`${path}: ok, ${entries.length} line${entries.length === 1 ? '' : 's'}, head ${headOf(text) ?? '-'}\n`);
      };
    });

  subcommand(journal, 'show', io)
    .argument('[file]', FILE_ARGUMENT)
    .description('print the journal: per run, when, who, where, the command, and each file before → after with its reason (exit 1 when its chain is broken)')
    .option('--json', 'the entries as a JSON array')
    .action((file: string | undefined, flags: { json?: boolean }) => {
      run.path = 'journal show';
      run.action = async () => {
        const path = journalOf(file);
        let text = '';
        try {
          text = await fs.readFile(path, 'utf8');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
        // A broken chain is shown all the same (that is when an operator looks), then reported.
        let broken: JournalError | undefined;
        let entries;
        try {
          entries = verifyJournalText(text, path);
        } catch (err) {
          if (!(err instanceof JournalError)) throw err;
          broken = err;
          entries = parseJournalLenient(text);
        }
        io.stdout(flags.json ? `${JSON.stringify(entries, null, 2)}\n` : renderJournalText(entries, path));
        if (broken) throw broken;
      };
    });
}
