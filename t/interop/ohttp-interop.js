// Interop of the C protocol core (through build/tools/ohttp-tool) with an
// independent HPKE implementation, @hpke/core: this script implements the
// RFC 9458 and chunked-OHTTP (draft-ietf-ohai-chunked-ohttp-08) framing on
// top of @hpke/core's HPKE, KDF and AEADs, and checks both directions for
// the three AEADs.  Prints TAP.  Usage: node ohttp-interop.js TOOL

"use strict";

const { spawn, execFileSync } = require("node:child_process");
const { randomBytes } = require("node:crypto");
const { BHttpEncoder } = require("bhttp-js");
const {
  enc8, hex, unhex, u8, cat, AEADS, LABELS, suiteFor, varint, readVarint,
  parseConfig, makeConfig, header, responseKeys, chunkNonce, pieces, chunksOf,
} = require("./lib/ohttp");

const TOOL = process.argv[2];

let n = 0, failed = 0;
function ok(cond, name) {
  n++;
  if (!cond) failed++;
  console.log(`${cond ? "" : "not "}ok ${n} - ${name}`);
  return cond;
}
function isHex(got, want, name) {
  const r = ok(got === want, name);
  if (!r) console.log(`#   got  ${got.slice(0, 120)}\n#   want ${want.slice(0, 120)}`);
  return r;
}

// long hex goes through files: arguments have a size limit
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "ohttp-interop-"));
process.on("exit", () => fs.rmSync(TMP, { recursive: true, force: true }));
let tmpN = 0;
function hexArg(b) {
  const s = hex(b);
  if (s.length < 4096) return s;
  const f = path.join(TMP, `a${tmpN++}`);
  fs.writeFileSync(f, s);
  return `@${f}`;
}

function tool(args) {
  try {
    return execFileSync(TOOL, args, { encoding: "utf8",
                                      maxBuffer: 64 << 20 });
  } catch (e) {
    return e.stdout || `error exec ${e.message}`;
  }
}
function field(out, name) {
  const m = out.match(new RegExp(`^${name} ([0-9a-f]*)$`, "m"));
  return m ? m[1] : null;
}

// C client: starts the tool, hands its request to fn, feeds fn's answer
function cClient(args, fn) {
  return new Promise((resolve, reject) => {
    const p = spawn(TOOL, args);
    let out = "", answered = false;
    p.stdout.on("data", async (d) => {
      out += d;
      if (!answered && /^request [0-9a-f]*\n/m.test(out)) {
        answered = true;
        try {
          const res = await fn(unhex(field(out, "request")));
          p.stdin.end(hex(res) + "\n");
        } catch (e) {
          p.stdin.end("\n");
          reject(e);
        }
      }
      if (/^error /m.test(out) && !answered) p.stdin.end("\n");
    });
    p.on("close", () => resolve(out));
  });
}

async function nodeClientCServer(aeadId, mode, payload, resPt, split, resSplit) {
  const tag = `${AEADS[aeadId].name} ${mode}: @hpke client -> C server`;
  const gen = tool(["genkey", "7"]);
  const sk = field(gen, "sk"), cfg = parseConfig(unhex(field(gen, "config")));
  ok(cfg.keyId === 7 && cfg.suites.some(([k, a]) => k === 1 && a === aeadId),
     `${tag}: C key configuration offers the suite`);

  const suite = suiteFor(aeadId);
  const hdr = header(cfg.keyId, aeadId);
  const info = cat(enc8(LABELS[mode].req), Uint8Array.of(0), hdr);
  const sender = await suite.createSenderContext({
    recipientPublicKey: await suite.kem.deserializePublicKey(cfg.pk), info });
  const enc = u8(sender.enc);

  let req;
  if (mode === "plain") {
    req = cat(hdr, enc, u8(await sender.seal(payload)));
  } else {
    const parts = [hdr, enc];
    const ps = pieces(payload, split);
    for (let i = 0; i < ps.length; i++) {
      const last = i === ps.length - 1;
      const ct = u8(await sender.seal(ps[i], last ? enc8("final") : new Uint8Array(0)));
      parts.push(last ? Uint8Array.of(0) : varint(ct.length), ct);
    }
    req = cat(...parts);
  }

  const out = tool(["server", mode, sk, "7", hexArg(req), hexArg(resPt),
                    resSplit.join(",")]);
  if (!isHex(field(out, "request") ?? out.trim(), hex(payload),
             `${tag}: C opens the request`)) return;
  if (mode === "chunked") {
    ok(Number(out.match(/^chunks (\d+)$/m)[1]) === split.length + 1,
       `${tag}: in the ${split.length + 1} chunks sent`);
  }

  const res = unhex(field(out, "response"));
  const nlen = Math.max(AEADS[aeadId].nk, 12);
  const { aead, iv } = await responseKeys(sender, mode, aeadId, enc,
                                          res.slice(0, nlen));
  let got;
  if (mode === "plain") {
    got = u8(await aead.open(iv, res.slice(nlen), new Uint8Array(0)));
  } else {
    const cs = chunksOf(res, nlen);
    const pts = [];
    for (let i = 0; i < cs.length; i++) {
      pts.push(u8(await aead.open(chunkNonce(iv, i), cs[i][0],
                                  cs[i][1] ? enc8("final") : new Uint8Array(0))));
    }
    ok(cs.length === resSplit.length + 1, `${tag}: response in ${cs.length} chunks`);
    got = cat(...pts);
  }
  isHex(hex(got), hex(resPt), `${tag}: @hpke opens the C response`);

  // a flipped bit and an unknown key id, as the C server sees them
  const bad = req.slice();
  bad[bad.length - 3] ^= 0x10;
  const badOut = tool(["server", mode, sk, "7", hexArg(bad), "00"]);
  ok(/^error decryption failed$/m.test(badOut),
     `${tag}: a tampered request is refused (${badOut.trim().split("\n").pop()})`);
  bad.set(req);
  bad[0] = 8;
  ok(/^error unknown key identifier$/m.test(tool(["server", mode, sk, "7",
                                                  hexArg(bad), "00"])),
     `${tag}: an unknown key id is its own error`);
}

