// The beamgo UI: a thin client of the JSON API (see package webui's doc).
// A job's page follows the job's server-sent events (/api/jobs/{id}/events),
// polling the API once a second where they do not work (or with ?poll).
"use strict";

const terminal = new Set(["DONE", "FAILED", "CANCELLED", "DRAINED", "UPDATED"]);

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined) continue;
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : String(k));
  return e;
}

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": " + r.status + " " + ((await r.json().catch(() => ({}))).error || ""));
  return r.json();
}

function fmtNum(n) { return Number(n).toLocaleString("en-US", { maximumFractionDigits: 1 }); }
function fmtBytes(n) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}
function fmtDur(ms) {
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1) + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + Math.floor(s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}
function table(headers, rows) {
  const t = el("table", {}, el("tr", {}, ...headers.map(h => el("th", {}, h))));
  for (const r of rows) t.append(r);
  return t;
}
function num(v) { return el("td", { class: "num" }, v); }
function stateBadge(s) { return el("span", { class: "state " + s, id: "state" }, s); }

// The job list.
async function showJobs(main) {
  document.title = "beamgo jobs";
  const jobs = await getJSON("/api/jobs");
  const rows = jobs.map(j => el("tr", { "data-job": j.id },
    el("td", {}, el("a", { href: "/jobs/" + encodeURIComponent(j.id) }, j.id)),
    el("td", {}, j.name || ""), el("td", {}, j.runner || ""),
    el("td", {}, el("span", { class: "state " + j.state }, j.state)),
    el("td", {}, new Date(j.start).toLocaleString()),
    num(fmtDur(j.duration_ms)), num(fmtNum(j.elements)),
    num(j.stages_done + "/" + j.stages)));
  main.replaceChildren(el("h2", {}, "Jobs"),
    jobs.length ? table(["Job", "Name", "Runner", "State", "Started", "Duration", "Elements", "Stages done"], rows)
      : el("p", { class: "muted" }, "No jobs yet."));
  setTimeout(() => showJobs(main).catch(e => fail(main, e)), 2000);
}

// A job's page: it follows the job's event stream (server-sent events),
// or polls the API once a second where EventSource is missing or the
// stream fails before its first update.
function showJob(main, id) {
  const base = "/api/jobs/" + encodeURIComponent(id);
  document.getElementById("crumb").textContent = "/ " + id;
  document.title = id + " · beamgo";
  const logs = [];
  const addLogs = ls => {
    logs.push(...ls);
    if (logs.length > 1000) logs.splice(0, logs.length - 1000);
  };
  if (!window.EventSource || new URLSearchParams(location.search).has("poll")) return pollJob(main, base, logs, addLogs);
  return new Promise((resolve, reject) => {
    const es = new EventSource(base + "/events");
    let updated = false;
    es.addEventListener("update", ev => {
      updated = true;
      const u = JSON.parse(ev.data);
      addLogs(u.logs);
      renderJob(main, base, u.job, u.stages, u.metrics, logs, u.plan_svg);
      resolve();
    });
    es.addEventListener("end", () => es.close());
    es.onerror = () => {
      if (updated) return; // EventSource reconnects, resuming the log at Last-Event-ID
      es.close();
      pollJob(main, base, logs, addLogs).then(resolve, reject);
    };
  });
}

// pollJob shows the job from the JSON API, once a second until it ends.
async function pollJob(main, base, logs, addLogs) {
  const after = logs.length ? logs[logs.length - 1].seq : 0;
  const [job, stages, metrics, newLogs, svg] = await Promise.all([
    getJSON(base), getJSON(base + "/stages"), getJSON(base + "/metrics"), getJSON(base + "/logs?after=" + after),
    fetch(base + "/plan.svg", { cache: "no-store" }).then(r => r.ok ? r.text() : ""),
  ]);
  addLogs(newLogs);
  renderJob(main, base, job, stages, metrics, logs, svg);
  if (!terminal.has(job.state)) setTimeout(() => pollJob(main, base, logs, addLogs).catch(e => fail(main, e)), 1000);
}

