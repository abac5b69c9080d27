// Copies the contract's WIT from the Berth repository into ./wit, for a packed SDK (npm
// pack, or a project installing the SDK with install-links). The repository keeps the one
// committed copy; ./wit is generated and ignored by git. Does nothing outside the repo.
import { cpSync, existsSync, rmSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const sdk = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repo = join(sdk, '..', '..', 'wit');
if (!existsSync(join(repo, 'berth-plugin', 'v0.3', 'plugin.wit'))) {
  if (!existsSync(join(sdk, 'wit', 'sdk', 'world.wit'))) {
    console.error('copy-wit: the Berth repository wit/ is not at ../../wit and there is no packed copy');
    process.exit(1);
  }
  process.exit(0);
}
const out = join(sdk, 'wit');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'sdk', 'deps'), { recursive: true });
const copy = (from, to) => cpSync(from, to, { recursive: true, dereference: true });
copy(join(repo, 'berth-plugin', 'v0.3'), join(out, 'berth-plugin', 'v0.3'));
copy(join(repo, 'wasi-keyvalue'), join(out, 'wasi-keyvalue'));
copy(join(repo, 'sdk', 'world.wit'), join(out, 'sdk', 'world.wit'));
copy(join(repo, 'berth-plugin', 'v0.3'), join(out, 'sdk', 'deps', 'berth-plugin'));
copy(join(repo, 'wasi-keyvalue'), join(out, 'sdk', 'deps', 'wasi-keyvalue'));
