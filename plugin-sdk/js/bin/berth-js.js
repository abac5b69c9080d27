#!/usr/bin/env node
// berth-js: builds a JavaScript/TypeScript Berth plugin project into a WebAssembly component.
//
//   berth-js build [--out OUT.wasm] [--dir PROJECT]
//
// Reads package.json (name, version, description, "berth": { entry, keyvalue, output }),
// bundles the entry with esbuild (TypeScript included), loads the bundle under Node to
// check the declarations, then runs componentize-js against the contract's WIT.

import { readFileSync, writeFileSync, existsSync, mkdtempSync, rmSync, mkdirSync, cpSync } from 'node:fs';
import { join, resolve, dirname, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SDK_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CONTRACT = 'berth:plugin@0.3.0';

class BuildError extends Error {}

function fail(message) {
  throw new BuildError(message);
}

function usage() {
  return `usage: berth-js build [--out OUT.wasm] [--dir PROJECT]

Builds the plugin project in the current folder (or --dir) into a WebAssembly component.
package.json: "name", "version", "description", and optionally
  "berth": { "entry": "src/index.ts", "keyvalue": false, "output": "<name>.wasm" }`;
}

function parseArgs(argv) {
  const [command, ...rest] = argv;
  const opts = { command, out: undefined, dir: process.cwd(), check: true };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--out' || a === '-o') opts.out = rest[++i];
    else if (a.startsWith('--out=')) opts.out = a.slice(6);
    else if (a === '--dir') opts.dir = resolve(rest[++i]);
    else if (a === '--no-check') opts.check = false;
    else if (a === '-h' || a === '--help') opts.command = 'help';
    else fail(`unknown option \`${a}\`\n\n${usage()}`);
  }
  return opts;
}

/**
 * The folder holding the WIT: the Berth repository's when the SDK is its checkout, else the
 * copy `npm pack` put in the SDK (in a checkout that copy may be stale, so it comes second).
 */
function witRoot() {
  for (const candidate of [join(SDK_ROOT, '..', '..', 'wit'), join(SDK_ROOT, 'wit')]) {
    if (existsSync(join(candidate, 'berth-plugin', 'v0.3', 'plugin.wit')) && existsSync(join(candidate, 'sdk', 'world.wit'))) return candidate;
  }
  fail(`cannot find the Berth WIT next to the SDK (the repository's wit/ or ${SDK_ROOT}/wit); reinstall @berth/plugin-sdk`);
}

export function readProject(dir) {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) fail(`no package.json in ${dir}; run berth-js build in the plugin project's folder`);
  let pkg;
  try {
    pkg = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    fail(`${file}: not valid JSON: ${e.message}`);
  }
  const berth = pkg.berth ?? {};
  if (typeof berth !== 'object') fail(`${file}: "berth" must be an object`);
  const name = typeof pkg.name === 'string' ? pkg.name.replace(/^@[^/]+\//, '') : undefined;
  if (!name) fail(`${file}: needs a "name" (the plugin's name, which prefixes its tools)`);
  let entry = berth.entry;
  if (entry === undefined) {
    entry = ['src/index.ts', 'src/index.js', 'index.ts', 'index.js'].find((e) => existsSync(join(dir, e)));
    if (!entry) fail(`${file}: no "berth": { "entry": ... } and none of src/index.ts, src/index.js, index.ts, index.js exists`);
  }
  const entryPath = resolve(dir, entry);
  if (!existsSync(entryPath)) fail(`${file}: the entry \`${entry}\` does not exist`);
  if (berth.keyvalue !== undefined && typeof berth.keyvalue !== 'boolean') fail(`${file}: "berth": { "keyvalue" } must be true or false`);
  return {
    dir,
    pkg,
    entryPath,
    keyvalue: berth.keyvalue === true,
    output: berth.output ?? `${name}.wasm`,
    defaults: { name, version: pkg.version ?? '0.0.0', description: pkg.description },
  };
}

