#!/usr/bin/env node
// MOCK OpenAI-compatible model server, for the tests and for `make run`.
// It is not a model: every answer is made up deterministically from the
// request, so that a test can predict it and compare what went through the
// gateway and terminator with what the mock sent.  Node standard library
// only.
//
//   node t/mock/mock-model-server.js [--port N] [--host H] [--quiet]
//   (or MOCK_PORT / MOCK_HOST in the environment; default 127.0.0.1:8000)
//
// Endpoints
//   GET  /v1/models
//   POST /v1/chat/completions    plain or streamed ("stream": true, SSE)
//   POST /v1/completions         plain or streamed
//   POST /v1/embeddings          float or base64 ("encoding_format")
//   GET  /__mock/requests        what the mock received (JSON array; a
//                                stream whose connection closed before
//                                its end has closed_early, the time)
//   DELETE /__mock/requests      forget it
//   POST /__mock/release         let held streams go on (see hold_after)
//
// Knobs, per request: a "mock" object in the JSON body, or x-mock-* request
// headers (a header wins over the body field of the same name):
//   tokens       N     answer length in tokens (default 8, capped by
//                      max_tokens)                       x-mock-tokens
//   delay_ms     D     pause between two streamed events  x-mock-delay-ms
//   token_sizes  [..]  byte size of each token, cycled    x-mock-token-sizes
//                      ("3,10,1")
//   echo         true  the answer repeats the prompt      x-mock-echo
//   error        429   answer with this status and an     x-mock-error
//                      OpenAI-style error body
//   cut_after    K     streamed: destroy the socket after x-mock-cut-after
//                      K events (the role event counts)
//   hold_after   K     streamed: after K events, wait for x-mock-hold-after
//                      POST /__mock/release

'use strict';

const http = require('http');
const crypto = require('crypto');

const MODELS = ['mock-model', 'mock-model-large', 'mock-embedding'];
const CREATED = 1700000000;         // fixed, so that answers are reproducible
const FINGERPRINT = 'fp_mock';
const DEFAULT_TOKENS = 8;
const MAX_TOKENS = 100000;
const WORDS = ['mock', 'alpha', 'bravo', 'charlie', 'delta', 'echo',
    'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'mike',
    'november', 'oscar', 'papa', 'quebec', 'romeo', 'sierra', 'tango',
    'uniform', 'victor', 'whiskey', 'xray', 'yankee', 'zulu', 'token'];

function parseArgs(argv) {
    const o = {
        port: Number(process.env.MOCK_PORT || 8000),
        host: process.env.MOCK_HOST || '127.0.0.1',
        quiet: false,
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--port') {
            o.port = Number(argv[++i]);
        } else if (a === '--host') {
            o.host = argv[++i];
        } else if (a === '--quiet') {
            o.quiet = true;
        } else if (/^\d+$/.test(a)) {
            o.port = Number(a);
        } else {
            throw new Error('MOCK model server: unknown argument ' + a);
        }
    }
    return o;
}

const opts = parseArgs(process.argv.slice(2));

function log(msg) {
    if (!opts.quiet) {
        process.stdout.write('MOCK ' + msg + '\n');
    }
}

function now() {
    return (performance.timeOrigin + performance.now()) / 1000;
}

function sha(s) {
    return crypto.createHash('sha256').update(s).digest();
}

// --- what the mock received -------------------------------------------------

let records = [];
let seq = 0;
const held = new Set();             // resume callbacks of held streams

function record(req, body) {
    const raw = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
        raw.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    }
    const r = {
        seq: ++seq,
        t: now(),
        method: req.method,
        url: req.url,
        path: req.url.split('?')[0],
        http_version: req.httpVersion,
        headers: req.headers,
        raw_headers: raw,
        body: body.toString('utf8'),
        body_length: body.length,
        status: null,
        events_sent: [],
        complete: false,
        closed_early: null,         // when a stream's client went away
    };
    records.push(r);
    return r;
}

// --- OpenAI-style answers ---------------------------------------------------

const ERROR_TYPES = {
    400: ['invalid_request_error', null],
    401: ['invalid_request_error', 'invalid_api_key'],
    403: ['permission_error', null],
    404: ['invalid_request_error', 'model_not_found'],
    405: ['invalid_request_error', null],
    413: ['invalid_request_error', null],
    422: ['invalid_request_error', null],
    429: ['rate_limit_exceeded', 'rate_limit_exceeded'],
    500: ['server_error', null],
    502: ['server_error', null],
    503: ['server_error', null],
};

