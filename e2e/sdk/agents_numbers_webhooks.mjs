// End-to-end check of the agentphone server with the official AgentPhone
// TypeScript SDK (npm package agentphone, pinned to 1.0.17 in package.json).
//
// It drives the agents, numbers, project-webhook and agent-webhook
// operations through the SDK against a running server and asserts the
// fields and defaults documented in shared/spec/API.md (§1, §2, §3, §9.1–9.4,
// §10.1–10.3, §20).
//
// Usage:
//
//	AGENTPHONE_BASE_URL=http://127.0.0.1:8080 AGENTPHONE_API_KEY=sk_live_… \
//	    node agents_numbers_webhooks.mjs
//
// The server must be fresh (no agents, numbers or webhooks in the default
// account): list totals are asserted exactly. e2e/e2e_test.go starts one.
//
// Every step runs even when an earlier one failed (a step that needs an
// object an earlier step failed to create fails with "needs …"). On success
// the last line is "e2e-sdk: N checks passed" and the exit status is 0; on
// failure each failed step is printed (on stdout, in order) with the last
// HTTP exchange, the failed steps are named on stderr, the last line is
// "e2e-sdk: N checks passed, M failed" and the exit status is 1.
// A missing environment variable exits with status 2.

import assert from "node:assert/strict";
import { AgentPhone, AgentPhoneError } from "agentphone";
import {
  NeedError,
  apiKey,
  baseUrl,
  checkCount,
  checkValidationBody,
  deepEqual,
  describeExchange,
  equal,
  exchanges,
  expectError,
  finish,
  hasKeys,
  installed,
  match,
  need,
  newClient,
  notEqual,
  ok,
  recordingFetch,
  sdkVersion,
  startedAt,
  step,
  timestamp,
  trackedClient,
  truncate,
} from "./harness.mjs";

// SDK methods this script must call; `used` records the ones it did.
const required = {
  agents: [
    "listVoices", "listAgents", "createAgent", "getAgent", "updateAgent", "attachNumberToAgent",
    "detachNumberFromAgent", "listAgentConversations", "listAgentCalls", "deleteAgent",
  ],
  numbers: ["listNumbers", "createNumber", "getNumber", "deleteNumber", "getMessages"],
  calls: ["listCallsForNumber"],
  webhooks: ["getWebhook", "createOrUpdateWebhook", "deleteWebhook"],
  agentWebhooks: ["getAgentWebhook", "createOrUpdateAgentWebhook", "deleteAgentWebhook"],
};
const client = trackedClient(apiKey, required);

// ---------------------------------------------------------------------------
// Expected shapes (§2.1, §2.2, §3.1, §9.1).

const agentKeys = [
  "id", "name", "description", "voiceMode", "enableMessaging", "modelTier", "systemPrompt", "beginMessage", "voice",
  "transferNumber", "customTools", "voicemailMessage", "callScreeningIdentity", "callScreeningPurpose", "sttMode",
  "ambientSound", "denoisingMode", "maxSilenceMs", "voiceSpeed", "interruptionSensitivity", "enableBackchannel",
  "language", "createdAt", "numbers",
];

// Documented defaults of a new agent (§2.1, §2.7).
const agentDefaults = {
  description: null,
  voiceMode: "webhook",
  enableMessaging: true,
  modelTier: "balanced",
  systemPrompt: null,
  beginMessage: null,
  transferNumber: null,
  voicemailMessage: null,
  callScreeningIdentity: null,
  callScreeningPurpose: null,
  sttMode: "fast",
  ambientSound: "none",
  denoisingMode: "noise-cancellation",
  maxSilenceMs: 600000,
  voiceSpeed: 1,
  interruptionSensitivity: 0.8,
  enableBackchannel: true,
  language: "en-US",
};

const numberKeys = ["id", "phoneNumber", "country", "status", "type", "agentId", "createdAt"];
const agentNumberKeys = ["id", "phoneNumber", "status", "type"];
const webhookKeys = ["id", "url", "secret", "status", "contextLimit", "timeout", "createdAt"];

// Sandbox numbers are fictional: +1, an area code, then 555-01xx.
const sandboxNumber = /^\+1[2-9]\d\d55501\d\d$/;

function checkAgent(agent, what) {
  hasKeys(agent, agentKeys, what);
  match(agent.id, /^\S+$/, `${what}: id`);
  timestamp(agent.createdAt, `${what}: createdAt`);
  match(agent.voice, /^\S+$/, `${what}: voice`);
  ok(Array.isArray(agent.numbers), `${what}: numbers must be an array, got ${JSON.stringify(agent.numbers)}`);
  for (const n of agent.numbers) checkAgentNumber(n, `${what}: numbers[]`);
}

function checkAgentNumber(n, what) {
  hasKeys(n, agentNumberKeys, what);
  match(n.phoneNumber, sandboxNumber, `${what}: phoneNumber`);
}

function checkNumber(n, what) {
  hasKeys(n, numberKeys, what);
  match(n.id, /^\S+$/, `${what}: id`);
  match(n.phoneNumber, sandboxNumber, `${what}: phoneNumber is a sandbox number (+1 NPA 555-01xx)`);
  equal(n.type, "sms", `${what}: type`);
  timestamp(n.createdAt, `${what}: createdAt`);
}

function checkWebhook(w, what) {
  hasKeys(w, webhookKeys, what);
  match(w.id, /^wh_\S+$/, `${what}: id starts with wh_ (§9.1)`);
  match(w.secret, /^whsec_\S+$/, `${what}: secret starts with whsec_ (§9.1)`);
  equal(w.status, "active", `${what}: status`);
  timestamp(w.createdAt, `${what}: createdAt`);
}

