// One long-running Node process that loads snarkjs 0.7.6 once and answers jobs.
// stdin: one JSON job per line; stdout: one JSON result per line.
//   {"op": "setup", "r1cs": F, "ptau": F, "zkey": F}            -> {"ok": true, "seconds": s, "vk": {...}}
//   {"op": "prove", "zkey": F, "wtns": F, "repeat": k}           -> {"ok": true, "seconds": [..], "proof": {...}, "public": [...]}
//   {"op": "verify", "vk": {...}, "public": [...], "proof": {...}, "repeat": k} -> {"ok": bool, "seconds": [..]}
import { createInterface } from "node:readline";

const snarkjs = await import(new URL("../../tools/node/node_modules/snarkjs/main.js", import.meta.url));
const now = () => Number(process.hrtime.bigint()) / 1e9;

async function handle(job) {
  if (job.op === "setup") {
    const t = now();
    await snarkjs.plonk.setup(job.r1cs, job.ptau, job.zkey);
    const seconds = now() - t;
    const vk = await snarkjs.zKey.exportVerificationKey(job.zkey);
    return { ok: true, seconds, vk };
  }
  if (job.op === "prove") {
    const seconds = [];
    let res;
    for (let i = 0; i < (job.repeat || 1); i++) {
      const t = now();
      res = await snarkjs.plonk.prove(job.zkey, job.wtns);
      seconds.push(now() - t);
    }
    return { ok: true, seconds, proof: res.proof, public: res.publicSignals };
  }
  if (job.op === "verify") {
    const seconds = [];
    let ok = true;
    for (let i = 0; i < (job.repeat || 1); i++) {
      const t = now();
      ok = ok && (await snarkjs.plonk.verify(job.vk, job.public, job.proof));
      seconds.push(now() - t);
    }
    return { ok, seconds };
  }
  if (job.op === "quit") {
    process.exit(0);
  }
  return { ok: false, error: `unknown op ${job.op}` };
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  let out;
  try {
    out = await handle(JSON.parse(line));
  } catch (e) {
    out = { ok: false, error: String(e && e.stack || e) };
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}
process.exit(0);