function sendJson(res, rec, status, obj, extra) {
    const body = JSON.stringify(obj);
    const h = Object.assign({
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
    }, extra || {});
    res.writeHead(status, h);
    res.end(body);
    if (rec) {
        rec.status = status;
        rec.complete = true;
    }
}

function sendError(res, rec, status, message, param) {
    const [type, code] = ERROR_TYPES[status] || ['server_error', null];
    const extra = status === 429 ? { 'retry-after': '1' } : {};
    sendJson(res, rec, status, {
        error: {
            message: 'MOCK: ' + message,
            type: type,
            param: param || null,
            code: code,
        },
    }, extra);
}

function intOpt(v, name) {
    if (v === undefined || v === null || v === '') {
        return undefined;
    }
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) {
        throw new Error('mock option ' + name + ' must be a non-negative'
                        + ' integer');
    }
    return n;
}

// the knobs: body "mock" object, overridden by x-mock-* headers
function knobs(req, json) {
    const m = Object.assign({}, (json && typeof json.mock === 'object'
                                 && json.mock) || {});
    const h = req.headers;
    const map = {
        'x-mock-tokens': 'tokens', 'x-mock-delay-ms': 'delay_ms',
        'x-mock-error': 'error', 'x-mock-cut-after': 'cut_after',
        'x-mock-hold-after': 'hold_after', 'x-mock-echo': 'echo',
        'x-mock-token-sizes': 'token_sizes',
    };
    for (const [hn, k] of Object.entries(map)) {
        if (h[hn] !== undefined) {
            m[k] = h[hn];
        }
    }
    if (typeof m.token_sizes === 'string') {
        m.token_sizes = m.token_sizes.split(',').map((s) => s.trim());
    }
    const k = {
        tokens: intOpt(m.tokens, 'tokens'),
        delay_ms: intOpt(m.delay_ms, 'delay_ms') || 0,
        error: intOpt(m.error, 'error'),
        cut_after: intOpt(m.cut_after, 'cut_after'),
        hold_after: intOpt(m.hold_after, 'hold_after'),
        echo: m.echo === true || m.echo === 'true' || m.echo === '1'
              || m.echo === 1,
        token_sizes: undefined,
    };
    if (m.token_sizes !== undefined) {
        if (!Array.isArray(m.token_sizes) || m.token_sizes.length === 0) {
            throw new Error('mock option token_sizes must be a list');
        }
        k.token_sizes = m.token_sizes.map((v) => {
            const n = intOpt(v, 'token_sizes');
            if (n < 1) {
                throw new Error('mock token sizes must be at least 1');
            }
            return n;
        });
    }
    if (k.error !== undefined && (k.error < 400 || k.error > 599)) {
        throw new Error('mock option error must be a status 400..599');
    }
    return k;
}

function contentText(c) {
    if (typeof c === 'string') {
        return c;
    }
    if (Array.isArray(c)) {
        return c.map((p) => (p && typeof p.text === 'string') ? p.text : '')
                .join('');
    }
    return '';
}

// the answer: a list of token strings, derived from the prompt
function answerTokens(prompt, echoText, k, maxTokens) {
    let n = k.tokens !== undefined ? k.tokens : DEFAULT_TOKENS;
    if (maxTokens !== undefined && maxTokens < n && k.tokens === undefined) {
        n = maxTokens;
    }
    n = Math.min(n, MAX_TOKENS);
    const out = [];

    if (k.echo) {
        const parts = echoText.match(/\s*\S+/g) || [];
        return k.tokens !== undefined ? parts.slice(0, n) : parts;
    }

    const seed = sha(prompt);
    for (let i = 0; i < n; i++) {
        const h = sha(Buffer.concat([seed, Buffer.from(String(i))]));
        if (k.token_sizes) {
            const size = k.token_sizes[i % k.token_sizes.length];
            let s = '';
            for (let j = 0; s.length < size; j++) {
                s += String.fromCharCode(97 + h[j % h.length] % 26);
            }
            out.push(s);
        } else {
            const w = WORDS[h.readUInt32BE(0) % WORDS.length];
            out.push(i === 0 ? w : ' ' + w);
        }
    }
    return out;
}

function countTokens(s) {
    return (s.match(/\S+/g) || []).length;
}

function usage(promptText, tokens) {
    const p = countTokens(promptText);
    return {
        prompt_tokens: p,
        completion_tokens: tokens.length,
        total_tokens: p + tokens.length,
    };
}

function idFor(prefix, body) {
    return prefix + '-mock-' + sha(body).toString('hex').slice(0, 16);
}

