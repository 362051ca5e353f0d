// Resident Binaryen worker for resumefuzz.
//
// Started once per Python process (node + binaryen.js cost ~0.3-1 s to start),
// then serves requests forever: one JSON object per line on stdin, one JSON
// reply per line on stdout.
//
// Request:  {"id": N, "op": "passes", "wasm": <base64>, "features": <int>,
//            "passes": ["asyncify", ...], "passArgs": {"k": "v"},
//            "optimizeLevel": 0..4, "shrinkLevel": 0..2,
//            "optimizeBefore": bool, "optimizeAfter": bool}   (default pipeline at those levels)
// Reply:    {"id": N, "ok": true, "wasm": <base64>}
//        or {"id": N, "ok": false, "error": "<one line>", "kind": K, "restart": bool}
//           K: "rejected" (the input does not validate in Binaryen; the validator's own
//           messages follow the summary), "invalid-output" (the result does not validate),
//           "fatal" (anything else: a C++ exception, an abort, a bad request)
//
// argv[2] is the absolute path of the pinned `binaryen` package directory.
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import path from "node:path";

const binaryenDir = process.argv[2];
const { default: binaryen } = await import(
  pathToFileURL(path.join(binaryenDir, "index.js")).href
);

function runPasses(req) {
  const bytes = Buffer.from(req.wasm, "base64");
  const features = req.features ?? binaryen.Features.All;
  const module = binaryen.readBinary(new Uint8Array(bytes), features);
  try {
    module.setFeatures(features);
    binaryen.clearPassArguments();
    for (const [key, value] of Object.entries(req.passArgs ?? {})) {
      binaryen.setPassArgument(key, String(value));
    }
    binaryen.setOptimizeLevel(req.optimizeLevel ?? 0);
    binaryen.setShrinkLevel(req.shrinkLevel ?? 0);
    binaryen.setDebugInfo(false);
    const problems = validationErrors(module);
    if (problems !== null) throw tagged("input module does not validate in Binaryen", problems, "rejected");
    if (req.optimizeBefore) module.optimize();
    module.runPasses(req.passes);
    if (req.optimizeAfter) module.optimize();
    const broken = validationErrors(module);
    if (broken !== null) throw tagged("Binaryen produced an invalid module", broken, "invalid-output");
    return Buffer.from(module.emitBinary()).toString("base64");
  } finally {
    module.dispose();
  }
}

// module.validate() only answers true/false: Binaryen's validator prints what is wrong
// (e.g. "SIMD operations require SIMD [--enable-simd]") to stderr.  Capture that text for
// the reply.  Returns null when the module validates, else the distinct messages in one line.
function validationErrors(module) {
  const printed = [];
  const write = process.stderr.write;
  process.stderr.write = (chunk, ...rest) => {
    printed.push(String(chunk));
    const callback = rest.find((arg) => typeof arg === "function");
    if (callback) callback();
    return true;
  };
  let valid;
  try {
    valid = module.validate();
  } finally {
    process.stderr.write = write;
  }
  if (valid) return null;
  const messages = [];
  for (const line of printed.join("").split("\n")) {
    const match = /^\[wasm-validator error[^\]]*\]\s*(?:unexpected false:\s*)?(.*?)(?:,? on\s*)?$/.exec(line);
    if (match && match[1] && !messages.includes(match[1])) messages.push(match[1]);
  }
  return messages.length ? messages.slice(0, 3).join("; ") : "no details printed";
}

function tagged(summary, detail, kind) {
  const err = new Error(`${summary}: ${detail}`);
  err.kind = kind;
  return err;
}

// Binaryen's C++ exceptions (e.g. "Fatal: Asyncify does not yet support ...")
// arrive as opaque objects; getExceptionMessage recovers their text.
function describe(err) {
  if (err instanceof Error) return err.message;
  try {
    const text = binaryen.getExceptionMessage(err);
    const message = Array.isArray(text) ? text.filter(Boolean).join(": ") : String(text);
    return message.replace(/^std::runtime_error:\s*/, "").replace(/^Fatal:\s*/, "");
  } catch {
    return String(err);
  }
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  let id = null;
  let reply;
  try {
    const req = JSON.parse(line);
    id = req.id;
    if (req.op === "ping") reply = { id, ok: true, version: binaryen.getOptimizeLevel !== undefined };
    else if (req.op === "passes") reply = { id, ok: true, wasm: runPasses(req) };
    else throw new Error(`unknown op ${req.op}`);
  } catch (err) {
    const message = describe(err).split("\n")[0];
    // Our own checks throw Error objects and leave Binaryen intact; anything else
    // (a C++ exception or an abort inside binaryen.js) asks the client for a fresh worker.
    reply = { id, ok: false, error: message, kind: err?.kind ?? "fatal", restart: !(err instanceof Error) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
