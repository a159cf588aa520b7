// Interop of our BHTTP codec (through build/tools/bhttp-tool) with
// bhttp-js, an independent implementation of RFC 9292.  Prints TAP.
//
//   node t/interop/bhttp-interop.js BHTTP_TOOL
//
// 1. bhttp-js encodes requests and responses (it writes known-length form
//    only); our decoder must read the same method, URL, fields and content.
// 2. our encoders write requests and responses in both framings, padded
//    and not, informational responses and trailers included, the streaming
//    encoder too; bhttp-js must decode the same message.

"use strict";

const { spawnSync } = require("node:child_process");
const { BHttpEncoder, BHttpDecoder } = require("bhttp-js");

const tool = process.argv[2];
let n = 0;
let failed = 0;

function ok(pass, what, detail) {
  n++;
  console.log(`${pass ? "" : "not "}ok ${n} - ${what}`);
  if (!pass) {
    failed++;
    if (detail) {
      for (const line of String(detail).split("\n")) console.log(`#   ${line}`);
    }
  }
}

function same(got, want, what) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  ok(g === w, what, `got  ${g}\nwant ${w}`);
}

function run(args, input) {
  const r = spawnSync(tool, args, { input, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return r;
}

const hex = (b) => Buffer.from(b).toString("hex");
const bytes = (s) => new TextEncoder().encode(s);

const sse =
  'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n' +
  ': ping\n\n' +
  'data: {"choices":[{"delta":{"content":"lo"}}]}\n\n' +
  "data: [DONE]\n\n";

async function bhttpjsToOurs() {
  const enc = new BHttpEncoder();

  const requests = [
    new Request("https://www.example.com/hello.txt", {
      method: "GET",
      headers: {
        "User-Agent": "curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l zlib/1.2.3",
        "Accept-Language": "en, mi",
      },
    }),
    new Request("https://tee.example:8443/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer k" },
      body: bytes('{"model":"m","stream":true,"messages":[]}'),
    }),
    new Request("http://127.0.0.1/v1/models", { method: "DELETE" }),
  ];

  for (const req of requests) {
    const body = new Uint8Array(await req.clone().arrayBuffer());
    const url = new URL(req.url);
    const want = {
      method: req.method,
      scheme: url.protocol.slice(0, -1),
      authority: url.host,
      path: url.pathname,
      headers: [...req.headers],
      trailers: [],
      content: hex(body),
    };
    const wire = await enc.encodeRequest(req);
    const r = run(["decode", "req"], Buffer.from(wire));
    same(JSON.parse(r.stdout.toString()), want,
         `bhttp-js request ${req.method} ${url.pathname}: we decode it`);
  }

  const responses = [
    new Response(bytes(sse), {
      status: 200,
      headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" },
    }),
    new Response(bytes('{"error":{"message":"no"}}'), {
      status: 401,
      headers: { "Content-Type": "application/json" },
    }),
    new Response(null, { status: 204 }),
  ];

  for (const res of responses) {
    const body = new Uint8Array(await res.clone().arrayBuffer());
    const want = {
      status: res.status,
      headers: [...res.headers],
      trailers: [],
      content: hex(body),
    };
    const wire = await enc.encodeResponse(res);
    const r = run(["decode", "res"], Buffer.from(wire));
    same(JSON.parse(r.stdout.toString()), want,
         `bhttp-js response ${res.status}: we decode it`);
  }
}

async function oursToBhttpjs() {
  const dec = new BHttpDecoder();

  const requests = [
    {
      method: "POST", scheme: "https", authority: "tee.example",
      path: "/v1/chat/completions",
      headers: [["content-type", "application/json"], ["authorization", "Bearer k"]],
      content: hex(bytes('{"model":"m","messages":[{"role":"user","content":"hi"}]}')),
    },
    {
      method: "GET", scheme: "https", authority: "www.example.com",
      path: "/hello.txt",
      headers: [["Accept-Language", "en, mi"], ["User-Agent", "curl/7.16.3"]],
      content: "",
    },
    {
      method: "PUT", scheme: "http", authority: "127.0.0.1:8000",
      path: "/v1/x",
      headers: [["x-one", "1"]],
      content: hex(bytes("body")),
      trailers: [["x-checksum", "abc"]],
    },
  ];

  for (const m of requests) {
    for (const framing of [0, 2]) {
      for (const padding of [0, 37]) {
        const r = run(["encode", "req", String(framing), String(padding)],
                      JSON.stringify(m));
        if (r.status !== 0) {
          ok(false, `we encode ${m.method} (framing ${framing})`, r.stderr);
          continue;
        }
        const req = dec.decodeRequest(new Uint8Array(r.stdout));
        const body = new Uint8Array(await req.arrayBuffer());
        same({
          method: req.method,
          url: req.url,
          headers: [...req.headers],
          content: hex(body),
        }, {
          method: m.method,
          url: new URL(`${m.scheme}://${m.authority}${m.path}`).href,
          headers: [...new Headers(m.headers)],
          content: m.content,
        }, `our ${m.method} ${m.path}, framing ${framing}, padding ${padding}: ` +
           "bhttp-js decodes it");
      }
    }
  }

  const ssePieces = sse.split(/(?<=\n\n)/).map((s) => hex(bytes(s)));
  const responses = [
    {
      what: "event stream",
      status: 200,
      headers: [["content-type", "text/event-stream"], ["cache-control", "no-cache"]],
      content: hex(bytes(sse)),
      content_chunks: ["", ...ssePieces, ""],
    },
    {
      what: "103, 102, trailers",
      informational: [
        { status: 103, headers: [["link", "</a.css>; rel=preload"]] },
        { status: 102, headers: [] },
      ],
      status: 200,
      headers: [["content-type", "application/json"]],
      content: hex(bytes('{"ok":true}')),
      trailers: [["x-done", "1"]],
    },
    { what: "empty", status: 404, headers: [], content: "" },
  ];

  for (const m of responses) {
    for (const framing of [1, 3]) {
      for (const padding of [0, 200]) {
        const how = framing === 3 && m.content_chunks ? "streamed" : "whole";
        const r = run(["encode", "res", String(framing), String(padding)],
                      JSON.stringify(m));
        if (r.status !== 0) {
          ok(false, `we encode ${m.status} (framing ${framing})`, r.stderr);
          continue;
        }
        const res = dec.decodeResponse(new Uint8Array(r.stdout));
        const body = new Uint8Array(await res.arrayBuffer());
        same({
          status: res.status,
          headers: [...res.headers],
          content: hex(body),
        }, {
          status: m.status,
          headers: [...new Headers(m.headers)],
          content: m.content,
        }, `our ${m.status} response (${m.what}), framing ${framing} (${how}), ` +
           `padding ${padding}: bhttp-js decodes it`);
      }
    }
  }

  // bhttp-js checks padding too: a non-zero byte there must fail both
  const r = run(["encode", "res", "1", "4"], JSON.stringify(responses[2]));
  const bad = Buffer.from(r.stdout);
  bad[bad.length - 1] = 1;
  let threw = false;
  try {
    dec.decodeResponse(new Uint8Array(bad));
  } catch (e) {
    threw = true;
  }
  const ours = run(["decode", "res"], bad);
  ok(threw && ours.status === 1
     && JSON.parse(ours.stdout.toString()).error === "bad_padding",
     "a non-zero padding byte is refused by both");
}

(async () => {
  await bhttpjsToOurs();
  await oursToBhttpjs();
  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.log(`not ok ${n + 1} - interop script died: ${e.stack}`);
  console.log(`1..${n + 1}`);
  process.exit(1);
});
