// tsc does not set the executable bit; npm links dist/cli.js as the `certgen` bin.
import { chmodSync } from 'node:fs';
chmodSync(new URL('../dist/cli.js', import.meta.url), 0o755);
