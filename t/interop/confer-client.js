#!/usr/bin/env node
// A standalone OHTTP client for the terminator's tests, independent of the
// C code: @hpke/core for HPKE, bhttp-js for Binary HTTP, t/interop/lib for
// the (chunked) OHTTP framing.  Node standard library otherwise.
//
//   node confer-client.js doc  SPEC_JSON     fetch the attestation document
//   node confer-client.js send SPEC_JSON     one sealed request
//
// SPEC_JSON (a file name, or the JSON itself):
//   url        terminator base URL, e.g. http://127.0.0.1:8081
//   doc_path   /.well-known/confer-attestation
//   doc_out    file to write the document to (doc)
//   endpoint   /.well-known/ohttp-gateway
//   keys_hex   application/ohttp-keys to use (else from the document)
//   key_index  which configuration of the list (default 0)
//   mode       "plain" | "chunked"
//   aead       1, 2 or 3 (default 1)
//   method, path, headers {}, body (string)    the inner request
//   split      [sizes] the chunked request's pieces (before the final)
//   key_id     send this key id instead of the configuration's
//   content_type  outer Content-Type (default the OHTTP one)
//   tamper     "flip" (a bit of the last byte), "cut" (drop the final
//              chunk / the tag), "garbage" (the body is random)
//   raw_hex    send these bytes as the body, as they are
//   repeat     send the very same sealed body this many times (replay)
//   release    { url, after }: POST url once `after` SSE events arrived
//   pieces_delay_ms  write the outer body in its chunks, pausing between
//   ready_file, go_file  once started, write ready_file, then wait (at most
//              a minute) until go_file exists: node takes seconds to start
//              on a loaded machine, too long for a key of a short lifetime
//
// send without keys_hex fetches the document first and reports it as
// "doc": { status, headers, doc }.
//
// Prints one JSON line: { outer: {status, headers, body_b64},
//   inner: {status, headers, body_b64} | null, error, chunks: [{wire,
//   pt_len, final, t}], events_before_release, replies: [...] }

"use strict";

const http = require("node:http");
const fs = require("node:fs");
const { randomBytes } = require("node:crypto");
const { BHttpEncoder, BHttpDecoder } = require("bhttp-js");
const {
  u8, cat, unhex, parseConfigList, encodeBhttpRequest, sealRequest, openResponse,
  ChunkedResponseReader,
} = require("./lib/ohttp");

function spec() {
  const a = process.argv[3];
  return JSON.parse(a.trim().startsWith("{") ? a : fs.readFileSync(a, "utf8"));
}

function request(url, method, headers, body, opt = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const t0 = process.hrtime.bigint();
    // a connection per request: a reload closes idle keep-alive ones
    const req = http.request({ host: u.hostname, port: u.port, method,
                               agent: false,
                               path: u.pathname + u.search, headers });
    req.on("error", reject);
    req.on("response", (res) => {
      const parts = [];
      res.on("data", (d) => {
        parts.push(d);
        if (opt.onData) opt.onData(u8(d), res.headers);
      });
      res.on("end", () => resolve({ status: res.statusCode,
                                     headers: res.headers,
                                     body: u8(Buffer.concat(parts)),
                                     complete: res.complete }));
      res.on("aborted", () => resolve({ status: res.statusCode,
                                         headers: res.headers,
                                         body: u8(Buffer.concat(parts)),
                                         complete: false }));
      res.on("error", () => resolve({ status: res.statusCode,
                                       headers: res.headers,
                                       body: u8(Buffer.concat(parts)),
                                       complete: false }));
    });
    if (opt.pieces) {
      let i = 0;
      const next = () => {
        if (i === opt.pieces.length) { req.end(); return; }
        req.write(Buffer.from(opt.pieces[i++]));
        setTimeout(next, opt.delay || 0);
      };
      next();
    } else {
      req.end(body ? Buffer.from(body) : undefined);
    }
  });
}

async function fetchDoc(s) {
  const r = await request(s.url + (s.doc_path
                                   || "/.well-known/confer-attestation"),
                          "GET", {});
  if (s.doc_out) fs.writeFileSync(s.doc_out, Buffer.from(r.body));
  let doc = null;
  try { doc = JSON.parse(Buffer.from(r.body).toString()); } catch (e) { }
  return { status: r.status, headers: r.headers, doc };
}

function headersOf(h) {
  const o = {};
  for (const [k, v] of h.entries()) o[k] = v;
  return o;
}