// "An empty tool set": the spec gives null as the default (§2.1) and shows []
// in its example; both are accepted.
function emptyTools(tools, what) {
  ok(tools === null || (Array.isArray(tools) && tools.length === 0), `${what}: customTools must be null or [], got ${JSON.stringify(tools)}`);
}

// pick returns the documented keys of obj, leaving out the additions this
// server makes (updatedAt, releasedAt, capabilities, …), which may change.
function pick(obj, keys) {
  return Object.fromEntries(keys.filter((k) => obj !== null && typeof obj === "object" && k in obj).map((k) => [k, obj[k]]));
}

// subset checks that every key of expected is in actual with a deep-equal value.
function subset(actual, expected, what) {
  for (const [k, v] of Object.entries(expected)) deepEqual(actual?.[k], v, `${what}: ${k}`);
}

function ids(list) {
  return list.map((x) => x.id);
}

// ---------------------------------------------------------------------------
// State shared by the steps.

let voices; // voice list items
let minimal; // agent created with only a name
let full; // hosted agent created with every field
let fullSent; // the body used to create `full`
let num1; // number created with no body
let num2; // number created with areaCode 415
let num3; // CA number created with areaCode 604 and attached to `minimal`
let subAccount;
let subAgent;

const fullTools = [
  {
    name: "lookup_order",
    description: "Look up an order by its id.",
    url: "https://tools.example.com/orders/lookup",
    method: "GET",
    headers: { Authorization: "Bearer tool-token" },
    parameters: { type: "object", properties: { orderId: { type: "string" } }, required: ["orderId"] },
    timeoutMs: 5000,
    speakDuringExecution: true,
    executionMessage: "One moment while I check.",
  },
  {
    name: "ping-tool",
    description: "A tool without arguments.",
    url: "https://tools.example.com/ping",
  },
];

await step("auth: a wrong bearer token gets 401", async () => {
  const bad = newClient("sk_live_this_key_does_not_exist_0000");
  await expectError(bad.agents.listAgents(), 401, "listAgents with a wrong key");
});

await step("agents.listVoices", async () => {
  const res = await client.agents.listVoices();
  ok(Array.isArray(res?.data) && res.data.length > 0, `listVoices: data must be a non-empty array, got ${JSON.stringify(res)}`);
  for (const v of res.data) {
    // §2.5 and §20.8: snake_case keys.
    hasKeys(v, ["voice_id", "voice_name", "provider", "gender", "accent", "language", "preview_audio_url"], "voice");
    match(v.voice_id, /^\S+$/, "voice: voice_id");
    match(v.voice_name, /\S/, "voice: voice_name");
  }
  deepEqual(new Set(res.data.map((v) => v.voice_id)).size, res.data.length, "listVoices: voice_id values are unique");
  voices = res.data;
});

await step("agents.listAgents on a fresh account", async () => {
  const res = await client.agents.listAgents();
  deepEqual(res.data, [], "listAgents: data");
  equal(res.total, 0, "listAgents: total");
  equal(res.hasMore, false, "listAgents: hasMore (§20.1)");
});

await step("agents.createAgent with only a name: documented defaults", async () => {
  const a = await client.agents.createAgent({ name: "Minimal Agent" });
  minimal = a;
  checkAgent(a, "createAgent minimal");
  equal(a.name, "Minimal Agent", "createAgent minimal: name");
  subset(a, agentDefaults, "createAgent minimal: default");
  emptyTools(a.customTools, "createAgent minimal");
  deepEqual(a.numbers, [], "createAgent minimal: numbers of a new agent");
  if (voices) {
    ok(voices.some((v) => v.voice_id === a.voice), `createAgent minimal: default voice ${a.voice} is one of listVoices`);
  }
});

await step("agents.createAgent with every field (hosted, systemPrompt, customTools)", async () => {
  const voice = voices?.at(-1)?.voice_id ?? need(minimal, "minimal agent").voice;
  fullSent = {
    name: "Full Agent",
    description: "Answers order questions — ünïcödé, 日本語, 🤖.",
    voiceMode: "hosted",
    enableMessaging: false,
    modelTier: "max",
    systemPrompt: "You answer questions about order status.",
    beginMessage: "Hi, this is Acme support.",
    voice,
    transferNumber: "+14155550100",
    customTools: fullTools,
    voicemailMessage: "Please call us back.",
    callScreeningIdentity: "Acme Support",
    callScreeningPurpose: "Following up on your order.",
    sttMode: "accurate",
    ambientSound: "coffee-shop",
    denoisingMode: "noise-and-background-speech-cancellation",
    maxSilenceMs: 30000,
    voiceSpeed: 1.25,
    interruptionSensitivity: 0.5,
    enableBackchannel: false,
    language: "de-DE",
  };
  const a = await client.agents.createAgent(fullSent);
  full = a;
  checkAgent(a, "createAgent full");
  const { customTools, ...scalars } = fullSent;
  subset(a, scalars, "createAgent full: echoed");
  ok(Array.isArray(a.customTools) && a.customTools.length === fullTools.length,
    `createAgent full: customTools must echo ${fullTools.length} tools, got ${JSON.stringify(a.customTools)}`);
  subset(a.customTools[0], fullTools[0], "createAgent full: customTools[0]");
  subset(a.customTools[1], fullTools[1], "createAgent full: customTools[1]");
  if ("method" in a.customTools[1]) equal(a.customTools[1].method, "POST", "createAgent full: customTools[1].method default (§2.3)");
  deepEqual(a.numbers, [], "createAgent full: numbers");
  notEqual(a.id, minimal?.id, "createAgent full: a new id");
});