// action is a button that POSTs to the job's endpoint once.
function action(base, name, label) {
  const b = el("button", { id: name }, label);
  b.onclick = async () => {
    b.disabled = true;
    await fetch(base + "/" + name, { method: "POST", headers: { "X-Beamgo-UI": "1" } });
  };
  return b;
}

// renderJob draws the job's page.
function renderJob(main, base, job, stages, metrics, logs, svg) {
  const head = el("h2", {}, job.name ? job.name + " (" + job.id + ") " : job.id + " ", stateBadge(job.state));
  if (job.cancellable) head.append(action(base, "cancel", "Cancel"));
  if (job.drainable) head.append(action(base, "drain", "Drain"));
  const card = (k, v, id) => el("div", { class: "card" }, el("div", { class: "v", id: id }, v), el("div", { class: "k" }, k));
  const cards = el("div", { class: "cards" },
    card("runner", job.runner || "-"), card("duration", fmtDur(job.duration_ms)),
    card("stages done", job.stages_done + "/" + job.stages), card("elements", fmtNum(job.elements), "elements"),
    card("bundles", fmtNum(job.bundles)), card("running", job.bundles_running),
    card("retries", job.retries), card("failed bundles", job.failed_bundles),
    card("splits", job.splits), card("spills", job.spills), card("buffered", fmtBytes(job.buffered_bytes)));
  const parts = [head, cards];
  if (job.error) parts.push(el("h2", {}, "Error"), el("div", { class: "error", id: "error" }, job.error));
  const plan = el("div", { id: "plan" });
  plan.innerHTML = svg; // our own server's SVG, its text escaped
  parts.push(el("h2", {}, "Plan"), plan);
  parts.push(el("h2", {}, "Stages"), table(
    ["Stage", "Input", "Input watermark", "Output watermark", "Pending", "Pending bytes", "Queued", "Running", "Committed", "Retries", "Failed", "Elements", "Elements/s", "Spills", "Timers"],
    stages.map(s => el("tr", { "data-stage": s.id },
      el("td", {}, s.id), el("td", {}, s.input + (s.unbounded ? " (unbounded)" : "") + (s.blocked_on_side_inputs ? " ⏸ side inputs" : "")),
      el("td", { class: "iw" }, s.input_watermark.text), el("td", { class: "ow" }, s.output_watermark.text),
      num(fmtNum(s.pending_elements)), num(fmtBytes(s.pending_bytes)), num(s.bundles_queued), num(s.bundles_running),
      num(s.bundles_committed), num(s.retries), num(s.failed_bundles), num(fmtNum(s.elements)),
      num(fmtNum(s.elements_per_second)), num(s.spills), num(s.timers)))));
  const metricRow = m => el("tr", {}, el("td", {}, m.kind), el("td", {}, m.transform), el("td", {}, m.namespace),
    el("td", {}, m.name),
    m.values ? el("td", {}, m.values.join(", ")) :
    num(m.kind === "distribution" ? `n ${m.count}, sum ${m.sum}, min ${m.min}, max ${m.max}` : fmtNum(m.value)));
  parts.push(el("h2", {}, "Metrics"), metrics.length
    ? table(["Kind", "Transform", "Namespace", "Name", "Value"], metrics.map(metricRow))
    : el("p", { class: "muted" }, "No user metrics."));
  const logLine = l => el("div", { class: l.level, "data-source": l.source || "" },
    new Date(l.time).toISOString().slice(11, 23) + " " + l.level.toUpperCase() + " " +
    (l.source && l.source !== "runner" ? "[" + l.source + (l.transform ? " " + l.transform : "") + "] " : "") + l.text);
  const logBox = el("div", { class: "logs", id: "logs" }, ...logs.map(logLine));
  parts.push(el("h2", {}, "Log"), logs.length ? logBox : el("p", { class: "muted" }, "No messages."));
  main.replaceChildren(...parts);
}

function fail(main, e) {
  main.replaceChildren(el("p", { class: "error", id: "failure" }, String(e.message || e)));
}

function route() {
  const main = document.getElementById("main");
  const m = location.pathname.match(/^\/jobs\/(.+)$/);
  (m ? showJob(main, decodeURIComponent(m[1])) : showJobs(main)).catch(e => fail(main, e));
}

route();