async function send(s) {
  let keys = s.keys_hex ? unhex(s.keys_hex) : null;
  let fetched = null;
  if (!keys) {
    fetched = await fetchDoc(s);
    keys = new Uint8Array(Buffer.from(fetched.doc.ohttp_keys, "base64"));
  }
  const config = parseConfigList(keys)[s.key_index || 0];
  const aeadId = s.aead || 1;
  const mode = s.mode || "chunked";

  const init = { method: s.method || "POST", headers: s.headers || {} };
  if (s.body !== undefined) init.body = s.body;
  const inner = new Request("https://terminator.invalid" + (s.path || "/"),
                            init);
  const payload = (s.path || "/").includes("?")
    ? encodeBhttpRequest({ method: init.method, authority: "terminator.invalid",
                           path: s.path, headers: init.headers,
                           body: s.body })
    : new Uint8Array(await new BHttpEncoder().encodeRequest(inner));

  const ex = await sealRequest({ config, aeadId, mode, payload,
                                 split: s.split || [], keyId: s.key_id });
  let body = ex.body;
  if (s.tamper === "flip") {
    body = body.slice();
    body[body.length - 1] ^= 0x01;
  } else if (s.tamper === "cut") {
    // plain: drop the tag's last byte; chunked: drop the final chunk
    body = mode === "plain" ? body.slice(0, body.length - 1)
         : body.slice(0, body.length - (ex.chunks[ex.chunks.length - 1] + 1));
  } else if (s.tamper === "garbage") {
    body = new Uint8Array(randomBytes(body.length));
  }
  if (s.raw_hex !== undefined) body = unhex(s.raw_hex);

  const ctype = s.content_type || (mode === "plain" ? "message/ohttp-req"
                                   : "message/ohttp-chunked-req");
  const hdrs = { "content-type": ctype, "content-length": body.length };

  const out = { chunks: [], replies: [], events_before_release: null };
  if (fetched) out.doc = fetched;
  const t0 = Date.now();
  let events = 0, released = false, pts = [];
  const reader = new ChunkedResponseReader(ex, (c) => {
    out.chunks.push({ wire: c.wire, pt_len: c.pt.length, final: c.final,
                      t: Date.now() - t0 });
    pts.push(c.pt);
    const text = Buffer.from(c.pt).toString("latin1");
    events += (text.match(/\n\n/g) || []).length;
    if (s.release && !released && events >= s.release.after) {
      released = true;
      out.events_before_release = events;
      request(s.release.url, "POST", {}, null).catch(() => {});
    }
  });

  const repeat = s.repeat || 1;
  let r;
  for (let i = 0; i < repeat; i++) {
    const lastOne = i === repeat - 1;
    r = await request(s.url + (s.endpoint || "/.well-known/ohttp-gateway"),
                      "POST", hdrs, body,
                      { onData: (d, h) => {
                          if (lastOne && h["content-type"]
                                         === "message/ohttp-chunked-res") {
                            reader.feed(d).catch(() => {});
                          }
                        },
                        pieces: s.pieces_delay_ms !== undefined
                                ? outerPieces(body, ex) : null,
                        delay: s.pieces_delay_ms });
    out.replies.push({ status: r.status,
                       content_type: r.headers["content-type"] });
  }
  out.outer = { status: r.status, headers: r.headers,
                body_b64: Buffer.from(r.body).toString("base64"),
                complete: r.complete };
  out.inner = null;

  const ct = r.headers["content-type"] || "";
  try {
    if (ct === "message/ohttp-res") {
      const pt = await openResponse(ex, r.body);
      out.inner = await innerOf(pt);
    } else if (ct === "message/ohttp-chunked-res") {
      await reader.end();
      out.inner = await innerOf(cat(...pts));
    }
  } catch (e) {
    out.error = String(e.message || e);
    if (pts.length) out.partial_b64 = Buffer.from(cat(...pts))
                                        .toString("base64");
  }
  return out;
}

function outerPieces(body, ex) {
  // header+enc, then each chunk on its own
  const out = [body.slice(0, 39)];
  let o = 39;
  for (const n of ex.chunks) {
    const vl = n < 0x40 ? 1 : n < 0x4000 ? 2 : 4;
    const isFinal = o + vl + n >= body.length;
    const len = isFinal ? body.length - o : vl + n;
    out.push(body.slice(o, o + len));
    o += len;
  }
  return out;
}

async function innerOf(pt) {
  const res = new BHttpDecoder().decodeResponse(pt);
  const b = u8(await res.arrayBuffer());
  return { status: res.status, headers: headersOf(res.headers),
           body_b64: Buffer.from(b).toString("base64") };
}

// loop: N fresh requests one after the other (each its own enc), with a
// progress line on stderr after each; the answer lists the inner statuses
async function loop(s) {
  const out = { statuses: [], errors: [] };
  for (let i = 0; i < s.loop; i++) {
    const r = await send(s);
    out.statuses.push(r.inner ? r.inner.status : `outer ${r.outer.status}`);
    if (r.error) out.errors.push(r.error);
    process.stderr.write(`progress ${i + 1}\n`);
  }
  return out;
}

async function waitForGo(s) {
  if (!s.go_file) return;
  fs.writeFileSync(s.ready_file, "");
  const deadline = Date.now() + 60000;
  while (!fs.existsSync(s.go_file)) {
    if (Date.now() > deadline) throw new Error("no go_file in a minute");
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function main() {
  const cmd = process.argv[2];
  const s = spec();
  let out;
  await waitForGo(s);
  if (cmd === "doc") {
    out = await fetchDoc(s);
  } else if (cmd === "loop") {
    out = await loop(s);
  } else if (cmd === "send") {
    out = await send(s);
  } else {
    throw new Error("usage: confer-client.js doc|send SPEC");
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ error: String(e.stack || e) }) + "\n");
  process.exit(1);
});
