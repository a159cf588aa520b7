// OHTTP (RFC 9458) and chunked OHTTP (draft-ietf-ohai-chunked-ohttp-08)
// framing on top of @hpke/core: an implementation independent of the C
// core, shared by the interop test (t/interop/ohttp-interop.js) and the
// terminator's test client (t/interop/confer-client.js).

"use strict";

const { createHmac } = require("node:crypto");
const { CipherSuite, Aes128Gcm, Aes256Gcm, HkdfSha256 } =
  require("@hpke/core");
const { DhkemX25519HkdfSha256 } = require("@hpke/dhkem-x25519");
const { Chacha20Poly1305 } = require("@hpke/chacha20poly1305");

const enc8 = (s) => new TextEncoder().encode(s);
const hex = (b) => Buffer.from(b).toString("hex");
const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));
const u8 = (ab) => new Uint8Array(ab);
const cat = (...a) => {
  const out = new Uint8Array(a.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of a) { out.set(x, o); o += x.length; }
  return out;
};

const AEADS = {
  1: { name: "AES-128-GCM", make: () => new Aes128Gcm(), nk: 16 },
  2: { name: "AES-256-GCM", make: () => new Aes256Gcm(), nk: 32 },
  3: { name: "ChaCha20-Poly1305", make: () => new Chacha20Poly1305(), nk: 32 },
};

const LABELS = {
  plain: { req: "message/bhttp request", res: "message/bhttp response" },
  chunked: { req: "message/bhttp chunked request",
             res: "message/bhttp chunked response" },
};

function suiteFor(aeadId) {
  return new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: AEADS[aeadId].make(),
  });
}

// RFC 9000, 16
function varint(v) {
  if (v < 0x40) return Uint8Array.of(v);
  if (v < 0x4000) return Uint8Array.of(0x40 | (v >> 8), v & 0xff);
  if (v < 0x40000000) {
    return Uint8Array.of(0x80 | (v >>> 24), (v >> 16) & 0xff, (v >> 8) & 0xff,
                         v & 0xff);
  }
  throw new Error("varint too large for this test");
}
function readVarint(b, o) {
  const len = 1 << (b[o] >> 6);
  let v = b[o] & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + b[o + i];
  return [v, len];
}

// RFC 9458, 3.1
function parseConfig(b) {
  const keyId = b[0], kem = (b[1] << 8) | b[2];
  const pk = b.slice(3, 35);
  const slen = (b[35] << 8) | b[36];
  const suites = [];
  for (let o = 37; o < 37 + slen; o += 4) {
    suites.push([(b[o] << 8) | b[o + 1], (b[o + 2] << 8) | b[o + 3]]);
  }
  return { keyId, kem, pk, suites, size: 37 + slen };
}
// RFC 9458, 3.2: application/ohttp-keys
function parseConfigList(b) {
  const out = [];
  for (let o = 0; o < b.length;) {
    const len = (b[o] << 8) | b[o + 1];
    out.push(parseConfig(b.slice(o + 2, o + 2 + len)));
    o += 2 + len;
  }
  return out;
}
function makeConfig(keyId, pk) {
  return cat(Uint8Array.of(keyId, 0x00, 0x20), pk,
             Uint8Array.of(0, 12, 0, 1, 0, 1, 0, 1, 0, 2, 0, 1, 0, 3));
}
function header(keyId, aeadId) {
  return Uint8Array.of(keyId, 0x00, 0x20, 0x00, 0x01, 0x00, aeadId);
}

// RFC 9458, 4.4 / chunked draft, 6.2: the response AEAD
async function responseKeys(ctx, mode, aeadId, enc, nonce) {
  const nk = AEADS[aeadId].nk, nlen = Math.max(nk, 12);
  const secret = u8(await ctx.export(enc8(LABELS[mode].res), nlen));
  // @hpke's extract() wants a hash-sized salt; enc || nonce is longer,
  // so RFC 5869 Extract is one HMAC here
  const prk = createHmac("sha256", cat(enc, nonce)).update(secret).digest();
  const kdf = new HkdfSha256();
  const key = u8(await kdf.expand(prk, enc8("key"), nk));
  const iv = u8(await kdf.expand(prk, enc8("nonce"), 12));
  return { aead: AEADS[aeadId].make().createEncryptionContext(key), iv, nlen };
}
function chunkNonce(iv, counter) {
  const out = iv.slice();
  for (let i = 11; counter > 0; i--, counter = Math.floor(counter / 256)) {
    out[i] ^= counter & 0xff;
  }
  return out;
}

// splits a payload in pieces of the given sizes; the last piece is final
function pieces(payload, sizes) {
  const out = [];
  let o = 0;
  for (const s of sizes) {
    const t = Math.min(s, payload.length - o);
    out.push(payload.slice(o, o + t));
    o += t;
  }
  out.push(payload.slice(o));
  return out;
}

// parse chunk framing: [ [ct, final], ... ] from offset o
function chunksOf(b, o) {
  const out = [];
  for (;;) {
    const [v, l] = readVarint(b, o);
    o += l;
    if (v === 0) { out.push([b.slice(o), true]); return out; }
    out.push([b.slice(o, o + v), false]);
    o += v;
  }
}