await step("agents.getAgent returns what createAgent returned", async () => {
  deepEqual(await client.agents.getAgent({ agent_id: need(minimal, "minimal agent").id }), minimal, "getAgent minimal");
  deepEqual(await client.agents.getAgent({ agent_id: need(full, "full agent").id }), full, "getAgent full");
});

await step("agents.listAgents: total, newest first, offset", async () => {
  need(minimal, "minimal agent");
  need(full, "full agent");
  const res = await client.agents.listAgents();
  equal(res.total, 2, "listAgents: total");
  equal(res.hasMore, false, "listAgents: hasMore");
  deepEqual(ids(res.data), [full.id, minimal.id], "listAgents: newest first (§20.3)");
  deepEqual(res.data[0], full, "listAgents: item equals getAgent");
  const page = await client.agents.listAgents({ offset: 1 });
  deepEqual(ids(page.data), [minimal.id], "listAgents offset=1: data");
  equal(page.total, 2, "listAgents offset=1: total");
  equal(page.hasMore, false, "listAgents offset=1: hasMore");
  const beyond = await client.agents.listAgents({ offset: 5 });
  deepEqual([beyond.data, beyond.total, beyond.hasMore], [[], 2, false], "listAgents offset past the end");
  const first = await client.agents.listAgents({}, { queryParams: { limit: 1 } });
  deepEqual(ids(first.data), [full.id], "listAgents limit=1: data (§20.1)");
  equal(first.hasMore, true, "listAgents limit=1: hasMore");
});

await step("422 surfaces as AgentPhone.UnprocessableEntityError", async () => {
  await expectError(client.agents.createAgent({ name: "Too Fast", voiceSpeed: 3 }), 422, "createAgent voiceSpeed 3",
    ["body", "voiceSpeed"]);
  await expectError(client.agents.createAgent({}), 422, "createAgent without name", ["body", "name"]);
  await expectError(client.agents.createAgent({ name: "Klingon", language: "tlh-KX" }), 422, "createAgent unknown language",
    ["body", "language"]);
  await expectError(client.agents.createAgent({ name: "Quiet", maxSilenceMs: 5000 }), 422, "createAgent maxSilenceMs 5000",
    ["body", "maxSilenceMs"]);
  await expectError(client.agents.createAgent({ name: "Mode", voiceMode: "telepathy" }), 422, "createAgent bad voiceMode",
    ["body", "voiceMode"]);
  const tooMany = Array.from({ length: 21 }, (_, i) => ({ name: `t${i}`, description: "d", url: `https://tools.example.com/${i}` }));
  await expectError(client.agents.createAgent({ name: "Tools", voiceMode: "hosted", systemPrompt: "p", customTools: tooMany }), 422,
    "createAgent with 21 customTools", ["body", "customTools"]);
  const agent = need(minimal, "minimal agent");
  await expectError(client.agents.updateAgent({ agent_id: agent.id, voiceSpeed: 0.1 }), 422, "updateAgent voiceSpeed 0.1",
    ["body", "voiceSpeed"]);
  await expectError(client.agents.updateAgent({ agent_id: agent.id, interruptionSensitivity: 1.5 }), 422,
    "updateAgent interruptionSensitivity 1.5", ["body", "interruptionSensitivity"]);
  deepEqual(await client.agents.getAgent({ agent_id: agent.id }), agent, "a rejected update changes nothing");
  equal((await client.agents.listAgents()).total, 2, "rejected creates store nothing");
});

