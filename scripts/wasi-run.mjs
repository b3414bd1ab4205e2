// Runs a wasm32-wasip1 program under Node's WASI: the cargo runner for `--target wasm32-wasip1`
// (`CARGO_TARGET_WASM32_WASIP1_RUNNER="node --no-warnings scripts/wasi-run.mjs"`).
// The program sees the environment and the current directory (preopened as `.` and by its
// absolute path), nothing else of the file system.
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import process from "node:process";

const [program, ...args] = process.argv.slice(2);
const cwd = process.cwd();
const wasi = new WASI({
  version: "preview1",
  args: [program, ...args],
  env: process.env,
  preopens: { ".": cwd, [cwd]: cwd },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(program));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
