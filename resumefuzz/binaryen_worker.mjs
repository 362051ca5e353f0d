// Resident Binaryen worker for resumefuzz.
//
// Started once per Python process (node + binaryen.js cost ~0.3-1 s to start),
// then serves requests forever: one JSON object per line on stdin, one JSON
// reply per line on stdout.
//
// Request:  {"id": N, "op": "ping"} -> {"id": N, "ok": true, "version": "<the package's version>"}
//       or  {"id": N, "op": "passes", "wasm": <base64>, "features": <int>,
//            "passes": ["asyncify", ...], "passArgs": {"k": "v"},
//            "optimizeLevel": 0..4, "shrinkLevel": 0..2,
//            "optimizeBefore": bool, "optimizeAfter": bool}   (default pipeline at those levels)
// Reply:    {"id": N, "ok": true, "wasm": <base64>}
//        or {"id": N, "ok": false, "error": "<one line>", "kind": K, "restart": bool}
//           K: "rejected" (the input does not validate in Binaryen; the validator's own
//           messages follow the summary), "invalid-output" (the result does not validate),
//           "fatal" (anything else: a C++ exception, an abort, a bad request)
//
// argv[2] is the absolute path of a `binaryen` package directory (the default pinned one, or a
// release installed beside it as node_modules/binaryen-NNN; one worker per release).
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import path from "node:path";

const binaryenDir = process.argv[2];
const { default: binaryen } = await import(
  pathToFileURL(path.join(binaryenDir, "index.js")).href
);
const { version } = JSON.parse(readFileSync(path.join(binaryenDir, "package.json"), "utf8"));

function runPasses(req) {
  printed.length = 0;  // what Binaryen prints while serving this request (see describe)
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

// Everything Binaryen prints to stderr while serving a request is kept (and still forwarded):
// module.validate() only answers true/false, its validator prints what is wrong (e.g. "SIMD
// operations require SIMD [--enable-simd]"); and releases before 129 report a fatal error
// ("Fatal: Asyncify does not yet support ...") only by printing it and then exiting the
// emscripten runtime (an ExitStatus object is thrown, no message of its own).
const printed = [];
const stderrWrite = process.stderr.write.bind(process.stderr);
let quiet = false; // the validator's own lines are not forwarded (they are in the reply)
process.stderr.write = (chunk, ...rest) => {
  printed.push(String(chunk));
  if (!quiet) return stderrWrite(chunk, ...rest);
  const callback = rest.find((arg) => typeof arg === "function");
  if (callback) callback();
  return true;
};

// Returns null when the module validates, else the distinct messages in one line.
function validationErrors(module) {
  const start = printed.length;
  let valid;
  quiet = true;
  try {
    valid = module.validate();
  } finally {
    quiet = false;
  }
  if (valid) return null;
  const messages = [];
  for (const line of printed.slice(start).join("").split("\n")) {
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

// Binaryen's C++ exceptions (e.g. "Fatal: Asyncify does not yet support ...") arrive as opaque
// objects: from release 129 on, getExceptionMessage recovers their text; before it, the text was
// printed (captured in `printed`) and the object thrown is emscripten's ExitStatus.  Whatever
// was thrown, the reply gets a readable line, never "[object Object]".
function describe(err) {
  if (err instanceof Error) return clean(err.message);
  if (typeof binaryen.getExceptionMessage === "function" && err !== null && typeof err === "object") {
    try {
      const text = binaryen.getExceptionMessage(err);
      const message = Array.isArray(text) ? text.filter(Boolean).join(": ") : String(text);
      if (message.trim()) return clean(message);
    } catch {
      // not a C++ exception: fall through
    }
  }
  const said = printed.join("").split("\n").map((line) => line.trim()).filter(Boolean);
  // e.g. "[parse exception: control flow inputs are not supported yet (at 0:87)]Fatal: error in parsing
  // wasm binary": from "Fatal:" on, as later releases say it, then the parser's reason (later releases
  // drop it; it tells a documented limitation from a parser defect)
  const fatal = said.findLast((line) => line.includes("Fatal:"));
  if (fatal) {
    const reason = /\[parse exception: (.*?)\]Fatal:/.exec(fatal);
    return clean(fatal.slice(fatal.lastIndexOf("Fatal:"))) + (reason ? ` (parse exception: ${reason[1]})` : "");
  }
  const own = typeof err?.message === "string" && err.message ? err.message : null;
  if (own) return said.length ? `${clean(said.at(-1))} (${own})` : clean(own);
  if (typeof err === "object" && err !== null) {
    try {
      return `${err.constructor?.name ?? "object"} thrown: ${JSON.stringify(err)}`;
    } catch {
      // not serializable: fall through
    }
  }
  return `${typeof err} thrown: ${String(err)}`;
}

function clean(message) {
  return message.replace(/^std::runtime_error:\s*/, "").replace(/^Fatal:\s*/, "");
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  let id = null;
  let reply;
  try {
    const req = JSON.parse(line);
    id = req.id;
    if (req.op === "ping") reply = { id, ok: true, version };
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