await step("validation: every bad field listed, ranges inclusive, unknown keys ignored", async () => {
  const two = await expectError(client.agents.createAgent({ name: "Two", voiceSpeed: 3, sttMode: "slow" }), 422,
    "createAgent with two bad fields", ["body", "voiceSpeed"]);
  ok(two.body.detail.some((d) => JSON.stringify(d.loc) === '["body","sttMode"]'), "422 lists every bad field (§20.2)");
  await expectError(client.agents.createAgent({ name: "Case", language: "en-us" }), 422, "language is case-sensitive (§2.4)",
    ["body", "language"]);
  await expectError(client.agents.createAgent({ name: "Frac", maxSilenceMs: 10000.5 }), 422, "maxSilenceMs must be an integer",
    ["body", "maxSilenceMs"]);
  await expectError(client.agents.createAgent({ name: "Xfer", transferNumber: "12345" }), 422, "transferNumber must be E.164",
    ["body", "transferNumber"]);
  const tool = { description: "d", url: "https://tools.example.com/t" };
  await expectError(client.agents.createAgent({ name: "T", voiceMode: "hosted", systemPrompt: "p", customTools: [{ ...tool, name: "bad name!" }] }),
    422, "customTools[0].name with a space", ["body", "customTools", 0, "name"]);
  await expectError(client.agents.createAgent({ name: "T", voiceMode: "hosted", systemPrompt: "p", customTools: [{ ...tool, name: "end_call" }] }),
    422, "customTools name reserved for a built-in tool (§20.20)");
  await expectError(client.agents.createAgent({ name: "T", voiceMode: "hosted", systemPrompt: "p", customTools: [{ ...tool, name: "same" }, { ...tool, name: "same" }] }),
    422, "customTools names must be unique (§2.3)");
  await expectError(client.agents.createAgent({ name: "T", voiceMode: "hosted", systemPrompt: "p", customTools: [{ name: "nourl", description: "d" }] }),
    422, "customTools[0] without url", ["body", "customTools", 0, "url"]);

  await expectError(client.agents.createAgent({ name: "" }), 422, "createAgent with an empty name", ["body", "name"]);
  await expectError(client.agents.createAgent({ name: "Hosted", voiceMode: "hosted" }), 422,
    "createAgent hosted without systemPrompt (§2.7)", ["body", "systemPrompt"]);
  await expectError(client.agents.updateAgent({ agent_id: need(minimal, "minimal agent").id, voiceMode: "hosted" }), 422,
    "updateAgent to hosted without a systemPrompt (§2.9)", ["body", "systemPrompt"]);
  await expectError(client.agents.createAgent({ name: "Voice", voice: "no-such-voice" }), 422, "createAgent with an unknown voice (§2.5)",
    ["body", "voice"]);

  // On create, null means "use the default" (§0.2).
  const nulls = await client.agents.createAgent({
    name: "Nulls", description: null, enableMessaging: null, systemPrompt: null, voice: null, maxSilenceMs: null,
    voiceSpeed: null, interruptionSensitivity: null, enableBackchannel: null, customTools: null,
  });
  subset(nulls, agentDefaults, "createAgent with explicit nulls: default");
  match(nulls.voice, /^\S+$/, "createAgent with voice null: the default voice");
  equal((await client.agents.deleteAgent({ agent_id: nulls.id })).success, true, "deleteAgent of the nulls agent");

  // Unknown request keys are ignored, not rejected (§1.4).
  const extra = await client.agents.createAgent({ name: "Extra Keys", someFutureField: { nested: true }, webhookUrl: "https://x.example.com" });
  equal(extra.name, "Extra Keys", "createAgent with unknown keys: accepted");
  ok(!("someFutureField" in extra), "createAgent with unknown keys: not echoed");

  // Range ends are inclusive (§2.1).
  const low = await client.agents.updateAgent({ agent_id: extra.id, maxSilenceMs: 10000, voiceSpeed: 0.5, interruptionSensitivity: 0 });
  deepEqual([low.maxSilenceMs, low.voiceSpeed, low.interruptionSensitivity], [10000, 0.5, 0], "lowest allowed values");
  const high = await client.agents.updateAgent({ agent_id: extra.id, maxSilenceMs: 3600000, voiceSpeed: 2, interruptionSensitivity: 1 });
  deepEqual([high.maxSilenceMs, high.voiceSpeed, high.interruptionSensitivity], [3600000, 2, 1], "highest allowed values");
  const del = await client.agents.deleteAgent({ agent_id: extra.id });
  equal(del.success, true, "deleteAgent of the extra-keys agent");
  equal((await client.agents.listAgents()).total, 2, "only the two agents of this run remain");
});

await step("404 for an unknown agent surfaces as an error with statusCode 404", async () => {
  const missing = "agt_doesNotExist0000000000";
  await expectError(client.agents.getAgent({ agent_id: missing }), 404, "getAgent unknown");
  await expectError(client.agents.updateAgent({ agent_id: missing, name: "x" }), 404, "updateAgent unknown");
  await expectError(client.agents.deleteAgent({ agent_id: missing }), 404, "deleteAgent unknown");
  await expectError(client.agentWebhooks.getAgentWebhook({ agent_id: missing }), 404, "getAgentWebhook unknown agent");
});

await step("agents.updateAgent: PATCH changes only the keys sent", async () => {
  const before = need(full, "full agent");
  const a = await client.agents.updateAgent({ agent_id: before.id, name: "Renamed Agent", voiceSpeed: 1.5 });
  deepEqual(pick(a, agentKeys), { ...pick(before, agentKeys), name: "Renamed Agent", voiceSpeed: 1.5 },
    "updateAgent name+voiceSpeed: every other field unchanged");
  deepEqual(await client.agents.getAgent({ agent_id: before.id }), a, "getAgent after update");

  // §20.4: explicit null clears a nullable field and resets a defaulted one.
  const b = await client.agents.updateAgent({ agent_id: before.id, description: null, maxSilenceMs: null });
  deepEqual(pick(b, agentKeys), { ...pick(a, agentKeys), description: null, maxSilenceMs: 600000 },
    "updateAgent description=null, maxSilenceMs=null");

  // §2.9: customTools replaces the set; omitted leaves it; [] clears.
  const c = await client.agents.updateAgent({ agent_id: before.id, customTools: [fullTools[1]] });
  equal(c.customTools?.length, 1, "updateAgent customTools=[one]: replaces the set");
  subset(c.customTools[0], fullTools[1], "updateAgent customTools[0]");
  const d = await client.agents.updateAgent({ agent_id: before.id, language: "fr-FR" });
  deepEqual(d.customTools, c.customTools, "updateAgent without customTools leaves them");
  equal(d.language, "fr-FR", "updateAgent language");
  const e = await client.agents.updateAgent({ agent_id: before.id, customTools: [] });
  emptyTools(e.customTools, "updateAgent customTools=[]");
  deepEqual({ ...pick(e, agentKeys), customTools: null }, { ...pick(d, agentKeys), customTools: null },
    "updateAgent customTools=[]: nothing else changed");
  const f = await client.agents.updateAgent({ agent_id: before.id });
  deepEqual(pick(f, agentKeys), pick(e, agentKeys), "updateAgent with an empty body changes nothing");
  full = f;
});

