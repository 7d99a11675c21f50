// Writes Poseidon test vectors computed by circomlibjs (the reference implementation
// of circomlib's Poseidon) as JSON on stdout.
//   node tools/node/poseidon_vectors.mjs > tests/zk/data/poseidon_bn254_vectors.json
import { buildPoseidonReference } from "circomlibjs";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const mainPath = require.resolve("circomlibjs");
const constants = JSON.parse(readFileSync(mainPath.replace(/build[\\/]main\.cjs$/, "src/poseidon_constants.json"), "utf8"));

const poseidon = await buildPoseidonReference();
const F = poseidon.F;
const str = (x) => F.toString(x);

const hashes = [];
for (let n = 1; n <= 16; n++) {
  const inputs = Array.from({ length: n }, (_, i) => BigInt(i + 1));
  hashes.push({ inputs: inputs.map(String), out: str(poseidon(inputs)) });
}
// edge values: 0 and r-1
const rm1 = F.toString(F.e(-1));
hashes.push({ inputs: ["0", rm1], out: str(poseidon([0n, BigInt(rm1)])) });
// initState (used by the sponge construction of ispc: state[0] = number of elements)
const withInit = [];
for (const xs of [[1n], [1n, 2n, 3n], [5n, 6n, 7n, 8n]]) {
  const padded = [...xs, ...Array(4 - xs.length).fill(0n)];
  withInit.push({ inputs: padded.map(String), init: String(xs.length), out: str(poseidon(padded, xs.length)) });
}
// digest of the constants as circomlibjs ships them: sha256 over decimal strings joined by ","
const digests = {};
for (let t = 2; t <= 17; t++) {
  const C = constants.C[t - 2].map((h) => BigInt(h).toString());
  const M = constants.M[t - 2].flat().map((h) => BigInt(h).toString());
  digests[t] = createHash("sha256").update(C.join(",") + ";" + M.join(",")).digest("hex");
}
process.stdout.write(JSON.stringify({ generator: "circomlibjs buildPoseidonReference", hashes, withInit, constants_sha256: digests }, null, 1) + "\n");
