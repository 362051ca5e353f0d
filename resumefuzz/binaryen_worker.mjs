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
//        or {"id": N, "ok": false, "error": "<one line>", "restart": bool}
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
    if (!module.validate()) throw new Error("input module does not validate in Binaryen");
    if (req.optimizeBefore) module.optimize();
    module.runPasses(req.passes);
    if (req.optimizeAfter) module.optimize();
    if (!module.validate()) throw new Error("Binaryen produced an invalid module");
    return Buffer.from(module.emitBinary()).toString("base64");
  } finally {
    module.dispose();
  }
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
    reply = { id, ok: false, error: message, restart: !(err instanceof Error) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