await step("numbers.listNumbers on a fresh account", async () => {
  const res = await client.numbers.listNumbers();
  deepEqual(res.data, [], "listNumbers: data");
  equal(res.total, 0, "listNumbers: total");
  equal(res.hasMore, false, "listNumbers: hasMore");
});

await step("numbers.createNumber without a body", async () => {
  const n = await client.numbers.createNumber();
  num1 = n;
  checkNumber(n, "createNumber {}");
  equal(n.country, "US", "createNumber {}: country default");
  equal(n.status, "active", "createNumber {}: status");
  equal(n.agentId, null, "createNumber {}: agentId");
});

await step("numbers.createNumber with areaCode", async () => {
  const n = await client.numbers.createNumber({ areaCode: "415" });
  num2 = n;
  checkNumber(n, "createNumber areaCode 415");
  match(n.phoneNumber, /^\+1415/, "createNumber areaCode 415: phoneNumber in area code 415");
  equal(n.country, "US", "createNumber areaCode 415: country");
  equal(n.status, "active", "createNumber areaCode 415: status");
  equal(n.agentId, null, "createNumber areaCode 415: agentId");
  notEqual(n.phoneNumber, num1?.phoneNumber, "createNumber: a different number each time");
});

await step("numbers.createNumber with country CA, areaCode and agentId", async () => {
  const agent = need(minimal, "minimal agent");
  const n = await client.numbers.createNumber({ country: "CA", areaCode: "604", agentId: agent.id });
  num3 = n;
  checkNumber(n, "createNumber CA 604");
  match(n.phoneNumber, /^\+1604/, "createNumber CA 604: phoneNumber in area code 604");
  equal(n.country, "CA", "createNumber CA 604: country");
  equal(n.status, "active", "createNumber CA 604: status");
  equal(n.agentId, agent.id, "createNumber CA 604: attached to the agent");
  const a = await client.agents.getAgent({ agent_id: agent.id });
  deepEqual(a.numbers, [{ id: n.id, phoneNumber: n.phoneNumber, status: "active", type: "sms" }], "getAgent: numbers lists the new number (§2.2)");
  deepEqual(pick({ ...a, numbers: [] }, agentKeys), pick(minimal, agentKeys), "getAgent: nothing else changed on the agent");
});

await step("numbers.createNumber rejects bad input", async () => {
  await expectError(client.numbers.createNumber({ agentId: "agt_doesNotExist0000000000" }), 404, "createNumber with an unknown agentId");
  await expectError(client.numbers.createNumber({ country: "GB" }), 422, "createNumber country GB (US and CA only)", ["body", "country"]);
  await expectError(client.numbers.createNumber({ areaCode: "12" }), 422, "createNumber areaCode 12", ["body", "areaCode"]);
  const res = await client.numbers.listNumbers();
  equal(res.total, 3, "a rejected createNumber provisions nothing");
});

await step("numbers.getNumber and listNumbers", async () => {
  need(num1, "first number");
  need(num2, "second number");
  need(num3, "third number");
  deepEqual(await client.numbers.getNumber({ number_id: num1.id }), num1, "getNumber num1");
  deepEqual(await client.numbers.getNumber({ number_id: num3.id }), num3, "getNumber num3");
  const res = await client.numbers.listNumbers();
  equal(res.total, 3, "listNumbers: total");
  equal(res.hasMore, false, "listNumbers: hasMore");
  deepEqual(ids(res.data), [num3.id, num2.id, num1.id], "listNumbers: newest first (§20.3)");
  deepEqual(res.data[2], num1, "listNumbers: item equals getNumber");
  const page = await client.numbers.listNumbers({ offset: 2 });
  deepEqual(ids(page.data), [num1.id], "listNumbers offset=2");
  const first = await client.numbers.listNumbers({}, { queryParams: { limit: 2 } });
  deepEqual([ids(first.data), first.hasMore, first.total], [[num3.id, num2.id], true, 3], "listNumbers limit=2 (§1.7)");
  await expectError(client.numbers.getNumber({ number_id: "num_doesNotExist0000000000" }), 404, "getNumber unknown");
});

await step("agents.attachNumberToAgent and detachNumberFromAgent", async () => {
  const agent = need(full, "full agent");
  const n = need(num1, "first number");
  const res = await client.agents.attachNumberToAgent({ agent_id: agent.id, numberId: n.id });
  hasKeys(res, ["agentId", "number"], "attachNumberToAgent");
  equal(res.agentId, agent.id, "attachNumberToAgent: agentId");
  deepEqual(res.number, { id: n.id, phoneNumber: n.phoneNumber, status: "active", type: "sms" }, "attachNumberToAgent: number");
  equal((await client.numbers.getNumber({ number_id: n.id })).agentId, agent.id, "getNumber after attach: agentId");
  deepEqual((await client.agents.getAgent({ agent_id: agent.id })).numbers, [res.number], "getAgent after attach: numbers");

  // §20.5: a number attached to another agent → 409.
  const other = need(num3, "third number");
  await expectError(client.agents.attachNumberToAgent({ agent_id: agent.id, numberId: other.id }), 409,
    "attach a number that belongs to another agent");
  await expectError(client.agents.attachNumberToAgent({ agent_id: agent.id, numberId: "num_doesNotExist0000000000" }), 404,
    "attach an unknown number");
  await expectError(client.agents.attachNumberToAgent({ agent_id: "agt_doesNotExist0000000000", numberId: n.id }), 404,
    "attach to an unknown agent");

  const det = await client.agents.detachNumberFromAgent({ agent_id: agent.id, number_id: n.id });
  equal(det?.success, true, `detachNumberFromAgent: {"success": true} (§2.12), got ${JSON.stringify(det)}`);
  const after = await client.numbers.getNumber({ number_id: n.id });
  equal(after.agentId, null, "getNumber after detach: agentId");
  equal(after.status, "active", "getNumber after detach: still active");
  deepEqual((await client.agents.getAgent({ agent_id: agent.id })).numbers, [], "getAgent after detach: numbers");
});

