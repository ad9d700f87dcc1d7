// streamstruct web client: rebuilds a value streamed by streamstruct.web.sse (protocol version 1).
// Plain JavaScript, an ES module, no build step and no dependency. The protocol: docs/web.md.
//
//   import { readObject } from "/streamstruct/client.js";
//   const response = await fetch("/profile", { method: "POST", body });
//   for await (const state of readObject(response)) {
//     render(state.value, state.isComplete(["bio"]));   // state.done on the last one
//   }
//
// Each operation is applied in place, at its path: text is appended, a value is set once, so the
// work is linear in what was received (never a re-parse of the whole text, as a JSON-text client
// must do on every chunk).

/** The protocol version this client speaks. */
export const PROTOCOL_VERSION = 1;

/**
 * @typedef {(string|number)[]} Path  Object keys and array indexes, from the root.
 * @typedef {{value: any, done: boolean, isComplete: (path: Path) => boolean}} State
 * @typedef {{onEvent?: (name: string, data: any) => void}} Options
 */

/** The error an `error` event carries: the server's error type, message and partial value. */
export class StreamError extends Error {
  /**
   * @param {string} type the Python error class, e.g. "IncompleteOutputError"
   * @param {string} message
   * @param {any} partial the value as it was when the error came
   */
  constructor(type, message, partial) {
    super(`${type}: ${message}`);
    this.name = "StreamError";
    this.type = type;
    this.partial = partial;
  }
}

/** The value being rebuilt: applies the protocol's events one at a time. */
export class ValueBuilder {
  constructor() {
    /** @type {any} */
    this.value = undefined;
    /** @type {"object"|"items"|undefined} */
    this.kind = undefined;
    this.done = false;
    /** @type {Set<string>} */
    this.complete = new Set();
    /** @type {any} */
    this.usage = null;
    /** @type {string|null} */
    this.finishReason = null;
  }

  /**
   * Apply one event (its name and its parsed data); return true if the value changed.
   * @param {string} name
   * @param {any} data
   * @returns {boolean}
   */
  apply(name, data) {
    if (name === "start") {
      if (data.version !== PROTOCOL_VERSION) {
        throw new Error(`streamstruct protocol version ${data.version}, this client speaks ${PROTOCOL_VERSION}`);
      }
      this.kind = data.kind;
      this.value = data.kind === "items" ? [] : undefined;
      return false;
    }
    if (name === "ops") {
      for (const op of data) this.applyOp(op);
      return true;
    }
    if (name === "end") {
      this.value = data.value;
      this.usage = data.usage;
      this.finishReason = data.finish_reason;
      this.done = true;
      return true;
    }
    if (name === "reasked") {
      // The answer failed validation and is asked again: what was shown is dropped, and the new
      // answer's operations start from the root.
      this.value = undefined;
      this.complete.clear();
      return true;
    }
    if (name === "error") {
      throw new StreamError(data.type, data.message, data.partial);
    }
    return false; // an event this version does not know: ignored, as the spec says
  }

  /**
   * One operation: ["set", path, value], ["append", path, text], ["done", path] or
   * ["done", path, value] (set, then complete).
   * @param {any[]} op
   */
  applyOp(op) {
    const [kind, path] = op;
    if (kind === "set" || (kind === "done" && op.length > 2)) this.set(path, op[2]);
    else if (kind === "append") this.append(path, op[2]);
    if (kind === "done") this.complete.add(JSON.stringify(path));
  }

  /** @param {Path} path @param {any} value */
  set(path, value) {
    if (path.length === 0) {
      this.value = value;
      return;
    }
    const parent = this.at(path, path.length - 1);
    put(parent, path[path.length - 1], value);
  }

  /** @param {Path} path @param {string} text */
  append(path, text) {
    const parent = this.at(path, path.length - 1);
    const key = path[path.length - 1];
    put(parent, key, (Object.hasOwn(parent, key) ? parent[key] : "") + text); // appended as ropes
  }

  /** The container at the first `length` steps of `path`. @param {Path} path @param {number} length */
  at(path, length) {
    let node = this.value;
    for (let i = 0; i < length; i++) node = Object.hasOwn(node, path[i]) ? node[path[i]] : undefined;
    if (node === null || typeof node !== "object") {
      throw new Error(`streamstruct: no container at ${JSON.stringify(path.slice(0, length))}`);
    }
    return node;
  }

  /**
   * Whether the value at `path` is complete (validated): it, or a value around it, was marked
   * done, or the whole answer ended.
   * @param {Path} path
   */
  isComplete(path) {
    if (this.done) return true;
    for (let length = path.length; length >= 0; length--) {
      if (this.complete.has(JSON.stringify(path.slice(0, length)))) return true;
    }
    return false;
  }

  /** The state handed out: a view of this builder (`value` and `isComplete` are live). @returns {State} */
  state() {
    return { value: this.value, done: this.done, isComplete: (path) => this.isComplete(path) };
  }
}

/**
 * `parent[key] = value`, as JSON.parse would have it: a key "__proto__" (a dict key the model
 * wrote) is an own property, not the object's prototype.
 * @param {any} parent @param {string|number} key @param {any} value
 */
function put(parent, key, value) {
  if (key === "__proto__") {
    Object.defineProperty(parent, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    parent[key] = value;
  }
}

/**
 * Server-sent events from a stream of text: yields [name, data] for each event with data.
 * Comments (keep-alives) are skipped. Lines end with CRLF, LF or CR, as the SSE spec says.
 * @param {AsyncIterable<string>} chunks
 * @returns {AsyncGenerator<[string, string]>}
 */
export async function* readEvents(chunks) {
  let buffer = "";
  let name = "";
  /** @type {string[]} */
  let data = [];
  let pendingCR = false;
  let scanned = 0; // how much of the buffer is known to hold no line end
  for await (const chunk of chunks) {
    buffer += chunk;
    let start = 0;
    if (pendingCR && buffer[0] === "\n") start = 1; // a CRLF split across two chunks
    pendingCR = false;
    for (;;) {
      let end = Math.max(start, scanned); // a long line arriving in pieces is scanned once
      while (end < buffer.length && buffer[end] !== "\n" && buffer[end] !== "\r") end++;
      if (end === buffer.length) {
        scanned = end - start;
        break;
      }
      scanned = 0;
      const line = buffer.slice(start, end);
      if (buffer[end] === "\r") {
        if (end + 1 === buffer.length) pendingCR = true;
        else if (buffer[end + 1] === "\n") end++;
      }
      start = end + 1;
      if (line === "") {
        if (data.length) yield [name || "message", data.join("\n")];
        name = "";
        data = [];
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
      }
    }
    buffer = buffer.slice(start);
  }
}

/**
 * The value streamed in a `fetch` Response from `streamstruct.web.sse`, as states: after each
 * change, `{value, done, isComplete(path)}`; the last has `done: true` and the validated value.
 * An `error` event rejects with a StreamError (type, message, partial).
 * @param {Response} response
 * @param {Options} [options]
 * @returns {AsyncGenerator<State>}
 */
export async function* readObject(response, options = {}) {
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
  if (!response.body) throw new Error("the response has no body");
  const builder = new ValueBuilder();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const chunks = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        yield value;
      }
    },
  };
  try {
    for await (const [name, text] of readEvents(chunks)) {
      const data = JSON.parse(text);
      if (options.onEvent) options.onEvent(name, data);
      if (builder.apply(name, data)) yield builder.state();
      if (builder.done) return;
    }
  } finally {
    reader.cancel().catch(() => {}); // leaving early (break, error) closes the connection
  }
  throw new Error("the stream ended before its end event");
}