/**
 * Imports `name` from the project's node_modules, else the SDK's: a `file:` SDK is linked,
 * and npm does not install a linked package's dependencies, so projects list the build
 * tools (esbuild, componentize-js) themselves.
 */
async function importTool(name, projectDir) {
  for (const start of [projectDir, SDK_ROOT]) {
    let dir = start;
    for (;;) {
      const pkgDir = join(dir, 'node_modules', name);
      if (existsSync(join(pkgDir, 'package.json'))) {
        const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
        let target = pkg.exports;
        if (target && typeof target === 'object' && '.' in target) target = target['.'];
        if (target && typeof target === 'object') target = target.import ?? target.node ?? target.default ?? target.require;
        if (target && typeof target === 'object') target = target.default;
        const main = typeof target === 'string' ? target : pkg.main ?? 'index.js';
        return import(pathToFileURL(join(pkgDir, main)).href);
      }
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  fail(`${name} is not installed; add it to the project's devDependencies and run \`npm install\``);
}

async function loadEsbuild(projectDir) {
  const mod = await importTool('esbuild', projectDir);
  return mod.build ? mod : mod.default;
}

function formatMessages(messages, dir) {
  return messages
    .map((m) => {
      if (!m.location) return `error: ${m.text}`;
      const { file, line, column, lineText } = m.location;
      const where = `${relative(process.cwd(), resolve(dir, file))}:${line}:${column + 1}`;
      return `${where}: error: ${m.text}\n    ${lineText}\n    ${' '.repeat(column)}^`;
    })
    .join('\n');
}

function hostModule(project) {
  const kvImports = project.keyvalue
    ? `import { open } from 'wasi:keyvalue/store@0.2.0-draft';
import { increment } from 'wasi:keyvalue/atomics@0.2.0-draft';
import { getMany, setMany, deleteMany } from 'wasi:keyvalue/batch@0.2.0-draft';
const keyvalue = { store: { open }, atomics: { increment }, batch: { getMany, setMany, deleteMany } };`
    : 'const keyvalue = null;';
  return `import { log } from 'berth:plugin/log@0.3.0';
import { get, entries } from 'berth:plugin/config@0.3.0';
import { report } from 'berth:plugin/progress@0.3.0';
import { changed } from 'berth:plugin/resources@0.3.0';
import { sample, elicit } from 'berth:plugin/client@0.3.0';
import { installHost } from '@berth/plugin-sdk/component';
${kvImports}
installHost({ log: { log }, config: { get, entries }, progress: { report }, resources: { changed }, client: { sample, elicit }, keyvalue }, ${JSON.stringify(project.defaults)});
`;
}

function entryModule(project, forCheck) {
  const user = JSON.stringify(project.entryPath);
  if (forCheck) {
    return `import * as __user from ${user};
export { witExports, setPackageDefaults } from '@berth/plugin-sdk/component';
`;
  }
  return `import 'berth-virtual:host';
import ${user};
import { witExports } from '@berth/plugin-sdk/component';
export const guest = witExports.guest;
export const events = witExports.events;
export const needs = witExports.needs;
export const prompts = witExports.prompts;
export const completion = witExports.completion;
export const icons = witExports.icons;
`;
}

async function bundle(esbuild, project, forCheck, outfile) {
  const virtual = {
    name: 'berth-virtual',
    setup(build) {
      build.onResolve({ filter: /^berth-virtual:/ }, (args) => ({ path: args.path, namespace: 'berth-virtual' }));
      build.onLoad({ filter: /.*/, namespace: 'berth-virtual' }, (args) => ({
        contents: args.path === 'berth-virtual:entry' ? entryModule(project, forCheck) : hostModule(project),
        resolveDir: project.dir,
        loader: 'js',
      }));
    },
  };
  try {
    await esbuild.build({
      entryPoints: ['berth-virtual:entry'],
      bundle: true,
      format: 'esm',
      platform: forCheck ? 'node' : 'neutral',
      mainFields: ['module', 'main'],
      conditions: forCheck ? [] : ['import', 'default'],
      target: 'es2022',
      external: ['berth:*', 'wasi:*'],
      outfile,
      plugins: [virtual],
      logLevel: 'silent',
      absWorkingDir: project.dir,
      legalComments: 'none',
    });
  } catch (e) {
    if (e.errors?.length) fail(`cannot bundle ${relative(process.cwd(), project.entryPath)}:\n${formatMessages(e.errors, project.dir)}`);
    throw e;
  }
}

/** Loads the bundle under Node and asks it for its manifest, as the host will. */
async function check(project, file) {
  let mod;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (e) {
    if (e?.code === 'ERR_UNSUPPORTED_ESM_URL_SCHEME') {
      process.stderr.write('warning: the plugin imports berth:/wasi: modules directly; skipping the declaration check\n');
      return null;
    }
    if (e?.berthDeclaration) fail(`invalid declaration: ${e.message}`);
    fail(`the plugin throws while loading (checked under Node): ${e?.name ?? 'Error'}: ${e?.message ?? e}`);
  }
  mod.setPackageDefaults(project.defaults);
  try {
    return mod.witExports.guest.describe();
  } catch (e) {
    fail(`invalid plugin: ${e.message.replace(/^the plugin is invalid:/, '')}`);
  }
}

async function build(opts) {
  const started = Date.now();
  const project = readProject(opts.dir);
  const out = resolve(project.dir, opts.out ?? project.output);
  const root = witRoot();
  const esbuild = await loadEsbuild(project.dir);
  const work = mkdtempSync(join(tmpdir(), 'berth-js-'));
  try {
    let manifest = null;
    if (opts.check) {
      const checkFile = join(work, 'check.mjs');
      await bundle(esbuild, project, true, checkFile);
      manifest = await check(project, checkFile);
    }
    const bundled = join(work, 'plugin.js');
    await bundle(esbuild, project, false, bundled);
    const { componentize } = await importTool('@bytecodealliance/componentize-js', project.dir);
    const world = project.keyvalue
      ? { witPath: join(root, 'sdk'), worldName: 'full-with-keyvalue' }
      : { witPath: join(root, 'berth-plugin', 'v0.3'), worldName: 'full' };
    let result;
    try {
      result = await componentize({ sourcePath: bundled, ...world, disableFeatures: ['http', 'fetch-event'] });
    } catch (e) {
      const kept = join(project.dir, 'node_modules', '.berth-js', 'plugin.js');
      let where = '';
      try {
        mkdirSync(dirname(kept), { recursive: true });
        cpSync(bundled, kept);
        where = `\n(plugin.js:LINE:COLUMN above refers to the bundle, kept at ${relative(process.cwd(), kept)})`;
      } catch {}
      fail(`componentize-js failed: ${e?.message ?? e}${where}`);
    }
    writeFileSync(out, result.component);
    const mb = (result.component.length / 1e6).toFixed(1);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const tools = manifest ? `, ${manifest.tools.length} tool${manifest.tools.length === 1 ? '' : 's'}` : '';
    console.log(`built ${relative(process.cwd(), out) || out} (${mb} MB${tools}, ${project.keyvalue ? 'world berth:sdk/full-with-keyvalue' : `world ${CONTRACT.replace('@', '/full@')}`}) in ${secs} s`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.command === 'build') return build(opts);
  if (opts.command === 'help' || opts.command === undefined) {
    console.log(usage());
    return;
  }
  fail(`unknown command \`${opts.command}\`\n\n${usage()}`);
}

main().catch((e) => {
  if (e instanceof BuildError) {
    process.stderr.write(`berth-js: ${e.message}\n`);
  } else {
    process.stderr.write(`berth-js: internal error: ${e?.stack ?? e}\n`);
  }
  process.exit(1);
});
