#!/usr/bin/env node
// The official `openai` npm package as the client of the gateway, for
// t/265: every call an application makes, as it makes them.  The client
// changes nothing but its base URL (and its API key, which the gateway
// never forwards).
//
//   node openai-sdk.js SPEC_JSON
//
// SPEC_JSON (a file name, or the JSON itself):
//   base_url     the gateway, e.g. http://127.0.0.1:8080/v1
//   mock_url     the MOCK model server, for its hold/release knob
//   max_retries  the SDK's retries (default 0)
//   calls        [ names of the calls below ]
//
// Prints one JSON line: { NAME: result, ... }; a result is what the call
// returned, or { error: { status, message, type, code, headers } }.

'use strict';

const fs = require('node:fs');
const http = require('node:http');
const OpenAI = require('openai');

const arg = process.argv[2] || '{}';
const spec = JSON.parse(fs.existsSync(arg) ? fs.readFileSync(arg, 'utf8')
                                           : arg);

const client = new OpenAI({
    baseURL: spec.base_url,
    apiKey: 'sk-client-canary-key',
    organization: 'org-client-canary',
    maxRetries: spec.max_retries || 0,
    timeout: 20000,
});

const messages = [{ role: 'user', content: 'hello from the openai SDK' }];

function release() {
    return new Promise((resolve, reject) => {
        const req = http.request(spec.mock_url + '/__mock/release',
                                 { method: 'POST' }, (res) => {
            res.resume();
            res.on('end', resolve);
        });
        req.on('error', reject);
        req.end();
    });
}

const calls = {
    async chat() {
        const r = await client.chat.completions.create({
            model: 'mock-model', messages, user: 'user-canary',
            metadata: { who: 'metadata-canary' },
            safety_identifier: 'safety-canary', temperature: 0.5,
        });
        return { id: r.id, object: r.object,
                 content: r.choices[0].message.content,
                 finish: r.choices[0].finish_reason, usage: r.usage,
                 request_id: r._request_id || null };
    },

    // the stream is held by the MOCK after 3 events: what arrived before
    // the release came before the end of the stream
    async stream() {
        const s = await client.chat.completions.create({
            model: 'mock-model', messages, stream: true,
            mock: { hold_after: 3 },
        });
        const deltas = [];
        let before = null;
        for await (const chunk of s) {
            deltas.push(chunk.choices.length
                        ? chunk.choices[0].delta.content || '' : '');
            if (deltas.length === 3 && before === null) {
                // the MOCK holds every event after these three until it is
                // released: they came before the end of the stream
                before = deltas.length;
                await release();
            }
        }
        return { events: deltas.length, before_release: before,
                 text: deltas.join('') };
    },

    async completion() {
        const r = await client.completions.create({
            model: 'mock-model', prompt: 'once upon a time',
            max_tokens: 5,
        });
        return { object: r.object, text: r.choices[0].text,
                 usage: r.usage };
    },

    async completion_stream() {
        const s = await client.completions.create({
            model: 'mock-model', prompt: 'once upon a time',
            stream: true, stream_options: { include_usage: true },
        });
        const texts = [];
        let usage = null;
        for await (const chunk of s) {
            if (chunk.choices.length) {
                texts.push(chunk.choices[0].text);
            }
            if (chunk.usage) {
                usage = chunk.usage;
            }
        }
        return { events: texts.length, text: texts.join(''), usage };
    },

    async embeddings() {
        const r = await client.embeddings.create({
            model: 'mock-embedding', input: ['alpha', 'beta'],
            user: 'user-canary',
        });
        return { object: r.object, count: r.data.length,
                 dims: r.data[0].embedding.length,
                 first: r.data[0].embedding.slice(0, 3) };
    },

    async embeddings_float() {
        const r = await client.embeddings.create({
            model: 'mock-embedding', input: 'alpha',
            encoding_format: 'float',
        });
        return { dims: r.data[0].embedding.length,
                 first: r.data[0].embedding.slice(0, 3) };
    },

    async models() {
        const ids = [];
        for await (const m of client.models.list()) {
            ids.push(m.id);
        }
        return { ids };
    },

    async error_400() {
        return client.chat.completions.create({
            model: 'mock-model', messages, mock: { error: 400 } });
    },

    async error_429() {
        return client.chat.completions.create({
            model: 'mock-model', messages, mock: { error: 429 } });
    },

    async error_500() {
        return client.chat.completions.create({
            model: 'mock-model', messages, mock: { error: 500 } });
    },

    async error_json() {
        // what only the gateway answers: a body it cannot seal as JSON
        return client.post('/chat/completions', {
            body: 'not json', headers: { 'content-type': 'application/json' },
        });
    },
};

async function main() {
    const out = {};
    for (const name of spec.calls || Object.keys(calls)) {
        try {
            out[name] = await calls[name]();
        } catch (e) {
            out[name] = { error: {
                status: e.status === undefined ? null : e.status,
                message: e.message,
                type: e.type || (e.error && e.error.type) || null,
                code: e.code || (e.error && e.error.code) || null,
                retry_after: e.headers && e.headers.get
                             ? e.headers.get('retry-after') : null,
                class: e.constructor && e.constructor.name,
            } };
        }
    }
    process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
    process.stdout.write(JSON.stringify({ fatal: String(e && e.stack) })
                         + '\n');
    process.exit(1);
});
