-- wrk script of the chain bench (t/bench/chain.pl): non-streamed chat
-- completions with a prompt of BENCH_PROMPT_BYTES bytes, and one JSON line
-- "BENCH {...}" at the end with the counts and the latency percentiles
-- (microseconds), so that chain.pl need not parse wrk's text.
--
-- BENCH_STOP_AFTER=N: the thread stops after N answers and says so with a
-- line "BENCH-STOPPED" (the memory run sends a known number of requests);
-- wrk itself waits out its -d, so chain.pl ends it then with SIGINT, after
-- which it reports as usual.  Run it with -t1.

local bytes = tonumber(os.getenv("BENCH_PROMPT_BYTES") or "1024")
local stop_after = tonumber(os.getenv("BENCH_STOP_AFTER") or "0")

-- a prompt of printable ASCII without JSON escapes, exactly bytes long
local unit = "the quick brown fox jumps over the lazy dog "
local prompt = string.rep(unit, math.floor(bytes / #unit) + 1):sub(1, bytes)

wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"mock-model","messages":[{"role":"user","content":"'
           .. prompt .. '"}]}'

if stop_after > 0 then
    local answers = 0

    -- defined only for the memory run: a response() callback makes wrk
    -- parse every body, which costs the client some time
    response = function(status, headers, body)
        answers = answers + 1
        if answers == stop_after then
            io.write("BENCH-STOPPED\n")
            io.flush()
            wrk.thread:stop()
        end
    end
end

done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,'
        .. '"body_bytes":%d,"connect_errors":%d,"read_errors":%d,'
        .. '"write_errors":%d,"status_errors":%d,"timeouts":%d,'
        .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,'
        .. '"max_us":%d}\n',
        summary.requests, summary.duration, summary.bytes, #wrk.body,
        e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.mean, latency.max))
end
