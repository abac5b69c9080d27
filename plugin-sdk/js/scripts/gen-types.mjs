// Generates TypeScript declarations for the WIT world `berth:plugin/full@0.3.0` into
// ./types with jco's guest type generation (`jco guest-types`). Run: npm run gen-types.
//
// Calls jco-transpile's API rather than the `jco guest-types` CLI: with jco 1.35 the CLI's
// WASI shim (preview2-shim 0.26) starts with no preopened folders, so it cannot read any
// WIT file ("failed to read path for WIT ... No such file or directory"). Preopening `/`
// in that same shim instance makes the generator work.
import { createRequire } from 'node:module';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { mkdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const sdk = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// The repository's WIT first: the packed copy (npm pack) may be older.
const wit = [join(sdk, '..', '..', 'wit', 'berth-plugin', 'v0.3'), join(sdk, 'wit', 'berth-plugin', 'v0.3')].find((p) => existsSync(join(p, 'plugin.wit')));
if (!wit) {
  console.error('gen-types: cannot find wit/berth-plugin/v0.3');
  process.exit(1);
}
const require = createRequire(join(sdk, 'package.json'));
// jco's type generator lives in @bytecodealliance/jco-transpile, a dependency of jco.
const jcoMain = require.resolve('@bytecodealliance/jco');
const transpile = createRequire(jcoMain).resolve('@bytecodealliance/jco-transpile');
const shimFs = createRequire(transpile).resolve('@bytecodealliance/preview2-shim/filesystem');
const fs = await import(pathToFileURL(shimFs).href);
fs._addPreopen('/', '/');
const { generateGuestTypes } = await import(pathToFileURL(transpile).href);

const out = join(sdk, 'types');
const files = await generateGuestTypes(wit, { worldName: 'full', outDir: out + '/' });
rmSync(out, { recursive: true, force: true });
for (const [file, contents] of Object.entries(files)) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, contents);
}
console.log(`gen-types: ${Object.keys(files).length} files from ${wit} (world full) into types/`);
