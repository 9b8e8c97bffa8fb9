// End-to-end check of messaging on the agentphone server with the official
// AgentPhone TypeScript SDK (npm package agentphone, pinned to 1.0.17 in
// package.json).
//
// Two agents with a sandbox number each text each other through the SDK
// (messages.sendMessage); the script then reads the conversations both sides
// got (conversations.*, numbers.getMessages, agents.listAgentConversations),
// stores and clears conversation metadata, simulates a customer texting in
// (POST /sandbox/v1/numbers/{id}/inbound, our addition, not in the SDK),
// manages contacts, and checks the SDK's errors (422, 404, 409, 400, 401).
// It asserts the fields and values documented in shared/spec/API.md (§1.4,
// §1.7, §1.8, §2.13, §4, §5, §6, §20).
//
// Usage:
//
//	AGENTPHONE_BASE_URL=http://127.0.0.1:8080 AGENTPHONE_API_KEY=sk_live_… \
//	    node messaging.mjs
//
// The server must be fresh (no agents, numbers, conversations or contacts in
// the default account) and give out sandbox numbers: list totals are asserted
// exactly. e2e/e2e_test.go starts one.
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
  messages: ["sendMessage"],
  conversations: ["listConversations", "getConversation", "updateConversation", "getConversationMessages"],
  contacts: ["listContacts", "createContact", "getContact", "updateContact", "deleteContact"],
  numbers: ["createNumber", "getMessages"],
  agents: ["createAgent", "attachNumberToAgent", "listAgentConversations"],
};
const client = trackedClient(apiKey, required);

