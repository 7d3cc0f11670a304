// `npm run fuzz [-- --seconds 60] [--target frames]`: random and mutated inputs against each target
// for a time budget; reports executions; saves any input that throws to test/fuzz-regressions/
// (replayed by test/fuzz-regressions.test.ts on every `npm test`, which fails until the outcome the
// fixed code must give is recorded for it in test/fuzz-regressions/expected.json).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { targets } from "./fuzz-targets.js";

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const seconds = Number(opt("seconds") ?? 30);
const only = opt("target");
const names = Object.keys(targets).filter((t) => !only || t === only);
const dir = new URL("../test/fuzz-regressions/", import.meta.url);
mkdirSync(dir, { recursive: true });

// Seeds that reach deep states: valid frames, handshakes, deflate streams.
const enc = new TextEncoder();
const seeds: Uint8Array[] = [
  Uint8Array.of(0x81, 0x85, 1, 2, 3, 4, 0x69, 0x67, 0x6f, 0x68, 0x6e),
  Uint8Array.of(0x01, 0x81, 0, 0, 0, 0, 0x61, 0x89, 0x80, 0, 0, 0, 0, 0x80, 0x81, 0, 0, 0, 0, 0x62),
  Uint8Array.of(0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8),
  enc.encode("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
  Uint8Array.of(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff),
  // The regression corpus: inputs at the edges of the rules.
  ...readdirSync(dir).filter((f) => f.endsWith(".bin")).map((f) => new Uint8Array(readFileSync(new URL(f, dir)))),
];

let state = 0x9e3779b9;
const rnd = (n: number) => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % n;
};

function mutate(seed: Uint8Array): Uint8Array {
  const b = Array.from(seed);
  for (let k = 1 + rnd(8); k > 0; k--) {
    const op = rnd(5);
    const at = rnd(b.length + 1);
    if (op === 0) b[at] = rnd(256);
    else if (op === 1) b.splice(at, 0, ...Array.from({ length: rnd(16) }, () => rnd(256)));
    else if (op === 2) b.splice(at, rnd(8));
    else if (op === 3) b.push(...b.slice(0, rnd(b.length + 1)));
    else b[at] = [0, 0x7f, 0x80, 0xff, 126, 127][rnd(6)]!;
  }
  return Uint8Array.from(b);
}

let crashes = 0;
for (const name of names) {
  const target = targets[name]!;
  const end = Date.now() + (seconds * 1000) / names.length;
  let runs = 0;
  while (Date.now() < end) {
    const input = rnd(3) === 0 ? Uint8Array.from({ length: rnd(600) }, () => rnd(256)) : mutate(seeds[rnd(seeds.length)]!);
    runs++;
    try {
      target(input);
    } catch (e) {
      crashes++;
      const file = `${name}-${createHash("sha1").update(input).digest("hex").slice(0, 12)}.bin`;
      writeFileSync(new URL(file, dir), input);
      console.log(`CRASH in ${name}: ${(e as Error).message} → test/fuzz-regressions/${file}`);
    }
  }
  console.log(`${name}: ${runs} executions`);
}
console.log(crashes ? `${crashes} crashing inputs saved` : "no crashes");
process.exitCode = crashes ? 1 : 0;