async function cClientNodeServer(aeadId, mode, payload, resPt, split, resSplit) {
  const tag = `${AEADS[aeadId].name} ${mode}: C client -> @hpke server`;
  const suite = suiteFor(aeadId);
  const kp = await suite.kem.generateKeyPair();
  const pk = u8(await suite.kem.serializePublicKey(kp.publicKey));
  const cfg = makeConfig(5, pk);
  let seen = null, seenChunks = 0;

  const out = await cClient(["client", mode, hex(cfg), String(aeadId),
                             hexArg(payload), split.join(",")], async (req) => {
    const hdr = req.slice(0, 7), enc = req.slice(7, 39);
    if (hdr[0] !== 5 || hdr[6] !== aeadId) throw new Error("bad header");
    const info = cat(enc8(LABELS[mode].req), Uint8Array.of(0), hdr);
    const recipient = await suite.createRecipientContext({
      recipientKey: kp.privateKey, enc, info });
    if (mode === "plain") {
      seen = u8(await recipient.open(req.slice(39)));
      seenChunks = 1;
    } else {
      const pts = [];
      for (const [ct, fin] of chunksOf(req, 39)) {
        pts.push(u8(await recipient.open(ct, fin ? enc8("final") : new Uint8Array(0))));
      }
      seen = cat(...pts);
      seenChunks = pts.length;
    }

    const nlen = Math.max(AEADS[aeadId].nk, 12);
    const nonce = new Uint8Array(randomBytes(nlen));
    const { aead, iv } = await responseKeys(recipient, mode, aeadId, enc, nonce);
    if (mode === "plain") {
      return cat(nonce, u8(await aead.seal(iv, resPt, new Uint8Array(0))));
    }
    const parts = [nonce];
    const ps = pieces(resPt, resSplit);
    for (let i = 0; i < ps.length; i++) {
      const last = i === ps.length - 1;
      const ct = u8(await aead.seal(chunkNonce(iv, i), ps[i],
                                    last ? enc8("final") : new Uint8Array(0)));
      parts.push(last ? Uint8Array.of(0) : varint(ct.length), ct);
    }
    return cat(...parts);
  });

  ok(seen !== null && hex(seen) === hex(payload),
     `${tag}: @hpke opens the C request`);
  if (mode === "chunked") {
    ok(seenChunks === split.length + 1, `${tag}: in ${split.length + 1} chunks`);
  }
  isHex(field(out, "response") ?? out.trim(), hex(resPt),
        `${tag}: C opens the @hpke response`);
  if (mode === "chunked") {
    ok(Number((out.match(/^chunks (\d+)$/m) || [0, 0])[1]) === resSplit.length + 1,
       `${tag}: C reader saw ${resSplit.length + 1} chunks`);
  }
}

async function main() {
  const bhttpReq = new Uint8Array(await new BHttpEncoder().encodeRequest(
    new Request("https://tee.example/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", stream: true,
                             messages: [{ role: "user", content: "hi" }] }),
    })));
  const big = new Uint8Array(randomBytes(70000));
  const resPt = new Uint8Array(randomBytes(3000));

  for (const aeadId of [1, 2, 3]) {
    await nodeClientCServer(aeadId, "plain", bhttpReq, resPt, [], []);
    await nodeClientCServer(aeadId, "chunked", bhttpReq, resPt, [10, 0, 100],
                            [0, 1, 70, 1000]);
    await nodeClientCServer(aeadId, "chunked", big, big.slice(0, 20000),
                            [17000, 1, 50000], [16384]);
    await cClientNodeServer(aeadId, "plain", bhttpReq, resPt, [], []);
    await cClientNodeServer(aeadId, "chunked", bhttpReq, resPt, [3, 0, 50],
                            [5, 0, 2000]);
    await cClientNodeServer(aeadId, "chunked", big, big.slice(100, 40100),
                            [20000, 20000], [1, 30000]);
  }
  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log(`not ok ${++n} - exception: ${e.stack}`);
  console.log(`1..${n}`);
  process.exit(1);
});