await step("agents.listAgentConversations and listAgentCalls", async () => {
  const agent = need(minimal, "minimal agent");
  for (const [name, call] of [
    ["listAgentConversations", (req) => client.agents.listAgentConversations(req)],
    ["listAgentCalls", (req) => client.agents.listAgentCalls(req)],
  ]) {
    const res = await call({ agent_id: agent.id });
    deepEqual(res, { ...res, data: [], hasMore: false, total: 0 }, `${name}: empty list`);
    const paged = await call({ agent_id: agent.id, limit: 5, offset: 10 });
    deepEqual([paged.data, paged.hasMore, paged.total], [[], false, 0], `${name} limit=5 offset=10`);
    await expectError(call({ agent_id: agent.id, limit: 101 }), 422, `${name} limit=101`, ["query", "limit"]);
    await expectError(call({ agent_id: agent.id, offset: -1 }), 422, `${name} offset=-1`, ["query", "offset"]);
    await expectError(call({ agent_id: "agt_doesNotExist0000000000" }), 404, `${name} unknown agent`);
  }
});

await step("numbers.getMessages and calls.listCallsForNumber", async () => {
  const n = need(num3, "third number");
  const msgs = await client.numbers.getMessages({ number_id: n.id });
  deepEqual(msgs.data, [], "getMessages: data");
  equal(msgs.hasMore, false, "getMessages: hasMore");
  const since = await client.numbers.getMessages({ number_id: n.id, limit: 10, after: "2025-01-15T10:30:00Z" });
  deepEqual([since.data, since.hasMore], [[], false], "getMessages limit=10 after=…");
  await expectError(client.numbers.getMessages({ number_id: n.id, limit: 201 }), 422, "getMessages limit=201", ["query", "limit"]);
  await expectError(client.numbers.getMessages({ number_id: "num_doesNotExist0000000000" }), 404, "getMessages unknown number");

  const calls = await client.calls.listCallsForNumber({ number_id: n.id });
  deepEqual([calls?.data, calls?.hasMore, calls?.total], [[], false, 0], "listCallsForNumber: empty list (§8.4)");
  const paged = await client.calls.listCallsForNumber({ number_id: n.id, limit: 1, offset: 0 });
  deepEqual([paged?.data, paged?.hasMore, paged?.total], [[], false, 0], "listCallsForNumber limit=1");
  await expectError(client.calls.listCallsForNumber({ number_id: "num_doesNotExist0000000000" }), 404, "listCallsForNumber unknown number");
});

await step("numbers.deleteNumber releases; getNumber still resolves it", async () => {
  const n = need(num2, "second number");
  const res = await client.numbers.deleteNumber({ number_id: n.id });
  deepEqual(res, { ...res, success: true, phoneNumber: n.phoneNumber, status: "released" }, "deleteNumber response (§3.5)");
  const got = await client.numbers.getNumber({ number_id: n.id });
  deepEqual(pick(got, numberKeys), { ...pick(n, numberKeys), status: "released" }, "getNumber after release: status released, rest unchanged");
  const list = await client.numbers.listNumbers();
  ok(!ids(list.data).includes(n.id), "listNumbers no longer has the released number");
  equal(list.total, 2, "listNumbers total after release");
  await expectError(client.numbers.deleteNumber({ number_id: n.id }), 400, "deleteNumber twice (§3.5, §20.5)");
  await expectError(client.agents.attachNumberToAgent({ agent_id: need(full, "full agent").id, numberId: n.id }), 400,
    "attach a released number (§20.5)");
  deepEqual((await client.numbers.getMessages({ number_id: n.id })).data, [], "getMessages on a released number still answers");
  await expectError(client.numbers.deleteNumber({ number_id: "num_doesNotExist0000000000" }), 404, "deleteNumber unknown");
});

