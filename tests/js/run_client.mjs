// Runs streamstruct's browser client (streamstruct/web/client.js) under node, for the tests.
// One request per stdin line: {"chunks": [base64, ...]} - the body of a web.sse response, cut where
// the test chose. One answer per stdout line: {"states": [{value, done}...], "error": {...}|null,
// "events": [name...]}. `value` after every state is what the page would show at that moment.
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const { readObject } = await import(pathToFileURL(process.argv[2]).href);

async function run(request) {
  const chunks = request.chunks.map((text) => Buffer.from(text, "base64"));
  const body = new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new Uint8Array(chunk));
      controller.close();
    },
  });
  const response = new Response(body, { headers: { "content-type": "text/event-stream" } });
  const states = [];
  const events = [];
  let error = null;
  try {
    for await (const state of readObject(response, { onEvent: (name) => events.push(name) })) {
      // A copy now: the client updates its value in place.
      states.push({ value: JSON.parse(JSON.stringify(state.value ?? null)), done: state.done,
                    complete: (request.paths ?? []).map((path) => state.isComplete(path)) });
    }
  } catch (caught) {
    error = { name: caught.name, type: caught.type ?? null, message: caught.message,
              partial: caught.partial ?? null };
  }
  return { states, error, events };
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const answer = await run(JSON.parse(line));
  process.stdout.write(JSON.stringify(answer) + "\n");
}