// write SSE events one by one with the delay, honouring cut and hold
function stream(req, res, rec, events, k) {
    res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    rec.status = 200;

    let i = 0;
    let gone = false;
    res.on('close', () => {
        gone = true;
        if (!rec.complete) {
            rec.closed_early = now();
        }
    });

    const next = () => {
        if (gone) {
            return;
        }
        if (k.cut_after !== undefined && i >= k.cut_after) {
            log('cutting the stream after ' + i + ' events');
            res.socket.destroy();
            return;
        }
        if (i === events.length) {
            rec.complete = true;
            res.end();
            return;
        }
        res.write('data: ' + events[i] + '\n\n');
        rec.events_sent.push(now());
        i++;
        if (k.hold_after !== undefined && i === k.hold_after) {
            const go = () => { held.delete(go); setTimeout(next, k.delay_ms); };
            held.add(go);
            return;
        }
        setTimeout(next, i < events.length ? k.delay_ms : 0);
    };
    next();
}

function chatCompletions(req, res, rec, json, body, k) {
    if (!Array.isArray(json.messages) || json.messages.length === 0) {
        return sendError(res, rec, 400, '"messages" must be a non-empty'
                         + ' array', 'messages');
    }
    const model = typeof json.model === 'string' ? json.model : 'mock-model';
    const prompt = json.messages.map((m) => (m && m.role || '') + ':'
                                      + contentText(m && m.content))
                       .join('\n');
    const users = json.messages.filter((m) => m && m.role === 'user');
    const lastUser = users.length ? contentText(users[users.length - 1]
                                                .content) : '';
    const maxTokens = json.max_completion_tokens !== undefined
                      ? json.max_completion_tokens : json.max_tokens;
    const tokens = answerTokens(prompt, lastUser, k, maxTokens);
    const finish = (maxTokens !== undefined && tokens.length >= maxTokens
                    && !k.echo) ? 'length' : 'stop';
    const promptText = json.messages.map((m) => contentText(m && m.content))
                           .join(' ');
    const id = idFor('chatcmpl', body);
    const u = usage(promptText, tokens);

    if (!json.stream) {
        return sendJson(res, rec, 200, {
            id: id,
            object: 'chat.completion',
            created: CREATED,
            model: model,
            system_fingerprint: FINGERPRINT,
            choices: [{
                index: 0,
                message: { role: 'assistant', content: tokens.join(''),
                           refusal: null },
                logprobs: null,
                finish_reason: finish,
            }],
            usage: u,
        });
    }

    const chunk = (delta, fin, extra) => JSON.stringify(Object.assign({
        id: id,
        object: 'chat.completion.chunk',
        created: CREATED,
        model: model,
        system_fingerprint: FINGERPRINT,
        choices: [{ index: 0, delta: delta, logprobs: null,
                    finish_reason: fin }],
    }, extra || {}));
    const events = [chunk({ role: 'assistant', content: '' }, null)];
    for (const t of tokens) {
        events.push(chunk({ content: t }, null));
    }
    events.push(chunk({}, finish));
    if (json.stream_options && json.stream_options.include_usage) {
        events.push(JSON.stringify({
            id: id, object: 'chat.completion.chunk', created: CREATED,
            model: model, system_fingerprint: FINGERPRINT, choices: [],
            usage: u,
        }));
    }
    events.push('[DONE]');
    return stream(req, res, rec, events, k);
}

function completions(req, res, rec, json, body, k) {
    let prompt = json.prompt;
    if (Array.isArray(prompt)) {
        prompt = prompt.map((p) => typeof p === 'string' ? p
                            : JSON.stringify(p)).join('\n');
    }
    if (typeof prompt !== 'string') {
        return sendError(res, rec, 400, '"prompt" is required', 'prompt');
    }
    const model = typeof json.model === 'string' ? json.model : 'mock-model';
    const tokens = answerTokens(prompt, prompt, k, json.max_tokens);
    const finish = (json.max_tokens !== undefined
                    && tokens.length >= json.max_tokens && !k.echo)
                   ? 'length' : 'stop';
    const id = idFor('cmpl', body);
    const u = usage(prompt, tokens);

    if (!json.stream) {
        return sendJson(res, rec, 200, {
            id: id,
            object: 'text_completion',
            created: CREATED,
            model: model,
            system_fingerprint: FINGERPRINT,
            choices: [{ text: tokens.join(''), index: 0, logprobs: null,
                        finish_reason: finish }],
            usage: u,
        });
    }

    const chunk = (text, fin) => JSON.stringify({
        id: id,
        object: 'text_completion',
        created: CREATED,
        model: model,
        system_fingerprint: FINGERPRINT,
        choices: [{ text: text, index: 0, logprobs: null,
                    finish_reason: fin }],
    });
    const events = tokens.map((t) => chunk(t, null));
    events.push(chunk('', finish));
    if (json.stream_options && json.stream_options.include_usage) {
        events.push(JSON.stringify({
            id: id, object: 'text_completion', created: CREATED,
            model: model, system_fingerprint: FINGERPRINT, choices: [],
            usage: u,
        }));
    }
    events.push('[DONE]');
    return stream(req, res, rec, events, k);
}

