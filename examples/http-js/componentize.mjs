// NPM_DIR=bin/npm node componentize.mjs WITDIR SOURCE.js OUT.wasm
// Runs componentize-js's componentize() on one handler against the world
// `handler` of WITDIR (world.wit, with the WASI packages under deps/).
// componentize-js is loaded from NPM_DIR (an ES module import does not
// search NODE_PATH).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [witPath, sourcePath, out] = process.argv.slice(2);
const npmDir = process.env.NPM_DIR;
if (!out || !npmDir) {
  console.error('usage: NPM_DIR=bin/npm node componentize.mjs WITDIR SOURCE.js OUT.wasm');
  process.exit(2);
}
const { componentize } = await import(
  pathToFileURL(join(npmDir, 'node_modules/@bytecodealliance/componentize-js/src/componentize.js')).href
);
const { component } = await componentize({ sourcePath, witPath, worldName: 'handler' });
await writeFile(out, component);