await step("webhooks: get (null) → create → rotate → delete", async () => {
  equal(await client.webhooks.getWebhook(), null, "getWebhook before any: JSON null (§9.2)");
  const w1 = await client.webhooks.createOrUpdateWebhook({ body: { url: "https://hooks.example.com/agentphone" } });
  checkWebhook(w1, "createOrUpdateWebhook");
  equal(w1.url, "https://hooks.example.com/agentphone", "createOrUpdateWebhook: url");
  equal(w1.contextLimit, 10, "createOrUpdateWebhook: contextLimit default (§9.3)");
  equal(w1.timeout, 30, "createOrUpdateWebhook: timeout default (§9.3)");
  deepEqual(await client.webhooks.getWebhook(), w1, "getWebhook after create");

  const w2 = await client.webhooks.createOrUpdateWebhook({
    body: { url: "https://hooks.example.com/v2", contextLimit: 5, timeout: 60 },
  });
  checkWebhook(w2, "createOrUpdateWebhook again");
  equal(w2.id, w1.id, "createOrUpdateWebhook again: id is stable (upsert)");
  notEqual(w2.secret, w1.secret, "createOrUpdateWebhook again: secret rotates (§9.3)");
  deepEqual([w2.url, w2.contextLimit, w2.timeout], ["https://hooks.example.com/v2", 5, 60], "createOrUpdateWebhook again: url, contextLimit, timeout");
  deepEqual(await client.webhooks.getWebhook(), w2, "getWebhook after update");

  await expectError(client.webhooks.createOrUpdateWebhook({ body: { url: "https://hooks.example.com/x", contextLimit: 51 } }), 422,
    "createOrUpdateWebhook contextLimit 51", ["body", "contextLimit"]);
  await expectError(client.webhooks.createOrUpdateWebhook({ body: { url: "https://hooks.example.com/x", timeout: 4 } }), 422,
    "createOrUpdateWebhook timeout 4", ["body", "timeout"]);
  await expectError(client.webhooks.createOrUpdateWebhook({ body: {} }), 422, "createOrUpdateWebhook without url", ["body", "url"]);
  await expectError(client.webhooks.createOrUpdateWebhook({ body: { url: "not a url" } }), 422, "createOrUpdateWebhook url that is not a URI",
    ["body", "url"]);
  deepEqual(await client.webhooks.getWebhook(), w2, "rejected updates leave the webhook as it was");
  // null contextLimit/timeout mean the defaults (§0.2), also on an update.
  const w3 = await client.webhooks.createOrUpdateWebhook({ body: { url: "https://hooks.example.com/v3", contextLimit: null, timeout: null } });
  deepEqual([w3.id, w3.url, w3.contextLimit, w3.timeout], [w1.id, "https://hooks.example.com/v3", 10, 30],
    "createOrUpdateWebhook with null contextLimit and timeout: defaults");

  const del = await client.webhooks.deleteWebhook();
  equal(del?.success, true, `deleteWebhook: {"success": true} (§9.4), got ${JSON.stringify(del)}`);
  equal(await client.webhooks.getWebhook(), null, "getWebhook after delete: null");
});

await step("agentWebhooks: get (null) → create → rotate → delete", async () => {
  const agent = await client.agents.getAgent({ agent_id: need(full, "full agent").id });
  equal(await client.agentWebhooks.getAgentWebhook({ agent_id: agent.id }), null, "getAgentWebhook before any: null (§10.1)");
  const w1 = await client.agentWebhooks.createOrUpdateAgentWebhook({
    agent_id: agent.id,
    body: { url: "https://hooks.example.com/agent", contextLimit: 0 },
  });
  checkWebhook(w1, "createOrUpdateAgentWebhook");
  deepEqual([w1.url, w1.contextLimit, w1.timeout], ["https://hooks.example.com/agent", 0, 30], "createOrUpdateAgentWebhook: url, contextLimit, timeout");
  deepEqual(await client.agentWebhooks.getAgentWebhook({ agent_id: agent.id }), w1, "getAgentWebhook after create");
  equal(await client.webhooks.getWebhook(), null, "an agent webhook is not the project webhook");
  equal(await client.agentWebhooks.getAgentWebhook({ agent_id: need(minimal, "minimal agent").id }), null,
    "another agent has no webhook");

  const w2 = await client.agentWebhooks.createOrUpdateAgentWebhook({
    agent_id: agent.id,
    body: { url: "https://hooks.example.com/agent2", timeout: 120 },
  });
  checkWebhook(w2, "createOrUpdateAgentWebhook again");
  equal(w2.id, w1.id, "createOrUpdateAgentWebhook again: id is stable");
  notEqual(w2.secret, w1.secret, "createOrUpdateAgentWebhook again: secret rotates (§10.2)");
  deepEqual([w2.url, w2.timeout], ["https://hooks.example.com/agent2", 120], "createOrUpdateAgentWebhook again: url, timeout");
  await expectError(client.agentWebhooks.createOrUpdateAgentWebhook({ agent_id: agent.id, body: { url: "https://h.example.com", timeout: 121 } }),
    422, "createOrUpdateAgentWebhook timeout 121", ["body", "timeout"]);
  await expectError(client.agentWebhooks.createOrUpdateAgentWebhook({ agent_id: "agt_doesNotExist0000000000", body: { url: "https://h.example.com" } }),
    404, "createOrUpdateAgentWebhook unknown agent");

  const del = await client.agentWebhooks.deleteAgentWebhook({ agent_id: agent.id });
  equal(del?.success, true, `deleteAgentWebhook: {"success": true} (§10.3), got ${JSON.stringify(del)}`);
  equal(await client.agentWebhooks.getAgentWebhook({ agent_id: agent.id }), null, "getAgentWebhook after delete: null");
  deepEqual(await client.agents.getAgent({ agent_id: agent.id }), agent, "the agent itself is untouched by its webhook's life");
});

