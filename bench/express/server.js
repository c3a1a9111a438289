// BENCHMARK ONLY: bare Express 4 serving the bare Flask app's bodies (bench/apps.py's
// bare_app, written to BENCH_BODIES by bench/http_bench.py), serialized on every request,
// in WORKERS processes (Node's cluster, as a Node deployment would run it). The peer the
// service is measured against: the framework of the Node service it replaces.
"use strict";

const cluster = require("node:cluster");
const fs = require("node:fs");
const express = require("express");

const port = Number(process.env.PORT || 7100);
const workers = Number(process.env.WORKERS || 2);

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  cluster.on("exit", (worker, code) => {
    console.error(`worker ${worker.process.pid} exited (${code})`);
    process.exit(1); // a benchmark with a dead worker measures nothing true
  });
  process.on("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers)) worker.kill("SIGTERM");
    process.exit(0);
  });
} else {
  const bodies = JSON.parse(fs.readFileSync(process.env.BENCH_BODIES, "utf8"));
  const app = express();
  app.get("/sessions", (req, res) => res.json(req.query.search ? bodies.search : bodies.page));
  app.get("/sessions/course/:cid", (req, res) => res.json(bodies.course));
  app.get("/sessions/:sid", (req, res) => res.json(bodies.one));
  app.post("/sessions", (req, res) => res.status(201).json(bodies.plain));
  app.post("/sessions/:sid/participants", (req, res) => res.json(bodies.plain));
  app.patch("/sessions/:sid/status", (req, res) => res.json(bodies.plain));
  app.listen(port, "127.0.0.1");
}