// Client side of one exchange: seals a request to a key configuration
// (plain or chunked, the payload cut in pieces of the given sizes), then
// opens the response.  keyId/aead may be forced to test refusals.
async function sealRequest({ config, aeadId, mode, payload, split = [],
                             keyId }) {
  const suite = suiteFor(aeadId);
  const hdr = header(keyId === undefined ? config.keyId : keyId, aeadId);
  const info = cat(enc8(LABELS[mode].req), Uint8Array.of(0), hdr);
  const sender = await suite.createSenderContext({
    recipientPublicKey: await suite.kem.deserializePublicKey(config.pk),
    info });
  const enc = u8(sender.enc);
  const parts = [hdr, enc];
  const sealed = [];
  if (mode === "plain") {
    parts.push(u8(await sender.seal(payload)));
  } else {
    const ps = pieces(payload, split);
    for (let i = 0; i < ps.length; i++) {
      const last = i === ps.length - 1;
      const ct = u8(await sender.seal(ps[i], last ? enc8("final")
                                                  : new Uint8Array(0)));
      parts.push(last ? Uint8Array.of(0) : varint(ct.length), ct);
      sealed.push(ct.length);
    }
  }
  return { body: cat(...parts), sender, enc, aeadId, mode, chunks: sealed };
}

async function openResponse(ex, body) {
  const nlen = Math.max(AEADS[ex.aeadId].nk, 12);
  const { aead, iv } = await responseKeys(ex.sender, "plain", ex.aeadId,
                                          ex.enc, body.slice(0, nlen));
  return u8(await aead.open(iv, body.slice(nlen), new Uint8Array(0)));
}

// chunked response reader: feed() bytes as they come, each complete chunk
// is opened at once and reported; end() checks that the final one came
class ChunkedResponseReader {
  constructor(ex, onChunk) {
    this.ex = ex;
    this.nlen = Math.max(AEADS[ex.aeadId].nk, 12);
    this.buf = new Uint8Array(0);
    this.keys = null;
    this.counter = 0;
    this.done = false;
    this.onChunk = onChunk;
    this.queue = Promise.resolve();
    this.final = false;
  }
  feed(bytes) {
    this.buf = cat(this.buf, bytes);
    this.queue = this.queue.then(() => this.drain(false));
    return this.queue;
  }
  end() {
    this.queue = this.queue.then(() => this.drain(true));
    return this.queue;
  }
  async drain(atEnd) {
    if (!this.keys) {
      if (this.buf.length < this.nlen) {
        if (atEnd) throw new Error("truncated before the response nonce");
        return;
      }
      this.keys = await responseKeys(this.ex.sender, "chunked", this.ex.aeadId,
                                     this.ex.enc, this.buf.slice(0, this.nlen));
      this.buf = this.buf.slice(this.nlen);
    }
    while (!this.final && this.buf.length > 0) {
      const first = this.buf[0];
      const vl = 1 << (first >> 6);
      if (this.buf.length < vl) break;
      const [v] = readVarint(this.buf, 0);
      if (v === 0) {
        if (!atEnd) break;              // the final chunk runs to the end
        const ct = this.buf.slice(1);
        const pt = u8(await this.keys.aead.open(
          chunkNonce(this.keys.iv, this.counter++), ct, enc8("final")));
        this.final = true;
        this.buf = new Uint8Array(0);
        this.onChunk({ pt, wire: 1 + ct.length, final: true });
        break;
      }
      if (this.buf.length < vl + v) break;
      const ct = this.buf.slice(vl, vl + v);
      const pt = u8(await this.keys.aead.open(
        chunkNonce(this.keys.iv, this.counter++), ct, new Uint8Array(0)));
      this.buf = this.buf.slice(vl + v);
      this.onChunk({ pt, wire: vl + v, final: false });
    }
    if (atEnd && !this.final) {
      throw new Error("truncated: the stream ended without its final chunk");
    }
  }
}

// RFC 9292, 3.1: a known-length request (framing 0).  bhttp-js drops the
// query from the path, so requests with one are encoded here.
function encodeBhttpRequest({ method, scheme, authority, path, headers,
                              body }) {
  const e = (s) => (typeof s === "string" ? enc8(s) : s);
  const vv = (b) => cat(varint(b.length), b);
  const fields = cat(...Object.entries(headers || {}).map(
    ([k, v]) => cat(vv(e(k.toLowerCase())), vv(e(v)))));
  const content = e(body || "");
  return cat(varint(0), vv(e(method)), vv(e(scheme || "https")),
             vv(e(authority || "")), vv(e(path)), vv(fields), vv(content),
             varint(0));
}

module.exports = {
  encodeBhttpRequest,
  enc8, hex, unhex, u8, cat, AEADS, LABELS, suiteFor, varint, readVarint,
  parseConfig, parseConfigList, makeConfig, header, responseKeys,
  chunkNonce, pieces, chunksOf, sealRequest, openResponse,
  ChunkedResponseReader,
};