function embeddings(req, res, rec, json, body, k) {
    let inputs = json.input;
    if (typeof inputs === 'string' || (Array.isArray(inputs)
                                       && typeof inputs[0] === 'number')) {
        inputs = [inputs];
    }
    if (!Array.isArray(inputs) || inputs.length === 0) {
        return sendError(res, rec, 400, '"input" is required', 'input');
    }
    const dims = intOpt(json.dimensions, 'dimensions') || 8;
    const model = typeof json.model === 'string' ? json.model
                  : 'mock-embedding';
    let total = 0;
    const data = inputs.map((inp, index) => {
        const text = typeof inp === 'string' ? inp : JSON.stringify(inp);
        total += typeof inp === 'string' ? countTokens(inp) : inp.length;
        const v = new Float32Array(dims);
        for (let i = 0; i < dims; i++) {
            const h = sha(text + '\0' + i);
            v[i] = (h.readUInt16BE(0) / 65535) * 2 - 1;
        }
        const embedding = json.encoding_format === 'base64'
            ? Buffer.from(v.buffer).toString('base64') : Array.from(v);
        return { object: 'embedding', index: index, embedding: embedding };
    });
    return sendJson(res, rec, 200, {
        object: 'list',
        data: data,
        model: model,
        usage: { prompt_tokens: total, total_tokens: total },
    });
}

const ROUTES = {
    '/v1/chat/completions': chatCompletions,
    '/v1/completions': completions,
    '/v1/embeddings': embeddings,
};

function control(req, res, path) {
    if (path === '/__mock/requests' && req.method === 'GET') {
        return sendJson(res, null, 200, records);
    }
    if (path === '/__mock/requests' && req.method === 'DELETE') {
        const n = records.length;
        records = [];
        return sendJson(res, null, 200, { deleted: n });
    }
    if (path === '/__mock/release' && req.method === 'POST') {
        const n = held.size;
        for (const go of [...held]) {
            go();
        }
        return sendJson(res, null, 200, { released: n });
    }
    return sendError(res, null, 404, 'no such mock control ' + path);
}

function handle(req, res, body) {
    const path = req.url.split('?')[0];

    if (path.startsWith('/__mock/')) {
        return control(req, res, path);
    }

    const rec = record(req, body);
    res.on('finish', () => log(req.method + ' ' + path + ' '
                               + res.statusCode));

    if (path === '/v1/models') {
        if (req.method !== 'GET') {
            return sendError(res, rec, 405, 'use GET for /v1/models');
        }
        return sendJson(res, rec, 200, {
            object: 'list',
            data: MODELS.map((id) => ({ id: id, object: 'model',
                                        created: CREATED, owned_by: 'mock' })),
        });
    }

    const route = ROUTES[path];
    if (!route) {
        return sendError(res, rec, 404, 'unknown path ' + path);
    }
    if (req.method !== 'POST') {
        return sendError(res, rec, 405, 'use POST for ' + path);
    }

    let json;
    try {
        json = JSON.parse(body.toString('utf8'));
    } catch (e) {
        return sendError(res, rec, 400, 'the body is not valid JSON');
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
        return sendError(res, rec, 400, 'the body must be a JSON object');
    }

    let k;
    try {
        k = knobs(req, json);
    } catch (e) {
        return sendError(res, rec, 400, e.message);
    }
    if (k.error !== undefined) {
        return sendError(res, rec, k.error, 'error ' + k.error
                         + ' on demand');
    }
    return route(req, res, rec, json, body, k);
}

const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
        try {
            handle(req, res, Buffer.concat(parts));
        } catch (e) {
            log('internal error: ' + e.stack);
            if (!res.headersSent) {
                sendError(res, null, 500, 'internal error');
            } else {
                res.destroy();
            }
        }
    });
});

server.on('error', (e) => {
    process.stderr.write('MOCK model server: ' + e.message + '\n');
    process.exit(1);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => process.exit(0));
}

server.listen(opts.port, opts.host, () => {
    const a = server.address();
    log('model server listening on http://' + a.address + ':' + a.port
        + ' (models: ' + MODELS.join(', ') + ')');
});