// sandbox calls one of our sandbox routes (not in the SDK) with plain fetch
// and the same bearer key, through the recording fetch. It returns the
// status and the parsed JSON body (undefined when there is none).
async function sandbox(method, path, body) {
  const res = await recordingFetch(new URL(path, baseUrl).href, {
    method,
    headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json };
}

// ---------------------------------------------------------------------------
// Expected shapes (§4.1, §4.3, §5.1, §5.3, §2.13, §6.1).

// SendMessageResponse (§4.3, snake_case); error_message is our addition.
const sendKeys = [
  "id", "status", "channel", "from_number", "to_number", "conversation_id", "media_urls", "reply_to_message_id",
  "reply_parent_unresolved", "error_message",
];
// MessageResponse, items of GET /v1/numbers/{id}/messages (§4.1 a).
const numberMessageKeys = ["id", "from_", "to", "body", "direction", "channel", "receivedAt"];
// MessageInConversation (§4.1 b).
const convMessageKeys = [
  "id", "body", "fromNumber", "toNumber", "direction", "senderIdentifier", "channel", "mediaUrl", "mediaUrls",
  "receivedAt", "reactions", "replyTo",
];
// Conversation summary (§5.1); the detail (§5.3) drops lastMessagePreview and adds messages.
const convKeys = [
  "id", "agentId", "phoneNumberId", "phoneNumber", "participant", "isGroup", "groupId", "groupName", "groupIconUrl",
  "participants", "lastMessageAt", "lastMessagePreview", "messageCount", "metadata", "createdAt",
];
const detailKeys = [...convKeys.filter((k) => k !== "lastMessagePreview"), "messages"];
// Agent conversation summary (§2.13): exactly these keys.
const agentConvKeys = [
  "id", "agentId", "phoneNumberId", "phoneNumber", "participant", "lastMessageAt", "lastMessagePreview",
  "messageCount", "createdAt",
];
const contactKeys = ["id", "phoneNumber", "name", "email", "notes", "createdAt", "updatedAt"];

// Sandbox numbers are fictional: +1, an area code, then 555-01xx.
const sandboxNumber = /^\+1[2-9]\d\d55501\d\d$/;

// Phones outside this server: never a sandbox number (not 555-01xx).
const customer = "+14155552671";
const customerNational = "(415) 555-2671";
const otherPhone = "+16175552368";

const missingConversation = "conv_doesNotExist0000000000";
const missingContact = "contact_doesNotExist0000000000";

const label = "https://cdn.example.com/label.png";

function checkSent(m, what) {
  hasKeys(m, sendKeys, what);
  match(m.id, /^msg_\S+$/, `${what}: id starts with msg_ (§1.6)`);
  equal(m.status, "delivered", `${what}: status of a text between sandbox numbers`);
  match(m.conversation_id, /^conv_\S+$/, `${what}: conversation_id starts with conv_ (§1.6)`);
  equal(m.error_message, null, `${what}: error_message`);
}

function checkNumberMessage(m, what) {
  hasKeys(m, numberMessageKeys, what);
  match(m.id, /^msg_\S+$/, `${what}: id`);
  timestamp(m.receivedAt, `${what}: receivedAt`);
}

function checkConvMessage(m, what) {
  hasKeys(m, convMessageKeys.filter((k) => k !== "senderIdentifier"), what);
  ok("senderIdentifier" in m, `${what}: senderIdentifier missing`);
  match(m.id, /^msg_\S+$/, `${what}: id`);
  timestamp(m.receivedAt, `${what}: receivedAt`);
  deepEqual(m.reactions, [], `${what}: reactions of an SMS/MMS message`);
  equal(m.replyTo, null, `${what}: replyTo of an SMS/MMS message`);
  equal(m.senderIdentifier ?? null, null, `${what}: senderIdentifier of a 1:1 chat`);
  if (m.mediaUrls?.length > 0) {
    equal(m.mediaUrl, m.mediaUrls[0], `${what}: mediaUrl is the first of mediaUrls`);
  } else {
    deepEqual([m.mediaUrl, m.mediaUrls], [null, []], `${what}: mediaUrl and mediaUrls without media`);
  }
}

// checkConversation checks a summary (detail false) or a detail (detail true).
function checkConversation(c, what, detail) {
  hasKeys(c, detail ? detailKeys : convKeys, what);
  match(c.id, /^conv_\S+$/, `${what}: id`);
  timestamp(c.lastMessageAt, `${what}: lastMessageAt`);
  timestamp(c.createdAt, `${what}: createdAt`);
  ok(c.createdAt <= c.lastMessageAt, `${what}: createdAt ${c.createdAt} after lastMessageAt ${c.lastMessageAt}`);
  deepEqual([c.isGroup, c.groupId, c.groupName, c.groupIconUrl], [false, null, null, null], `${what}: group fields of a 1:1 chat`);
  ok(c.participants === null || (Array.isArray(c.participants) && c.participants.length === 0),
    `${what}: participants of a 1:1 chat must be null or [], got ${JSON.stringify(c.participants)}`);
  if (detail) {
    ok(!("lastMessagePreview" in c), `${what}: the detail has no lastMessagePreview (§5.3)`);
    ok(Array.isArray(c.messages), `${what}: messages must be an array`);
    for (const m of c.messages) checkConvMessage(m, `${what}: messages[]`);
  } else {
    equal(typeof c.lastMessagePreview, "string", `${what}: lastMessagePreview`);
  }
}

function checkContact(c, what) {
  hasKeys(c, contactKeys, what);
  match(c.id, /^contact_\S+$/, `${what}: id starts with contact_ (§1.6)`);
  timestamp(c.createdAt, `${what}: createdAt`);
  timestamp(c.updatedAt, `${what}: updatedAt`);
}

// brief reduces a message (either representation) to what was said between whom.
function brief(m) {
  return [m.direction, m.fromNumber ?? m.from_, m.toNumber ?? m.to, m.body, m.channel];
}

// newestFirst checks that items are ordered by key descending.
function newestFirst(items, key, what) {
  const values = items.map((x) => x[key]);
  deepEqual(values, [...values].sort().reverse(), `${what}: newest first by ${key}`);
}

function ids(list) {
  return list.map((x) => x.id);
}

// pick returns the keys of obj listed in keys.
function pick(obj, keys) {
  return Object.fromEntries(keys.filter((k) => obj !== null && typeof obj === "object" && k in obj).map((k) => [k, obj[k]]));
}

// ---------------------------------------------------------------------------
// State shared by the steps.

let agentA;
let agentB;
let numA; // agent A's number, created with agentId
let numB; // agent B's number, attached after creation
let sent = []; // the four messages of the A–B exchange, in order (m1…m4)
let convA; // A's conversation with B's number
let convB; // B's conversation with A's number
let custConv; // A's conversation with the customer
let ada; // contact created with every field
let grace; // contact created with phone and name only

await step("auth: a wrong bearer token gets 401", async () => {
  const bad = newClient("sk_live_this_key_does_not_exist_0000");
  await expectError(bad.messages.sendMessage({ to_number: customer, body: "x" }), 401, "sendMessage with a wrong key");
  await expectError(bad.conversations.listConversations(), 401, "listConversations with a wrong key");
  await expectError(bad.contacts.listContacts(), 401, "listContacts with a wrong key");
});

await step("a fresh account has no conversations and no contacts", async () => {
  const convs = await client.conversations.listConversations();
  deepEqual([convs.data, convs.hasMore, convs.total], [[], false, 0], "listConversations: empty list");
  const contacts = await client.contacts.listContacts();
  deepEqual([contacts.data, contacts.hasMore, contacts.total], [[], false, 0], "listContacts: empty list");
});

await step("setup: two agents, a sandbox number each", async () => {
  agentA = await client.agents.createAgent({ name: "Messaging Agent A" });
  agentB = await client.agents.createAgent({ name: "Messaging Agent B" });
  match(agentA.id, /^\S+$/, "createAgent A: id");
  notEqual(agentB.id, agentA.id, "createAgent B: another id");

  numA = await client.numbers.createNumber({ agentId: agentA.id });
  match(numA.phoneNumber, sandboxNumber, "createNumber for A: a sandbox number");
  equal(numA.agentId, agentA.id, "createNumber with agentId: attached to A");

  const n = await client.numbers.createNumber();
  match(n.phoneNumber, sandboxNumber, "createNumber for B: a sandbox number");
  notEqual(n.phoneNumber, numA.phoneNumber, "B's number differs from A's");
  equal(n.agentId, null, "createNumber without agentId: unattached");
  const b = await client.agents.attachNumberToAgent({ agent_id: agentB.id, numberId: n.id });
  ok(b !== undefined, "attachNumberToAgent answers");
  numB = await client.numbers.getNumber({ number_id: n.id });
  equal(numB.agentId, agentB.id, "getNumber after attach: attached to B");
  deepEqual((await client.agents.getAgent({ agent_id: agentB.id })).numbers.map((x) => x.id), [numB.id], "getAgent B: numbers");
});

await step("messages.sendMessage: A texts B (agent_id), B answers (number_id), A again (from_number, MMS)", async () => {
  const a = need(numA, "A's number");
  const b = need(numB, "B's number");
  const agent = need(agentA, "agent A");

  // m1: the sender chosen by agent_id (the agent's first active number).
  const m1 = await client.messages.sendMessage({ agent_id: agent.id, to_number: b.phoneNumber, body: "Hello B, this is A." });
  checkSent(m1, "sendMessage m1 (agent_id)");
  deepEqual(
    [m1.channel, m1.from_number, m1.to_number, m1.media_urls, m1.reply_to_message_id, m1.reply_parent_unresolved],
    ["sms", a.phoneNumber, b.phoneNumber, [], null, null],
    "sendMessage m1: channel, from_number, to_number, media_urls, reply fields",
  );

  // m2: the sender chosen by number_id.
  const m2 = await client.messages.sendMessage({ number_id: b.id, to_number: a.phoneNumber, body: "Hi A, B here. 👋" });
  checkSent(m2, "sendMessage m2 (number_id)");
  deepEqual([m2.channel, m2.from_number, m2.to_number], ["sms", b.phoneNumber, a.phoneNumber], "sendMessage m2: channel, from, to");
  notEqual(m2.conversation_id, m1.conversation_id, "B's side of the chat is B's own conversation");

  // m3: from_number chosen exactly; to_number written nationally is normalised (§4.3).
  const national = `(${b.phoneNumber.slice(2, 5)}) ${b.phoneNumber.slice(5, 8)}-${b.phoneNumber.slice(8)}`;
  const m3 = await client.messages.sendMessage({ from_number: a.phoneNumber, to_number: national, body: "Are you free at 3pm?" });
  checkSent(m3, "sendMessage m3 (from_number)");
  deepEqual([m3.channel, m3.from_number, m3.to_number], ["sms", a.phoneNumber, b.phoneNumber], `sendMessage m3: to_number ${national} normalised to E.164`);
  equal(m3.conversation_id, m1.conversation_id, "sendMessage m3: the same conversation as m1");

  // m4: an attachment makes it MMS.
  const m4 = await client.messages.sendMessage({ agent_id: agent.id, to_number: b.phoneNumber, body: "Here is the label.", media_urls: [label] });
  checkSent(m4, "sendMessage m4 (media_urls)");
  deepEqual([m4.channel, m4.media_urls, m4.conversation_id], ["mms", [label], m1.conversation_id], "sendMessage m4: channel mms, media_urls, conversation");
  ok(new Set([m1.id, m2.id, m3.id, m4.id]).size === 4, "every send has a new message id");
  sent = [m1, m2, m3, m4];
});

// The A–B exchange as each number saw it, oldest first (brief()).
function exchangeOnA() {
  const a = numA.phoneNumber;
  const b = numB.phoneNumber;
  return [
    ["outbound", a, b, "Hello B, this is A.", "sms"],
    ["inbound", b, a, "Hi A, B here. 👋", "sms"],
    ["outbound", a, b, "Are you free at 3pm?", "sms"],
    ["outbound", a, b, "Here is the label.", "mms"],
  ];
}

function exchangeOnB() {
  return exchangeOnA().map(([dir, from, to, body, channel]) => [dir === "inbound" ? "outbound" : "inbound", from, to, body, channel]);
}

await step("conversations.listConversations: A's and B's sides both exist (total 2)", async () => {
  need(sent[3], "the four messages");
  const res = await client.conversations.listConversations();
  equal(res.total, 2, "listConversations: total");
  equal(res.hasMore, false, "listConversations: hasMore");
  equal(res.data.length, 2, "listConversations: data length");
  newestFirst(res.data, "lastMessageAt", "listConversations (§5.2)");
  convA = res.data.find((c) => c.id === sent[0].conversation_id);
  convB = res.data.find((c) => c.id === sent[1].conversation_id);
  ok(convA, `listConversations: A's conversation ${sent[0].conversation_id} (conversation_id of the send) is listed`);
  ok(convB, `listConversations: B's conversation ${sent[1].conversation_id} is listed`);
  checkConversation(convA, "A's conversation", false);
  checkConversation(convB, "B's conversation", false);
  deepEqual(
    pick(convA, ["agentId", "phoneNumberId", "phoneNumber", "participant", "lastMessagePreview", "messageCount", "metadata"]),
    {
      agentId: agentA.id, phoneNumberId: numA.id, phoneNumber: numA.phoneNumber, participant: numB.phoneNumber,
      lastMessagePreview: "Here is the label.", messageCount: 4, metadata: null,
    },
    "A's conversation: agent, number, participant, preview, count, metadata",
  );
  deepEqual(
    pick(convB, ["agentId", "phoneNumberId", "phoneNumber", "participant", "lastMessagePreview", "messageCount", "metadata"]),
    {
      agentId: agentB.id, phoneNumberId: numB.id, phoneNumber: numB.phoneNumber, participant: numA.phoneNumber,
      lastMessagePreview: "Here is the label.", messageCount: 4, metadata: null,
    },
    "B's conversation: agent, number, participant, preview, count, metadata",
  );

  const page = await client.conversations.listConversations({ offset: 1 });
  deepEqual([ids(page.data), page.total, page.hasMore], [[res.data[1].id], 2, false], "listConversations offset=1");
  const first = await client.conversations.listConversations({}, { queryParams: { limit: 1 } });
  deepEqual([ids(first.data), first.total, first.hasMore], [[res.data[0].id], 2, true], "listConversations limit=1 (§19.1: accept limit)");
  const beyond = await client.conversations.listConversations({ offset: 5 });
  deepEqual([beyond.data, beyond.total, beyond.hasMore], [[], 2, false], "listConversations offset past the end");
  await expectError(client.conversations.listConversations({ offset: -1 }), 422, "listConversations offset=-1", ["query", "offset"]);
  await expectError(client.conversations.listConversations({}, { queryParams: { limit: 101 } }), 422, "listConversations limit=101",
    ["query", "limit"]);
});

await step("conversations.getConversation: detail with its messages", async () => {
  const c = need(convA, "A's conversation");
  const d = await client.conversations.getConversation({ conversation_id: c.id });
  checkConversation(d, "getConversation A", true);
  const { lastMessagePreview, ...rest } = c;
  deepEqual(pick(d, convKeys), rest, "getConversation: every summary field but lastMessagePreview is the list's");
  equal(d.messages.length, 4, "getConversation: the 4 messages");
  // §20.3: the detail returns its last message_limit messages oldest → newest.
  deepEqual(d.messages.map(brief).sort(), exchangeOnA().sort(), "getConversation A: the 4 messages of the exchange");
  deepEqual(d.messages.map(brief), exchangeOnA(), "getConversation A: messages oldest → newest (§20.3)");
  const outbound = d.messages.filter((m) => m.direction === "outbound").map((m) => m.id);
  deepEqual(outbound.sort(), [sent[0].id, sent[2].id, sent[3].id].sort(), "getConversation A: outbound messages carry the ids sendMessage returned");
  const mms = d.messages.find((m) => m.body === "Here is the label.");
  deepEqual([mms?.mediaUrls, mms?.mediaUrl], [[label], label], "getConversation A: the MMS message's mediaUrls and mediaUrl");

  const dB = await client.conversations.getConversation({ conversation_id: need(convB, "B's conversation").id });
  checkConversation(dB, "getConversation B", true);
  deepEqual(dB.messages.map(brief).sort(), exchangeOnB().sort(), "getConversation B: the same exchange seen from B");
  deepEqual(dB.messages.map(brief), exchangeOnB(), "getConversation B: oldest → newest");
  deepEqual(dB.messages.filter((m) => m.direction === "outbound").map((m) => m.id), [sent[1].id], "getConversation B: B's own send");
  ok(dB.messages.filter((m) => m.direction === "inbound").every((m) => !sent.some((s) => s.id === m.id)),
    "getConversation B: a delivered copy is a message of its own (new id)");

  const two = await client.conversations.getConversation({ conversation_id: c.id, message_limit: 2 });
  deepEqual(two.messages.map(brief).sort(), exchangeOnA().slice(2).sort(), "getConversation message_limit=2: the last two");
  deepEqual(two.messages.map(brief), exchangeOnA().slice(2), "getConversation message_limit=2: oldest → newest");
  equal(two.messageCount, 4, "getConversation message_limit=2: messageCount still counts them all");
  await expectError(client.conversations.getConversation({ conversation_id: c.id, message_limit: 101 }), 422,
    "getConversation message_limit=101", ["query", "message_limit"]);
  await expectError(client.conversations.getConversation({ conversation_id: c.id, message_limit: 0 }), 422,
    "getConversation message_limit=0", ["query", "message_limit"]);
});

await step("conversations.updateConversation: metadata replaced, read back, cleared with null", async () => {
  const c = need(convA, "A's conversation");
  const meta = {
    customer: { name: "Ada", tier: "gold" },
    orderId: "ord_123",
    tags: ["vip", "ünïcödé 🤖"],
    count: 3,
    ratio: 0.5,
    ok: true,
    nothing: null,
  };
  const u = await client.conversations.updateConversation({ conversation_id: c.id, metadata: meta });
  checkConversation(u, "updateConversation", true);
  deepEqual(u.metadata, meta, "updateConversation: metadata echoed");
  deepEqual(u.messages.map(brief).sort(), exchangeOnA().sort(), "updateConversation: the response carries the messages (§5.4)");
  deepEqual(u.messages.map(brief), exchangeOnA(), "updateConversation: messages oldest → newest");
  deepEqual([u.lastMessageAt, u.messageCount, u.participant], [c.lastMessageAt, c.messageCount, c.participant],
    "updateConversation: metadata is not activity (lastMessageAt, messageCount unchanged)");
  deepEqual((await client.conversations.getConversation({ conversation_id: c.id })).metadata, meta, "getConversation: metadata read back");
  const listed = (await client.conversations.listConversations()).data.find((x) => x.id === c.id);
  deepEqual(listed?.metadata, meta, "listConversations: metadata in the summary");
  equal((await client.conversations.getConversation({ conversation_id: need(convB, "B's conversation").id })).metadata, null,
    "B's conversation keeps its own (null) metadata");

  const r = await client.conversations.updateConversation({ conversation_id: c.id, metadata: { step: 2 } });
  deepEqual(r.metadata, { step: 2 }, "updateConversation again: metadata replaced entirely, not merged (§5.4)");

  const g = await client.conversations.updateConversation({ conversation_id: c.id, group_name: "Renamed" });
  deepEqual([g.metadata, g.groupName], [{ step: 2 }, null], "updateConversation group_name only: metadata untouched, 1:1 chat not renamed");
  const e = await client.conversations.updateConversation({ conversation_id: c.id });
  deepEqual(e.metadata, { step: 2 }, "updateConversation with an empty body: metadata untouched");

  await expectError(client.conversations.updateConversation({ conversation_id: c.id, metadata: "not an object" }), 422,
    "updateConversation metadata string", ["body", "metadata"]);
  await expectError(client.conversations.updateConversation({ conversation_id: c.id, metadata: [1, 2] }), 422,
    "updateConversation metadata array", ["body", "metadata"]);
  deepEqual((await client.conversations.getConversation({ conversation_id: c.id })).metadata, { step: 2 },
    "rejected updates leave the metadata as it was");

  const cleared = await client.conversations.updateConversation({ conversation_id: c.id, metadata: null });
  equal(cleared.metadata, null, "updateConversation metadata=null: cleared");
  equal((await client.conversations.getConversation({ conversation_id: c.id })).metadata, null, "getConversation after clearing: null");
  const empty = await client.conversations.updateConversation({ conversation_id: c.id, metadata: {} });
  deepEqual(empty.metadata, {}, "updateConversation metadata={}: an empty object is stored as such");
  equal((await client.conversations.updateConversation({ conversation_id: c.id, metadata: null })).metadata, null, "cleared again");
});

await step("conversations.getConversationMessages: limit, then page with before", async () => {
  const c = need(convA, "A's conversation");
  const all = exchangeOnA();
  const p1 = await client.conversations.getConversationMessages({ conversation_id: c.id, limit: 2 });
  deepEqual(Object.keys(p1).sort(), ["data", "hasMore"], "getConversationMessages: {data, hasMore} (§5.5)");
  for (const m of p1.data) checkConvMessage(m, "getConversationMessages item");
  deepEqual(p1.data.map(brief), [all[3], all[2]], "getConversationMessages limit=2: the two newest, newest first (§20.3)");
  deepEqual(ids(p1.data), [sent[3].id, sent[2].id], "getConversationMessages limit=2: ids");
  equal(p1.hasMore, true, "getConversationMessages limit=2: hasMore");

  const p2 = await client.conversations.getConversationMessages({ conversation_id: c.id, limit: 2, before: p1.data.at(-1).receivedAt });
  deepEqual(p2.data.map(brief), [all[1], all[0]], "getConversationMessages before=<last receivedAt>: the next two, newest first");
  equal(p2.hasMore, false, "getConversationMessages second page: hasMore");
  deepEqual(new Set([...ids(p1.data), ...ids(p2.data)]).size, 4, "the two pages share no message");

  const p3 = await client.conversations.getConversationMessages({ conversation_id: c.id, before: p2.data.at(-1).receivedAt });
  deepEqual([p3.data, p3.hasMore], [[], false], "getConversationMessages before the oldest: empty (before is exclusive)");
  const newer = await client.conversations.getConversationMessages({ conversation_id: c.id, after: p1.data[0].receivedAt });
  deepEqual([newer.data, newer.hasMore], [[], false], "getConversationMessages after the newest: empty (after is exclusive)");
  const since = await client.conversations.getConversationMessages({ conversation_id: c.id, after: p2.data.at(-1).receivedAt });
  deepEqual(since.data.map(brief).sort(), all.slice(1).sort(), "getConversationMessages after the oldest: the three newer ones");
  const whole = await client.conversations.getConversationMessages({ conversation_id: c.id });
  deepEqual([whole.data.map(brief), whole.hasMore], [[...all].reverse(), false], "getConversationMessages without a cursor: all, newest first");

  await expectError(client.conversations.getConversationMessages({ conversation_id: c.id, limit: 201 }), 422,
    "getConversationMessages limit=201", ["query", "limit"]);
  await expectError(client.conversations.getConversationMessages({ conversation_id: c.id, limit: 0 }), 422,
    "getConversationMessages limit=0", ["query", "limit"]);
  await expectError(client.conversations.getConversationMessages({ conversation_id: c.id, before: "yesterday" }), 422,
    "getConversationMessages before=yesterday", ["query", "before"]);
});

await step("numbers.getMessages: each number's side of the exchange", async () => {
  const a = need(numA, "A's number");
  const b = need(numB, "B's number");
  need(sent[3], "the four messages");
  const onA = await client.numbers.getMessages({ number_id: a.id });
  deepEqual(Object.keys(onA).sort(), ["data", "hasMore"], "getMessages: {data, hasMore} (§4.2)");
  for (const m of onA.data) checkNumberMessage(m, "getMessages A item");
  deepEqual(onA.data.map(brief), [...exchangeOnA()].reverse(), "getMessages A: the exchange, newest first, with from_ (§4.1 a)");
  equal(onA.hasMore, false, "getMessages A: hasMore");
  deepEqual(onA.data.filter((m) => m.direction === "outbound").map((m) => m.id), [sent[3].id, sent[2].id, sent[0].id],
    "getMessages A: outbound ids are sendMessage's");
  newestFirst(onA.data, "receivedAt", "getMessages A");

  const onB = await client.numbers.getMessages({ number_id: b.id });
  deepEqual(onB.data.map(brief), [...exchangeOnB()].reverse(), "getMessages B: A's texts arrived inbound on B's number");
  equal(onB.hasMore, false, "getMessages B: hasMore");

  const p1 = await client.numbers.getMessages({ number_id: a.id, limit: 3 });
  deepEqual([ids(p1.data), p1.hasMore], [ids(onA.data).slice(0, 3), true], "getMessages limit=3");
  const p2 = await client.numbers.getMessages({ number_id: a.id, limit: 3, before: p1.data.at(-1).receivedAt });
  deepEqual([ids(p2.data), p2.hasMore], [ids(onA.data).slice(3), false], "getMessages limit=3 before=<last receivedAt>");
  const after = await client.numbers.getMessages({ number_id: a.id, after: onA.data[0].receivedAt });
  deepEqual([after.data, after.hasMore], [[], false], "getMessages after the newest: empty");
  await expectError(client.numbers.getMessages({ number_id: a.id, after: "not a time" }), 422, "getMessages after=not a time",
    ["query", "after"]);
});

await step("agents.listAgentConversations: each agent sees its own", async () => {
  const a = need(convA, "A's conversation");
  const b = need(convB, "B's conversation");
  const resA = await client.agents.listAgentConversations({ agent_id: agentA.id });
  deepEqual([ids(resA.data), resA.total, resA.hasMore], [[a.id], 1, false], "listAgentConversations A");
  deepEqual(Object.keys(resA.data[0]).sort(), [...agentConvKeys].sort(), "listAgentConversations item: exactly the §2.13 keys");
  const { lastMessageAt, createdAt, ...fixed } = pick(a, agentConvKeys);
  deepEqual(pick(resA.data[0], Object.keys(fixed)), fixed, "listAgentConversations A item: the same values as listConversations");
  timestamp(resA.data[0].lastMessageAt, "listAgentConversations item: lastMessageAt");
  const resB = await client.agents.listAgentConversations({ agent_id: agentB.id });
  deepEqual([ids(resB.data), resB.total], [[b.id], 1], "listAgentConversations B");
  equal(resB.data[0].participant, numA.phoneNumber, "listAgentConversations B: participant is A's number");
  const none = await client.agents.listAgentConversations({ agent_id: agentA.id, limit: 1, offset: 1 });
  deepEqual([none.data, none.total, none.hasMore], [[], 1, false], "listAgentConversations limit=1 offset=1");
});

await step("sandbox: a customer texts A's number; the conversations grow", async () => {
  const a = need(numA, "A's number");
  const res = await sandbox("POST", `/sandbox/v1/numbers/${a.id}/inbound`, { from: customer, body: "Hi, is my order ready?" });
  equal(res.status, 200, `POST /sandbox/v1/numbers/{id}/inbound: status, body ${JSON.stringify(res.body)}`);
  const m = res.body;
  deepEqual(pick(m, ["direction", "fromNumber", "toNumber", "body", "channel", "numberId", "status"]),
    { direction: "inbound", fromNumber: customer, toNumber: a.phoneNumber, body: "Hi, is my order ready?", channel: "sms", numberId: a.id, status: "received" },
    "sandbox inbound: the stored message");
  match(m.conversationId, /^conv_\S+$/, "sandbox inbound: conversationId");

  const list = await client.conversations.listConversations();
  equal(list.total, 3, "listConversations after a customer texted: total 3");
  custConv = list.data[0];
  equal(custConv?.id, m.conversationId, "listConversations: the customer's conversation has the latest activity, first");
  checkConversation(custConv, "the customer's conversation", false);
  deepEqual(
    pick(custConv, ["agentId", "phoneNumberId", "phoneNumber", "participant", "lastMessagePreview", "messageCount", "metadata"]),
    {
      agentId: agentA.id, phoneNumberId: a.id, phoneNumber: a.phoneNumber, participant: customer,
      lastMessagePreview: "Hi, is my order ready?", messageCount: 1, metadata: null,
    },
    "the customer's conversation: agent, number, participant, preview, count, metadata",
  );
  newestFirst(list.data, "lastMessageAt", "listConversations with three");

  // The same customer again, written nationally: the same conversation.
  const again = await sandbox("POST", `/sandbox/v1/numbers/${a.id}/inbound`, { from: customerNational, body: "Order ord_123." });
  equal(again.status, 200, `sandbox inbound from ${customerNational}: status, body ${JSON.stringify(again.body)}`);
  deepEqual([again.body?.fromNumber, again.body?.conversationId], [customer, custConv.id], "sandbox inbound: from normalised, same conversation");
  const d = await client.conversations.getConversation({ conversation_id: custConv.id });
  const texts = [
    ["inbound", customer, a.phoneNumber, "Hi, is my order ready?", "sms"],
    ["inbound", customer, a.phoneNumber, "Order ord_123.", "sms"],
  ];
  deepEqual(d.messages.map(brief).sort(), [...texts].sort(), "getConversation of the customer's: both texts");
  deepEqual(d.messages.map(brief), texts, "getConversation of the customer's: oldest → newest");
  equal(d.messageCount, 2, "the customer's conversation: messageCount");
  equal((await client.conversations.listConversations()).total, 3, "a second text from the same phone opens no conversation");

  // A answers through the SDK: delivered (a phone outside this server), in the same conversation.
  const reply = await client.messages.sendMessage({ number_id: a.id, to_number: customer, body: "Yes, it ships today." });
  checkSent(reply, "sendMessage to the customer");
  deepEqual([reply.from_number, reply.to_number, reply.conversation_id], [a.phoneNumber, customer, custConv.id],
    "sendMessage to the customer: from, to, conversation");
  const list2 = await client.conversations.listConversations();
  deepEqual([list2.total, list2.data[0].id, list2.data[0].messageCount, list2.data[0].lastMessagePreview],
    [3, custConv.id, 3, "Yes, it ships today."], "listConversations after the reply");
  const agentConvs = await client.agents.listAgentConversations({ agent_id: agentA.id });
  deepEqual([ids(agentConvs.data), agentConvs.total], [[custConv.id, convA.id], 2], "listAgentConversations A: the customer's first");
  equal((await client.agents.listAgentConversations({ agent_id: agentB.id })).total, 1, "listAgentConversations B: unchanged");
  const onA = await client.numbers.getMessages({ number_id: a.id, limit: 3 });
  deepEqual(onA.data.map(brief), [
    ["outbound", a.phoneNumber, customer, "Yes, it ships today.", "sms"],
    ["inbound", customer, a.phoneNumber, "Order ord_123.", "sms"],
    ["inbound", customer, a.phoneNumber, "Hi, is my order ready?", "sms"],
  ], "getMessages A: the customer's texts and the reply, newest first");
  equal(onA.data[0].id, reply.id, "getMessages A: the reply's id");
});

await step("sandbox inbound rejects bad input", async () => {
  const a = need(numA, "A's number");
  const noFrom = await sandbox("POST", `/sandbox/v1/numbers/${a.id}/inbound`, { body: "who am I?" });
  equal(noFrom.status, 422, `sandbox inbound without from: status, body ${JSON.stringify(noFrom.body)}`);
  checkValidationBody(noFrom.body, "sandbox inbound without from", ["body", "from"]);
  const badFrom = await sandbox("POST", `/sandbox/v1/numbers/${a.id}/inbound`, { from: "not a phone", body: "x" });
  equal(badFrom.status, 422, `sandbox inbound from "not a phone": status, body ${JSON.stringify(badFrom.body)}`);
  const unknown = await sandbox("POST", "/sandbox/v1/numbers/num_doesNotExist0000000000/inbound", { from: customer, body: "x" });
  deepEqual([unknown.status, typeof unknown.body?.detail], [404, "string"], "sandbox inbound to an unknown number: 404 with detail");
  equal((await client.conversations.listConversations()).total, 3, "rejected inbound texts open no conversation");
});

await step("messages.sendMessage: 422 for a missing body or to_number, and other bad input", async () => {
  const a = need(numA, "A's number");
  const b = need(numB, "B's number");
  const before = await client.numbers.getMessages({ number_id: a.id });

  await expectError(client.messages.sendMessage({ number_id: a.id, to_number: b.phoneNumber }), 422, "sendMessage without body",
    ["body", "body"]);
  await expectError(client.messages.sendMessage({ number_id: a.id, body: "to whom?" }), 422, "sendMessage without to_number",
    ["body", "to_number"]);
  await expectError(client.messages.sendMessage({ number_id: a.id, to_number: "not a phone", body: "x" }), 422,
    "sendMessage to_number that is not a phone", ["body", "to_number"]);
  await expectError(client.messages.sendMessage({ number_id: a.id, to_number: b.phoneNumber, body: "" }), 422,
    "sendMessage with an empty body and no media", ["body", "body"]);
  await expectError(client.messages.sendMessage({ number_id: a.id, to_number: b.phoneNumber, body: "x", media_urls: ["http://insecure.example.com/a.png"] }),
    422, "sendMessage with an http:// media URL", ["body", "media_urls", 0]);
  await expectError(client.messages.sendMessage({ number_id: a.id, to_number: b.phoneNumber, body: "x", send_style: "sparkles" }), 422,
    "sendMessage with an unknown send_style", ["body", "send_style"]);
  await expectError(client.messages.sendMessage({ number_id: a.id, to_number: b.phoneNumber, body: "x", media_url: label, media_urls: [label] }),
    422, "sendMessage with both media_url and media_urls");
  await expectError(client.messages.sendMessage({ number_id: a.id, to_number: b.phoneNumber, recipients: [customer, otherPhone], body: "x" }),
    422, "sendMessage with both to_number and recipients");
  await expectError(client.messages.sendMessage({ to_number: b.phoneNumber, body: "from whom?" }), 422,
    "sendMessage without from_number, number_id or agent_id");
  const both = await expectError(client.messages.sendMessage({ number_id: a.id }), 422, "sendMessage with neither body nor to_number",
    ["body", "body"]);
  ok(both.body.detail.some((d) => JSON.stringify(d.loc) === '["body","to_number"]'), "422 lists every bad field (§20.2)");

  // Sender problems the server finds by lookup.
  await expectError(client.messages.sendMessage({ number_id: "num_doesNotExist0000000000", to_number: b.phoneNumber, body: "x" }), 404,
    "sendMessage from an unknown number_id");
  await expectError(client.messages.sendMessage({ agent_id: "agt_doesNotExist0000000000", to_number: b.phoneNumber, body: "x" }), 404,
    "sendMessage from an unknown agent_id");
  await expectError(client.messages.sendMessage({ from_number: customer, to_number: b.phoneNumber, body: "x" }), 400,
    "sendMessage from_number not held by the account");
  await expectError(client.messages.sendMessage({ number_id: a.id, to_number: a.phoneNumber, body: "x" }), 400,
    "sendMessage from a number to itself");
  // iMessage-only features on an SMS line: a clear 400 (§4.3).
  await expectError(client.messages.sendMessage({ number_id: a.id, to_number: b.phoneNumber, body: "x", send_style: "confetti" }), 400,
    "sendMessage send_style on an SMS number");
  await expectError(client.messages.sendMessage({ number_id: a.id, recipients: [customer, otherPhone], body: "x" }), 400,
    "sendMessage recipients (a new group) on an SMS number");

  const after = await client.numbers.getMessages({ number_id: a.id });
  deepEqual(ids(after.data), ids(before.data), "rejected sends store no message");
  equal((await client.conversations.listConversations()).total, 3, "rejected sends open no conversation");
});

await step("messages.sendMessage: reply_to_message_id on SMS is sent unthreaded", async () => {
  const m1 = need(sent[0], "the first message");
  const r = await client.messages.sendMessage({ agent_id: agentA.id, to_number: numB.phoneNumber, body: "Following up.", reply_to_message_id: m1.id });
  checkSent(r, "sendMessage with reply_to_message_id");
  deepEqual([r.reply_to_message_id, r.reply_parent_unresolved, r.channel, r.conversation_id], [m1.id, true, "sms", m1.conversation_id],
    "sendMessage reply on SMS: echoed, reply_parent_unresolved true (§4.3), still sent");
  const d = await client.conversations.getConversation({ conversation_id: m1.conversation_id, message_limit: 1 });
  deepEqual([ids(d.messages), d.messages[0]?.replyTo, d.messageCount], [[r.id], null, 5], "getConversation: the reply is a plain message");
});

await step("404 for unknown conversations, numbers, agents and contacts", async () => {
  await expectError(client.conversations.getConversation({ conversation_id: missingConversation }), 404, "getConversation unknown");
  await expectError(client.conversations.getConversationMessages({ conversation_id: missingConversation }), 404,
    "getConversationMessages unknown");
  await expectError(client.conversations.updateConversation({ conversation_id: missingConversation, metadata: { a: 1 } }), 404,
    "updateConversation unknown");
  await expectError(client.numbers.getMessages({ number_id: "num_doesNotExist0000000000" }), 404, "getMessages unknown number");
  await expectError(client.agents.listAgentConversations({ agent_id: "agt_doesNotExist0000000000" }), 404,
    "listAgentConversations unknown agent");
  await expectError(client.contacts.getContact({ contact_id: missingContact }), 404, "getContact unknown");
  await expectError(client.contacts.updateContact({ contact_id: missingContact, name: "x" }), 404, "updateContact unknown");
  await expectError(client.contacts.deleteContact({ contact_id: missingContact }), 404, "deleteContact unknown");
});

await step("contacts: create (201), get, list with search", async () => {
  const created = await client.contacts.createContact({ phoneNumber: customerNational, name: "Ada Lovelace", email: "ada@example.com", notes: "Prefers SMS." })
    .withRawResponse();
  equal(created.rawResponse.status, 201, "createContact: HTTP 201 (§6.3)");
  ada = created.data;
  checkContact(ada, "createContact Ada");
  deepEqual(pick(ada, ["phoneNumber", "name", "email", "notes"]),
    { phoneNumber: customer, name: "Ada Lovelace", email: "ada@example.com", notes: "Prefers SMS." },
    `createContact Ada: fields, phoneNumber ${customerNational} normalised to E.164`);
  equal(ada.updatedAt, ada.createdAt, "createContact: updatedAt = createdAt");

  grace = await client.contacts.createContact({ phoneNumber: otherPhone, name: "Grace Hopper" });
  checkContact(grace, "createContact Grace");
  deepEqual(pick(grace, ["phoneNumber", "name", "email", "notes"]), { phoneNumber: otherPhone, name: "Grace Hopper", email: null, notes: null },
    "createContact with phone and name only: email and notes null");

  deepEqual(await client.contacts.getContact({ contact_id: ada.id }), ada, "getContact returns what createContact returned");
  const list = await client.contacts.listContacts();
  deepEqual([ids(list.data), list.total, list.hasMore], [[grace.id, ada.id], 2, false], "listContacts: newest first (§20.3)");
  deepEqual(list.data[1], ada, "listContacts: item equals getContact");
  const page = await client.contacts.listContacts({ limit: 1 });
  deepEqual([ids(page.data), page.total, page.hasMore], [[grace.id], 2, true], "listContacts limit=1");
  const next = await client.contacts.listContacts({ limit: 1, offset: 1 });
  deepEqual([ids(next.data), next.hasMore], [[ada.id], false], "listContacts limit=1 offset=1");

  // search is not a parameter of the SDK method; an SDK user passes it as a query parameter (§6.2, §19.2).
  const search = (q) => client.contacts.listContacts({}, { queryParams: { search: q } });
  const byName = await search("LOVELACE");
  deepEqual([ids(byName.data), byName.total], [[ada.id], 1], "listContacts search=LOVELACE: case-insensitive name match");
  const byPhone = await search("5552368");
  deepEqual([ids(byPhone.data), byPhone.total], [[grace.id], 1], "listContacts search=5552368: phone number match");
  const both = await search("a");
  deepEqual(ids(both.data).sort(), [ada.id, grace.id].sort(), "listContacts search=a: both names contain it");
  const none = await search("nobody");
  deepEqual([none.data, none.total, none.hasMore], [[], 0, false], "listContacts search=nobody: empty");

  await expectError(client.contacts.createContact({ phoneNumber: "+12025550143" }), 422, "createContact without name", ["body", "name"]);
  await expectError(client.contacts.createContact({ name: "No Phone" }), 422, "createContact without phoneNumber", ["body", "phoneNumber"]);
  await expectError(client.contacts.createContact({ phoneNumber: "not a phone", name: "Bad" }), 422, "createContact with a bad phoneNumber",
    ["body", "phoneNumber"]);
  await expectError(client.contacts.listContacts({ limit: 201 }), 422, "listContacts limit=201", ["query", "limit"]);
  equal((await client.contacts.listContacts()).total, 2, "rejected creates store nothing");
});

await step("contacts: 409 for a duplicate phone number", async () => {
  const a = need(ada, "contact Ada");
  const g = need(grace, "contact Grace");
  const dup = await expectError(client.contacts.createContact({ phoneNumber: "+1 415-555-2671", name: "Ada Again" }), 409,
    "createContact with Ada's phone written otherwise (§6.3)");
  ok(dup.body.detail.length > 0, "409: a message in detail");
  await expectError(client.contacts.updateContact({ contact_id: g.id, phoneNumber: a.phoneNumber }), 409,
    "updateContact to Ada's phone number (§6.6)");
  deepEqual(await client.contacts.getContact({ contact_id: g.id }), g, "a rejected update changes nothing");
  equal((await client.contacts.listContacts()).total, 2, "the duplicate was not stored");
});

await step("contacts: update changes only the keys sent, then delete (204)", async () => {
  const a = need(ada, "contact Ada");
  const u = await client.contacts.updateContact({ contact_id: a.id, name: "Ada King", notes: null });
  checkContact(u, "updateContact");
  deepEqual(pick(u, ["id", "phoneNumber", "name", "email", "notes", "createdAt"]),
    { id: a.id, phoneNumber: a.phoneNumber, name: "Ada King", email: a.email, notes: null, createdAt: a.createdAt },
    "updateContact name + notes=null: name changed, notes cleared, the rest unchanged");
  ok(u.updatedAt > a.updatedAt, `updateContact: updatedAt ${u.updatedAt} moves past ${a.updatedAt}`);
  deepEqual(await client.contacts.getContact({ contact_id: a.id }), u, "getContact after update");

  const p = await client.contacts.updateContact({ contact_id: a.id, phoneNumber: "+1 (212) 555-2671" });
  equal(p.phoneNumber, "+12125552671", "updateContact phoneNumber: normalised to E.164");
  const same = await client.contacts.updateContact({ contact_id: a.id, phoneNumber: "+12125552671" });
  equal(same.phoneNumber, "+12125552671", "updateContact to its own phone number is no conflict");
  const e = await client.contacts.updateContact({ contact_id: a.id });
  deepEqual(pick(e, contactKeys.filter((k) => k !== "updatedAt")), pick(same, contactKeys.filter((k) => k !== "updatedAt")),
    "updateContact with an empty body changes nothing");
  await expectError(client.contacts.updateContact({ contact_id: a.id, name: "" }), 422, "updateContact name empty", ["body", "name"]);
  await expectError(client.contacts.updateContact({ contact_id: a.id, phoneNumber: "12" }), 422, "updateContact bad phoneNumber",
    ["body", "phoneNumber"]);

  const del = await client.contacts.deleteContact({ contact_id: a.id }).withRawResponse();
  equal(del.rawResponse.status, 204, "deleteContact: HTTP 204 (§6.7)");
  equal(del.data, undefined, "deleteContact: no body");
  await expectError(client.contacts.getContact({ contact_id: a.id }), 404, "getContact after delete");
  await expectError(client.contacts.deleteContact({ contact_id: a.id }), 404, "deleteContact twice");
  const list = await client.contacts.listContacts();
  deepEqual([ids(list.data), list.total], [[need(grace, "contact Grace").id], 1], "listContacts after delete");
  // Ada's first phone number was freed when her number changed.
  const back = await client.contacts.createContact({ phoneNumber: customer, name: "Ada Lovelace" });
  equal(back.phoneNumber, customer, "createContact with the phone number Ada had before her update: accepted");
  notEqual(back.id, a.id, "a new contact gets a new id");
  await client.contacts.deleteContact({ contact_id: back.id });
});

await step("X-Sub-Account-Id: conversations and contacts are per account", async () => {
  const c = need(convA, "A's conversation");
  const s = await client.subAccounts.createSubAccount({ name: "Messaging Sub Account" });
  match(s?.id, /^\S+$/, "createSubAccount: id");
  const header = { "X-Sub-Account-Id": s.id };
  const convs = await client.conversations.listConversations({ ...header });
  deepEqual([convs.data, convs.total], [[], 0], "listConversations in a new sub-account: empty");
  const contacts = await client.contacts.listContacts({ ...header });
  deepEqual([contacts.data, contacts.total], [[], 0], "listContacts in a new sub-account: empty");
  await expectError(client.conversations.getConversation({ conversation_id: c.id }, { headers: header }), 404,
    "getConversation of a master conversation with the sub-account header");
  await expectError(client.messages.sendMessage({ number_id: numA.id, to_number: customer, body: "x" }, { headers: header }), 404,
    "sendMessage from a master number with the sub-account header");
  const sub = await client.contacts.createContact({ phoneNumber: otherPhone, name: "Grace in the sub-account" }, { headers: header });
  equal(sub.phoneNumber, otherPhone, "createContact in the sub-account: the master's contact phone is no conflict there");
  deepEqual(ids((await client.contacts.listContacts({ ...header })).data), [sub.id], "listContacts in the sub-account");
  equal((await client.contacts.listContacts()).total, 1, "the master's contacts are unchanged");
  await client.contacts.deleteContact({ contact_id: sub.id }, { headers: header });
  equal((await client.contacts.listContacts({ ...header })).total, 0, "deleteContact in the sub-account");
});

await finish();
