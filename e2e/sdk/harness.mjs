// Shared harness of the SDK end-to-end scripts (agents_numbers_webhooks.mjs,
// messaging.mjs): the SDK version pin, the environment, a recording fetch
// whose last exchanges a failure report shows, counted assertions, steps that
// all run, and the summary line e2e/e2e_test.go reads.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { AgentPhone, AgentPhoneClient, AgentPhoneError } from "agentphone";

// The checks are written against this exact SDK release (package.json pins it).
export const sdkVersion = "1.0.17";
export const installed = createRequire(import.meta.url)("agentphone/package.json").version;
if (installed !== sdkVersion) {
  console.error(`e2e-sdk: node_modules has agentphone ${installed}, want ${sdkVersion}: run npm ci in e2e/sdk`);
  process.exit(2);
}

export const baseUrl = process.env.AGENTPHONE_BASE_URL;
export const apiKey = process.env.AGENTPHONE_API_KEY;
if (!baseUrl || !apiKey) {
  console.error("e2e-sdk: set AGENTPHONE_BASE_URL (e.g. http://127.0.0.1:8080) and AGENTPHONE_API_KEY");
  process.exit(2);
}

// ---------------------------------------------------------------------------
// Recording fetch: keeps the last HTTP exchanges so that a failure report
// shows the exact request and response.

export const exchanges = [];

export async function recordingFetch(input, init = {}) {
  const headers = new Headers(init.headers ?? {});
  const rec = {
    method: init.method ?? "GET",
    url: String(input),
    subAccount: headers.get("x-sub-account-id"),
    body: typeof init.body === "string" ? init.body : undefined,
  };
  exchanges.push(rec);
  if (exchanges.length > 4) exchanges.shift();
  const res = await fetch(input, init);
  rec.status = res.status;
  rec.response = await res.clone().text();
  return res;
}

export function describeExchange(rec) {
  if (!rec) return "    (no HTTP exchange)";
  const lines = [`    > ${rec.method} ${rec.url}`];
  if (rec.subAccount) lines.push(`    > X-Sub-Account-Id: ${rec.subAccount}`);
  if (rec.body !== undefined) lines.push(`    > ${truncate(rec.body)}`);
  lines.push(`    < ${rec.status ?? "(no response)"} ${truncate(rec.response ?? "")}`);
  return lines.join("\n");
}

export function truncate(s, n = 2000) {
  return s.length > n ? `${s.slice(0, n)}… (${s.length} bytes)` : s;
}

// ---------------------------------------------------------------------------
// Clients. Retries are off so that a 5xx fails at once with its own body.

export function newClient(token) {
  return new AgentPhoneClient({ baseUrl, token, maxRetries: 0, timeoutInSeconds: 30, fetch: recordingFetch });
}

const used = new Set();
let required = {};

// tracked wraps the SDK client so that every resource method call is recorded.
function tracked(client) {
  return new Proxy(client, {
    get(target, group) {
      const resource = target[group];
      if (typeof group !== "string" || resource === null || typeof resource !== "object") return resource;
      return new Proxy(resource, {
        get(res, method) {
          const fn = res[method];
          if (typeof fn !== "function") return fn;
          return (...args) => {
            used.add(`${group}.${String(method)}`);
            return fn.apply(res, args);
          };
        },
      });
    },
  });
}


// ---------------------------------------------------------------------------
// Counted assertions.

let checks = 0;

// checkCount is how many checks passed so far.
export function checkCount() {
  return checks;
}

export function ok(value, message) {
  assert.ok(value, message);
  checks++;
}

export function equal(actual, expected, message) {
  assert.equal(actual, expected, message);
  checks++;
}

export function notEqual(actual, expected, message) {
  assert.notEqual(actual, expected, message);
  checks++;
}

export function deepEqual(actual, expected, message) {
  assert.deepEqual(actual, expected, message);
  checks++;
}

export function match(actual, re, message) {
  assert.equal(typeof actual, "string", `${message}: expected a string, got ${JSON.stringify(actual)}`);
  assert.match(actual, re, message);
  checks++;
}

// hasKeys checks that every documented key is present in obj (§1.4: emit
// every documented key, null for absent nullable values).
export function hasKeys(obj, keys, what) {
  ok(obj !== null && typeof obj === "object" && !Array.isArray(obj), `${what}: expected an object, got ${JSON.stringify(obj)}`);
  const missing = keys.filter((k) => !(k in obj));
  deepEqual(missing, [], `${what}: documented keys missing from the response`);
}

export const startedAt = Date.now();

// timestamp checks an RFC 3339 UTC date-time (§1.5) taken during this run.
export function timestamp(value, what) {
  match(value, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, `${what}: RFC 3339 UTC date-time`);
  const t = Date.parse(value);
  ok(t >= startedAt - 5 * 60_000 && t <= Date.now() + 5 * 60_000, `${what}: ${value} is not close to now`);
}