await step("X-Sub-Account-Id: a sub-account sees only its own agents", async () => {
  const s = await client.subAccounts.createSubAccount({ name: "Sub Account One" });
  subAccount = s;
  hasKeys(s, ["id", "name", "createdAt"], "createSubAccount");
  match(s.id, /^\S+$/, "createSubAccount: id");
  equal(s.name, "Sub Account One", "createSubAccount: name");
  timestamp(s.createdAt, "createSubAccount: createdAt");

  const header = { "X-Sub-Account-Id": s.id };
  const empty = await client.agents.listAgents({ ...header });
  deepEqual([empty.data, empty.total], [[], 0], "listAgents in a new sub-account: empty");

  const a = await client.agents.createAgent({ name: "Sub Agent", ...header });
  subAgent = a;
  checkAgent(a, "createAgent in sub-account");
  subset(a, { name: "Sub Agent", ...agentDefaults }, "createAgent in sub-account");

  const sub = await client.agents.listAgents({ ...header });
  deepEqual(ids(sub.data), [a.id], "listAgents with X-Sub-Account-Id: only the sub-account's agent");
  equal(sub.total, 1, "listAgents with X-Sub-Account-Id: total");
  deepEqual(await client.agents.getAgent({ agent_id: a.id, ...header }), a, "getAgent with X-Sub-Account-Id");

  const master = await client.agents.listAgents();
  ok(!ids(master.data).includes(a.id), "listAgents without the header: no sub-account agent");
  equal(master.total, 2, "listAgents without the header: total unchanged");
  await expectError(client.agents.getAgent({ agent_id: a.id }), 404, "getAgent of a sub-account agent without the header");
  await expectError(client.agents.getAgent({ agent_id: need(minimal, "minimal agent").id, ...header }), 404,
    "getAgent of a master agent with the sub-account header");

  const nums = await client.numbers.listNumbers({ ...header });
  deepEqual([nums.data, nums.total], [[], 0], "listNumbers in the sub-account: empty");
  await expectError(client.numbers.getNumber({ number_id: need(num1, "first number").id }, { headers: header }), 404,
    "getNumber of a master number with the sub-account header");
  await expectError(client.agents.attachNumberToAgent({ agent_id: a.id, numberId: num1.id }, { headers: header }), 404,
    "attach a master number to a sub-account agent (§2.11: same account only)");
  // §1.3: the header is honoured on operations whose SDK method does not expose it.
  equal(await client.agentWebhooks.getAgentWebhook({ agent_id: a.id }, { headers: header }), null,
    "getAgentWebhook of the sub-account agent with the header (request option)");
  await expectError(client.agentWebhooks.getAgentWebhook({ agent_id: a.id }), 404, "getAgentWebhook of the sub-account agent without the header");
  // A number is held by one account at a time: the sub-account gets another one.
  const subNum = await client.numbers.createNumber({ country: "CA", areaCode: "604", ...header });
  checkNumber(subNum, "createNumber in the sub-account");
  notEqual(subNum.phoneNumber, need(num3, "third number").phoneNumber, "createNumber in the sub-account: not the master's held number");
  deepEqual(ids((await client.numbers.listNumbers({ ...header })).data), [subNum.id], "listNumbers in the sub-account");
  ok(!ids((await client.numbers.listNumbers()).data).includes(subNum.id), "listNumbers of the master: not the sub-account's number");
  equal((await client.numbers.deleteNumber({ number_id: subNum.id, ...header }))?.status, "released", "deleteNumber in the sub-account");

  // Project webhooks are per (sub-)account (§1.3: sub-accounts are fully isolated).
  const masterHook = await client.webhooks.createOrUpdateWebhook({ body: { url: "https://hooks.example.com/master" } });
  equal(await client.webhooks.getWebhook({ ...header }), null, "getWebhook in the sub-account while the master has one: null");
  const subHook = await client.webhooks.createOrUpdateWebhook({ body: { url: "https://hooks.example.com/sub" }, ...header });
  checkWebhook(subHook, "createOrUpdateWebhook in the sub-account");
  notEqual(subHook.id, masterHook.id, "the sub-account's webhook is a webhook of its own");
  deepEqual(await client.webhooks.getWebhook(), masterHook, "the master's webhook is unchanged by the sub-account's");
  deepEqual(await client.webhooks.getWebhook({ ...header }), subHook, "getWebhook in the sub-account");
  equal((await client.webhooks.deleteWebhook({ headers: header }))?.success, true, "deleteWebhook in the sub-account");
  deepEqual(await client.webhooks.getWebhook(), masterHook, "the master's webhook survives the sub-account's delete");
  equal((await client.webhooks.deleteWebhook())?.success, true, "deleteWebhook of the master");
  equal(await client.webhooks.getWebhook(), null, "getWebhook of the master after delete");

  await expectError(client.agents.listAgents({ "X-Sub-Account-Id": "acct_doesNotExist0000000000" }), 404,
    "listAgents with an unknown X-Sub-Account-Id (§20.21)");
});

await step("agents.deleteAgent: numbers stay, agent is gone", async () => {
  const agent = need(minimal, "minimal agent");
  const n = need(num3, "third number");
  const res = await client.agents.deleteAgent({ agent_id: agent.id });
  deepEqual(res, { success: true, id: agent.id, name: agent.name }, "deleteAgent response (§2.10)");
  await expectError(client.agents.getAgent({ agent_id: agent.id }), 404, "getAgent after delete");
  await expectError(client.agents.deleteAgent({ agent_id: agent.id }), 404, "deleteAgent twice");
  const got = await client.numbers.getNumber({ number_id: n.id });
  deepEqual(pick(got, numberKeys), { ...pick(n, numberKeys), agentId: null }, "the deleted agent's number stays active with agentId null (§2.10)");
  const list = await client.agents.listAgents();
  deepEqual(ids(list.data), [need(full, "full agent").id], "listAgents after delete");
  equal(list.total, 1, "listAgents total after delete");

  if (subAgent) {
    const r = await client.agents.deleteAgent({ agent_id: subAgent.id, "X-Sub-Account-Id": subAccount.id });
    deepEqual(r, { success: true, id: subAgent.id, name: subAgent.name }, "deleteAgent in the sub-account");
  }
});

await finish();
