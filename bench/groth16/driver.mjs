// Times snarkjs 0.7.6 groth16.prove / groth16.verify inside ONE Node process.
// usage: node driver.mjs ZKEY WTNS VK_JSON REPS  -> prints one JSON line
import { createRequire } from "module";
import { readFileSync } from "fs";
import { dirname, resolve } from "path";
import { fileURLToPath } from "url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(resolve(here, "../../tools/node/package.json"));
const snarkjs = require("snarkjs");

const [zkey, wtns, vkPath, repsArg] = process.argv.slice(2);
const reps = parseInt(repsArg || "3", 10);
const vk = JSON.parse(readFileSync(vkPath, "utf8"));

let { proof, publicSignals } = await snarkjs.groth16.prove(zkey, wtns); // warm-up (curve init, wasm threads)
const prove = [];
for (let i = 0; i < reps; i++) {
  const t0 = process.hrtime.bigint();
  ({ proof, publicSignals } = await snarkjs.groth16.prove(zkey, wtns));
  prove.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
const verify = [];
let ok = true;
for (let i = 0; i < reps + 2; i++) {
  const t0 = process.hrtime.bigint();
  ok = ok && (await snarkjs.groth16.verify(vk, publicSignals, proof));
  verify.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
console.log(JSON.stringify({ prove, verify, ok, proof, publicSignals }));
process.exit(0);