// expectError awaits a call that must fail with HTTP status and checks the
// SDK's error type and the FastAPI error body (§1.8). For 422, loc (if given)
// must be the loc of one of the detail items.
export async function expectError(call, status, what, loc) {
  let result;
  let err;
  try {
    result = await call;
  } catch (e) {
    err = e;
  }
  if (err === undefined) {
    assert.fail(`${what}: expected HTTP ${status}, the call succeeded with ${truncate(JSON.stringify(result) ?? "undefined", 500)}`);
  }
  ok(err instanceof AgentPhoneError, `${what}: expected an AgentPhoneError, got ${err?.constructor?.name}: ${err?.message}`);
  equal(err.statusCode, status, `${what}: statusCode`);
  if (status === 422) {
    ok(err instanceof AgentPhone.UnprocessableEntityError, `${what}: 422 must surface as AgentPhone.UnprocessableEntityError`);
    checkValidationBody(err.body, what, loc);
  } else {
    ok(!(err instanceof AgentPhone.UnprocessableEntityError), `${what}: a ${status} must not surface as UnprocessableEntityError`);
    equal(typeof err.body?.detail, "string", `${what}: ${status} body must be {"detail": "<message>"}, got ${JSON.stringify(err.body)}`);
  }
  return err;
}

// checkValidationBody checks a 422 body (§1.8): a non-empty detail array of
// {loc, msg, type}, one of them at loc when loc is given.
export function checkValidationBody(body, what, loc) {
  const detail = body?.detail;
  ok(Array.isArray(detail) && detail.length > 0, `${what}: 422 body.detail must be a non-empty array, got ${JSON.stringify(body)}`);
  for (const item of detail) {
    ok(Array.isArray(item.loc) && item.loc.every((p) => typeof p === "string" || typeof p === "number"),
      `${what}: detail item loc must be an array of strings/integers: ${JSON.stringify(item)}`);
    equal(typeof item.msg, "string", `${what}: detail item msg`);
    equal(typeof item.type, "string", `${what}: detail item type`);
  }
  if (loc !== undefined) {
    ok(detail.some((item) => JSON.stringify(item.loc) === JSON.stringify(loc)),
      `${what}: expected a detail item with loc ${JSON.stringify(loc)}, got ${JSON.stringify(detail.map((d) => d.loc))}`);
  }
}

// ---------------------------------------------------------------------------
// Steps.

const failures = [];
let stepCount = 0;

export async function step(name, fn) {
  stepCount++;
  const before = checks;
  try {
    await fn();
    console.log(`ok   ${name} (${checks - before} checks)`);
  } catch (err) {
    let message = err instanceof Error ? err.message : String(err);
    if (err?.cause) message += ` (cause: ${err.cause.message ?? err.cause})`;
    if (err instanceof AgentPhoneError && err.statusCode !== undefined && !message.includes(String(err.statusCode))) {
      message += ` [HTTP ${err.statusCode}: ${truncate(JSON.stringify(err.body) ?? "", 500)}]`;
    }
    failures.push(name);
    if (err instanceof NeedError) {
      console.log(`FAIL ${name}\n  ${message}`);
      return;
    }
    console.log(`FAIL ${name}\n  ${message.split("\n").join("\n  ")}\n  last HTTP exchange:\n${describeExchange(exchanges.at(-1))}`);
    if (!(err instanceof assert.AssertionError) && !(err instanceof AgentPhoneError) && err?.stack) {
      console.log(`  ${err.stack.split("\n").slice(1, 4).join("\n  ")}`);
    }
  }
}

// NeedError: a step cannot run because an earlier one did not create what it needs.
export class NeedError extends Error {}

export function need(value, what) {
  if (value === undefined || value === null) throw new NeedError(`needs ${what} from an earlier step, which failed`);
  return value;
}


// trackedClient returns an SDK client for token whose resource method calls
// are recorded; finish checks that every method of required
// ({group: [method…]}) was called.
export function trackedClient(token, requiredMethods) {
  required = requiredMethods;
  const client = tracked(newClient(token));
  console.log(`e2e-sdk: agentphone SDK ${installed} against ${baseUrl}`);
  return client;
}

// finish runs the last step (every required SDK method was called), prints
// the summary line and exits: 0 when every step passed, else 1.
export async function finish() {
  await step("every required SDK method was called", async () => {
    const missing = Object.entries(required).flatMap(([group, methods]) =>
      methods.map((m) => `${group}.${m}`).filter((name) => !used.has(name)),
    );
    deepEqual(missing, [], "SDK methods never called");
  });
  if (failures.length > 0) {
    console.error(`e2e-sdk: ${failures.length} of ${stepCount} steps failed: ${failures.join("; ")}`);
    console.log(`e2e-sdk: ${checks} checks passed, ${failures.length} failed`);
    process.exit(1);
  }
  console.log(`e2e-sdk: ${checks} checks passed`);
}
