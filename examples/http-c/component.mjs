// NPM_DIR=bin/npm node component.mjs WORLD.wit DEPS_DIR CORE.wasm OUT.wasm
// Makes the component of handler.c: embeds the world `handler` of
// WORLD.wit (its dependencies are DEPS_DIR/*/package.wit) into the core
// module and runs wasm-tools' `component new`, both through the wasm-tools
// that jco ships (@bytecodealliance/jco-transpile). The WIT goes in as one
// source text (each dependency a nested `package ... { }`), because jco
// 1.35.0's `embed --wit PATH` preopens no directory for its wasm-tools and
// fails to read any path ("No such file or directory (os error 44)").
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [worldPath, depsDir, corePath, out] = process.argv.slice(2);
const npmDir = process.env.NPM_DIR;
if (!out || !npmDir) {
  console.error('usage: NPM_DIR=bin/npm node component.mjs WORLD.wit DEPS_DIR CORE.wasm OUT.wasm');
  process.exit(2);
}
const tools = await import(
  pathToFileURL(join(npmDir, 'node_modules/@bytecodealliance/jco-transpile/dist/wasm-tools.js')).href
);

let witSource = await readFile(worldPath, 'utf8');
for (const dep of (await readdir(depsDir)).sort()) {
  const text = await readFile(join(depsDir, dep, 'package.wit'), 'utf8');
  const nested = text.replace(/^package ([^;\s]+);/m, 'package $1 {');
  if (nested === text) throw new Error(`${dep}/package.wit has no package line`);
  witSource += `\n${nested}\n}\n`;
}
const binary = new Uint8Array(await readFile(corePath));
const embedded = await tools.componentEmbed({ binary, witSource, world: 'handler' });
await writeFile(out, await tools.componentNew(embedded));
