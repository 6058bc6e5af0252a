// The Node SDK okx-api (sieblyio) WebsocketAPIClient.submitNewOrder as a benchmark client.
//
//   NODE_PATH=<cache>/node/node_modules node benchmarks/peer_node.js CLIENT PLAN_JSON RESULT_FILE
//
// Runs the same plan as benchmarks/_workload.py: cold start (construct -> first
// order acknowledged), warm-up, sequential round trips, pipelined throughput with
// N promises in flight. `wsUrl` points every key at the simulator's private path
// (the SDK appends nothing); the SDK logs in with `accounts` and overwrites `tag`.
// permessage-deflate is turned off (okxkc and the floors offer none). The SDK's
// info logger is silenced so console output costs nothing per order.
"use strict";

const fs = require("fs");
const path = require("path");
const { performance } = require("perf_hooks");

// A pipelined run that has not finished this long after its time is up is hung.
const HANG_S = 15;

function ns() {
  return process.hrtime.bigint();
}

async function main() {
  const [name, planText, resultFile] = process.argv.slice(2);
  const plan = JSON.parse(planText);
  const { WebsocketAPIClient } = require("okx-api");
  const pkg = path.join(path.dirname(require.resolve("okx-api")), "..", "..", "package.json");
  const version = JSON.parse(fs.readFileSync(pkg, "utf8")).version;
  const quiet = { trace: () => {}, info: () => {}, error: (...a) => console.error(...a) };
  const params = {
    instIdCode: plan.inst_id_code,
    tdMode: "cash",
    side: "buy",
    ordType: "ioc",
    px: "20000",
    sz: "0.01",
  };
  let client;
  // The SDK adds fields (tag) to the object it is given: a fresh one per call, like a caller would.
  const order = async () => {
    const r = await client.submitNewOrder({ ...params });
    if (r.code !== "0") throw new Error("order rejected: " + JSON.stringify(r));
    return r;
  };
  const out = { client: name, version, node: process.version };

  const start = ns();
  client = new WebsocketAPIClient(
    {
      accounts: [
        { apiKey: "okxkc-test-key", apiSecret: "okxkc-test-secret", apiPass: "okxkc-test-pass" },
      ],
      wsUrl: `ws://127.0.0.1:${plan.okx_port}/ws/v5/private`,
      attachEventListeners: false,
      wsOptions: { perMessageDeflate: false },
    },
    quiet,
  );
  await order();
  out.cold_s = Number(ns() - start) / 1e9;

  // A watchdog: if no sequential order completes for HANG_S, report what was measured
  // and stop (the client is wedged) instead of hanging the whole run.
  const warmup = plan.warmup || 0;
  const n = plan.orders || 0;
  const samples = new Array(n);
  let done = 0;
  let seen = -1;
  const watchdog = setInterval(() => {
    if (done === seen) {
      const k = Math.max(0, done - warmup);
      out.error = `hung: no reply for ${HANG_S}s after ${done} sequential orders (${k} timed)`;
      out.hung = true;
      if (k) out.latency_us = samples.slice(0, k);
      fs.writeFileSync(resultFile, JSON.stringify(out));
      process.exit(0);
    }
    seen = done;
  }, HANG_S * 1000);
  for (let i = 0; i < warmup; i++) {
    await order();
    done += 1;
  }
  if (n) {
    const cpu = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const t = ns();
      await order();
      samples[i] = Number(ns() - t) / 1000;
      done += 1;
    }
    const used = process.cpuUsage(cpu);
    out.cpu_us_per_order = (used.user + used.system) / n;
    out.latency_us = samples;
  }
  clearInterval(watchdog);
  const levels = plan.levels || [];
  if (levels.length) {
    const total = plan.level_orders;
    const seconds = plan.level_seconds;
    out.throughput = {};
    out.throughput_cpu_us = {};
    // Up to `count` orders (stopping after `secs`) over `level` promises; orders per second.
    const runLevel = (level, count, secs) => {
      let left = count;
      let done = 0;
      const deadline = performance.now() + secs * 1000;
      const worker = async () => {
        while (left > 0 && performance.now() < deadline) {
          left -= 1;
          await order();
          done += 1;
        }
      };
      const t = ns();
      const cpu = process.cpuUsage();
      const all = Promise.all(Array.from({ length: level }, worker)).then(() => {
        const used = process.cpuUsage(cpu);
        return [done / (Number(ns() - t) / 1e9), (used.user + used.system) / Math.max(done, 1)];
      });
      let timer;
      const hang = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("hung")), (secs + HANG_S) * 1000);
      });
      return Promise.race([all, hang]).finally(() => clearTimeout(timer));
    };
    for (const level of levels) {
      try {
        await runLevel(level, Math.min(Math.floor(total / 4), 4 * level + 200), seconds / 4);
        const [rate, cpuPer] = await runLevel(level, total, seconds);
        out.throughput[String(level)] = rate;
        out.throughput_cpu_us[String(level)] = cpuPer;
      } catch (err) {
        out.throughput[String(level)] = null;
        out.error = `${level} in flight: replies stopped coming (hung for ${HANG_S}s)`;
        out.hung = true;
        break;
      }
    }
  }
  fs.writeFileSync(resultFile, JSON.stringify(out));
  client.getWSClient().closeAll(true);
  process.exit(0);
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
