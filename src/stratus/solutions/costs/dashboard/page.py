"""The costs dashboard: one self-contained HTML page (inline SVG charts, no library).

The page reads its API base from ``?api=URL`` (on S3/CloudFront) or, served by the API itself
at ``<base>/dashboard``, from its own location. The API key comes from ``#key=...`` in the URL
(kept in localStorage) or the key field. It fetches the Reporting API and draws:

* cost by day (bars), month-to-date against the previous month (summary tiles),
* cost by service, account, region and a tag (horizontal bars), billed vs effective,
* top resources (a table).

Every chart's ``<svg>`` has ``data-chart`` and, once drawn, ``data-bars``; the body gets
``data-state="ready"`` (or ``"error"`` with the reason in ``#status``), so a headless browser
can check the page did its work.
"""

from __future__ import annotations

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>stratus costs</title>
<style>
  :root { --ink:#1d2733; --muted:#6b7785; --bar:#2f6fdf; --bar2:#f0a030; --bg:#f5f7fa; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; color:var(--ink); background:var(--bg); }
  header { display:flex; gap:1rem; align-items:center; padding:.8rem 1.2rem; background:#fff;
           border-bottom:1px solid #dde3ea; flex-wrap:wrap; }
  header h1 { font-size:1.1rem; margin:0 1rem 0 0; }
  label { color:var(--muted); }
  select, input { font:inherit; padding:.2rem .4rem; }
  main { display:grid; grid-template-columns:repeat(auto-fit, minmax(420px, 1fr)); gap:1rem;
         padding:1rem; }
  section { background:#fff; border:1px solid #dde3ea; border-radius:6px; padding:.8rem 1rem; }
  section h2 { font-size:.95rem; margin:0 0 .6rem; }
  .tiles { display:flex; gap:1rem; flex-wrap:wrap; }
  .tile { flex:1; min-width:140px; }
  .tile .v { font-size:1.4rem; font-weight:600; }
  .tile .l { color:var(--muted); font-size:.8rem; }
  table { width:100%; border-collapse:collapse; font-size:.85rem; }
  td, th { text-align:left; padding:.2rem .3rem; border-bottom:1px solid #eef1f4; }
  td.n, th.n { text-align:right; font-variant-numeric:tabular-nums; }
  #status { color:var(--muted); margin-left:auto; }
  body[data-state="error"] #status { color:#b3261e; }
  svg text { font-size:11px; fill:var(--ink); }
</style>
</head>
<body data-state="loading">
<header>
  <h1>stratus costs</h1>
  <label>client <select id="client"></select></label>
  <label>month <select id="month"><option value="">latest</option></select></label>
  <label>cost <select id="cost"><option value="billed">billed</option>
    <option value="effective">effective (amortised)</option></select></label>
  <label>API key <input id="key" type="password" size="22" autocomplete="off"></label>
  <span id="status">loading…</span>
</header>
<main>
  <section><h2>Month to date</h2><div class="tiles" id="summary"></div></section>
  <section><h2>Cost by day</h2><svg id="by-day" data-chart="by-day" width="100%"></svg></section>
  <section><h2>Cost by service</h2>
    <svg id="by-service" data-chart="by-service" width="100%"></svg></section>
  <section><h2>Cost by account</h2>
    <svg id="by-account" data-chart="by-account" width="100%"></svg></section>
  <section><h2>Cost by region</h2>
    <svg id="by-region" data-chart="by-region" width="100%"></svg></section>
  <section><h2>Cost by tag <input id="tag" value="team" size="10" aria-label="tag key"></h2>
    <svg id="by-tag" data-chart="by-tag" width="100%"></svg></section>
  <section><h2>Billed (blue) vs effective (orange) by service</h2>
    <svg id="billed-effective" data-chart="billed-effective" width="100%"></svg></section>
  <section><h2>Top resources</h2><table id="top"><thead><tr><th>resource</th><th class="n">rows</th>
    <th class="n">cost</th></tr></thead><tbody></tbody></table></section>
</main>
<script>
"use strict";
const NS = "http://www.w3.org/2000/svg";
const params = new URLSearchParams(location.search);
const API = (params.get("api") || location.href.split(/[?#]/)[0].replace(/\\/dashboard\\/?$/, ""))
  .replace(/\\/$/, "");
const hash = new URLSearchParams(location.hash.slice(1));
const $ = (id) => document.getElementById(id);
if (hash.get("key")) { localStorage.setItem("costs-api-key", hash.get("key")); }
$("key").value = localStorage.getItem("costs-api-key") || "";
if (params.get("client")) { localStorage.setItem("costs-client", params.get("client")); }

function status(text, state) {
  $("status").textContent = text;
  if (state) { document.body.dataset.state = state; }
}
async function get(path) {
  const res = await fetch(API + path, { headers: { "x-api-key": $("key").value } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const why = (body.reasons || []).join("; ") || body.message || res.statusText;
    throw new Error(`${path}: HTTP ${res.status} ${why}`);
  }
  return body;
}
function money(value, currency) {
  const n = Number(value);
  return (currency ? currency + " " : "") +
    n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
function el(name, attrs, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs || {})) { node.setAttribute(k, v); }
  if (text !== undefined) { node.textContent = text; }
  return node;
}
function clear(svg) { while (svg.firstChild) { svg.removeChild(svg.firstChild); } }

/* horizontal bars: rows = [{label, value, value2?}] */
function hbars(svg, rows, currency) {
  clear(svg);
  const width = svg.clientWidth || 480, rowH = 22, labelW = 170;
  svg.setAttribute("height", Math.max(rowH, rows.length * rowH) + 4);
  const max = Math.max(1e-9, ...rows.map((r) => Math.max(r.value, r.value2 || 0)));
  rows.forEach((r, i) => {
    const y = i * rowH + 2, w = Math.max(1, (width - labelW - 110) * r.value / max);
    svg.appendChild(el("text", { x: 0, y: y + 14 }, String(r.label).slice(0, 26)));
    const bar = el("rect", { x: labelW, y: y + 3, width: w, height: 14, fill: "var(--bar)",
                             "data-value": r.value });
    bar.appendChild(el("title", {}, `${r.label}: ${money(r.value, currency)}`));
    svg.appendChild(bar);
    if (r.value2 !== undefined) {
      const w2 = Math.max(1, (width - labelW - 110) * r.value2 / max);
      svg.appendChild(el("rect", { x: labelW, y: y + 12, width: w2, height: 5,
                                   fill: "var(--bar2)", "data-value": r.value2 }));
    }
    svg.appendChild(el("text", { x: labelW + w + 6, y: y + 14 }, money(r.value)));
  });
  if (!rows.length) { svg.appendChild(el("text", { x: 0, y: 14 }, "no data")); }
  svg.dataset.bars = rows.length;
}
/* vertical bars over days */
function vbars(svg, rows, currency) {
  clear(svg);
  const width = svg.clientWidth || 480, height = 180, pad = 28;
  svg.setAttribute("height", height + pad);
  const max = Math.max(1e-9, ...rows.map((r) => r.value));
  const slot = (width - pad) / Math.max(1, rows.length);
  svg.appendChild(el("text", { x: 0, y: 12 }, money(max, currency)));
  rows.forEach((r, i) => {
    const h = Math.max(1, height * r.value / max);
    const bar = el("rect", { x: pad + i * slot + 1, y: height - h + 4,
                             width: Math.max(1, slot - 2), height: h, fill: "var(--bar)",
                             "data-value": r.value });
    bar.appendChild(el("title", {}, `${r.label}: ${money(r.value, currency)}`));
    svg.appendChild(bar);
  });
  if (rows.length) {
    svg.appendChild(el("text", { x: pad, y: height + 20 }, rows[0].label));
    svg.appendChild(el("text", { x: width - 80, y: height + 20 }, rows[rows.length - 1].label));
  } else {
    svg.appendChild(el("text", { x: pad, y: 40 }, "no data"));
  }
  svg.dataset.bars = rows.length;
}
function valueOf(row) { return Number(row.cost); }

async function loadClients() {
  const body = await get("/clients");
  const select = $("client");
  select.innerHTML = "";
  for (const c of body.Clients) {
    const option = document.createElement("option");
    option.value = c.ClientId; option.textContent = `${c.Name} (${c.ClientId})`;
    select.appendChild(option);
  }
  const wanted = localStorage.getItem("costs-client");
  if (wanted && body.Clients.some((c) => c.ClientId === wanted)) { select.value = wanted; }
  return body.Clients.length;
}
async function loadMonths(client) {
  const body = await get(`/reports/${encodeURIComponent(client)}/months`);
  const select = $("month"), keep = select.value;
  select.innerHTML = '<option value="">latest</option>';
  for (const m of body.months.slice().reverse()) {
    const option = document.createElement("option");
    option.value = m; option.textContent = m; select.appendChild(option);
  }
  select.value = body.months.includes(keep) ? keep : "";
  return body.months;
}
async function draw() {
  const client = $("client").value;
  if (!client) { status("no client yet: create one with the Credentials API", "ready"); return; }
  localStorage.setItem("costs-client", client);
  status("loading…", "loading");
  const months = await loadMonths(client);
  const month = $("month").value || months[months.length - 1] || "";
  const cost = $("cost").value;
  const base = `/reports/${encodeURIComponent(client)}`;
  const q = (extra) => `?cost=${cost}` + (month ? `&month=${month}` : "") + (extra || "");
  const tagKey = ($("tag").value || "team").trim();
  const [summary, byDay, byService, byAccount, byRegion, be, top, byTag] = await Promise.all([
    get(`${base}/summary` + q()),
    get(base + q("&by=day")),
    get(base + q("&by=service&limit=12")),
    get(base + q("&by=account&limit=12")),
    get(base + q("&by=region&limit=12")),
    get(`${base}/billed-vs-effective` + q()),
    get(`${base}/top-resources` + q("&limit=10")),
    get(base + q(`&by=${encodeURIComponent("tag:" + tagKey)}&limit=12`)),
  ]);
  const first = summary.currencies[0] || {};
  const cur = first.currency || "";
  const tiles = [
    [`month to date (${summary.month || "\\u2013"}, through day ${summary.through_day || 0})`,
     money(first.month_to_date || 0, cur)],
    [`${summary.previous_month || "previous month"}, same days`,
     money(first.previous_month_same_days || 0, cur)],
    [`${summary.previous_month || "previous month"}, total`, money(first.previous_month || 0, cur)],
    ["change", first.change_percent == null
      ? "\\u2013" : Number(first.change_percent).toFixed(1) + " %"],
  ];
  $("summary").innerHTML = "";
  for (const [label, value] of tiles) {
    const tile = document.createElement("div");
    tile.className = "tile";
    tile.innerHTML = '<div class="v"></div><div class="l"></div>';
    tile.firstChild.textContent = value; tile.lastChild.textContent = label;
    $("summary").appendChild(tile);
  }
  vbars($("by-day"), byDay.rows.map((r) => ({ label: r.key, value: valueOf(r) })), cur);
  const groups = [["by-service", byService], ["by-account", byAccount], ["by-region", byRegion],
                  ["by-tag", byTag]];
  for (const [id, body] of groups) {
    hbars($(id), body.rows.map((r) => ({ label: r.key, value: valueOf(r) })), cur);
  }
  hbars($("billed-effective"), be.rows.slice(0, 10).map((r) => ({
    label: r.key, value: Number(r.billed_cost), value2: Number(r.effective_cost),
  })), cur);
  const tbody = $("top").querySelector("tbody");
  tbody.innerHTML = "";
  for (const r of top.rows) {
    const tr = document.createElement("tr");
    for (const [text, cls] of [[r.key, ""], [String(r.rows), "n"],
                               [money(valueOf(r), r.currency), "n"]]) {
      const td = document.createElement("td"); td.textContent = text;
      if (cls) { td.className = cls; } tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
  status(`${client} · ${month || "no data"} · ${cost}`, "ready");
}
async function start() {
  try {
    if (!$("key").value) { status("enter the API key (stratus up prints it)", "error"); return; }
    localStorage.setItem("costs-api-key", $("key").value);
    await loadClients();
    await draw();
  } catch (error) { status(String(error.message || error), "error"); }
}
for (const id of ["client", "month", "cost", "tag"]) {
  $(id).addEventListener("change", () => draw().catch((e) => status(e.message, "error")));
}
$("key").addEventListener("change", start);
start();
</script>
</body>
</html>
"""
