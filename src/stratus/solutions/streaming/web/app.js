// stratus live: one small script for every page (no build step; hls.js from npm).
"use strict";

const state = { config: null, token: localStorage.getItem("token"), user: null };
const $ = (sel) => document.querySelector(sel);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const viewerId = localStorage.getItem("viewer") || Math.random().toString(36).slice(2);
localStorage.setItem("viewer", viewerId);

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers.Authorization = "Bearer " + state.token;
  const res = await fetch(state.config.api + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? null : await res.json();
  if (!res.ok) {
    const reason = (data && (data.reasons ? data.reasons.join("; ") : data.message)) || res.statusText;
    throw new Error(reason);
  }
  return data;
}

function formData(form) { return Object.fromEntries(new FormData(form).entries()); }
function mediaUrl(path) { return /^https?:\/\//.test(path) ? path : state.config.site + path; }
// Locally the site checks the session (?token=); on AWS a thumbnail URL is already signed
// for CloudFront, and any other query parameter would break its signature.
function thumbUrl(path) {
  return state.config.signed_media ? mediaUrl(path) : mediaUrl(path) + "?token=" + encodeURIComponent(state.token || "");
}
// On AWS (config.signed_media) private media comes through CloudFront with signed cookies,
// which GET /recordings/{id} sets for the recording's folder; locally the site checks access.
async function playRecording(r) {
  if (state.config.signed_media) await api("GET", "/recordings/" + encodeURIComponent(r.recording_id));
  play(mediaUrl(r.playlist_url), true);
}
function setWho() {
  const who = $("#who");
  if (who) who.textContent = state.user ? `${state.user.display_name} (${state.user.role})` : "not signed in";
}

async function boot() {
  state.config = await (await fetch("config.json")).json();
  if (state.token) {
    try { state.user = await api("GET", "/me"); } catch (e) { state.token = null; localStorage.removeItem("token"); }
  }
  setWho();
  const page = document.body.dataset.page;
  await ({ home, channel, owner, admin }[page])();
  document.body.dataset.ready = "1";
}

function signedIn(data) {
  state.token = data.token; state.user = data.user;
  localStorage.setItem("token", data.token); setWho();
}

// ---- home -----------------------------------------------------------------------------------
async function home() {
  $("#register-form").onsubmit = async (ev) => {
    ev.preventDefault();
    try { signedIn(await api("POST", "/auth/register", formData(ev.target))); $("#auth-error").textContent = "registered"; }
    catch (e) { $("#auth-error").textContent = e.message; }
  };
  $("#login-form").onsubmit = async (ev) => {
    ev.preventDefault();
    try { signedIn(await api("POST", "/auth/login", formData(ev.target))); $("#auth-error").textContent = "signed in"; }
    catch (e) { $("#auth-error").textContent = e.message; }
  };
  const data = await api("GET", "/home");
  const card = (s) => `<div class="card"><a href="channel.html?c=${esc(s.channel_id)}"><b>${esc(s.title)}</b></a><div class="muted">${esc(s.channel_name)} · ${esc(s.status)} ${s.viewers ? "· " + s.viewers + " watching" : ""}</div></div>`;
  $("#live").innerHTML = data.live.map(card).join("") || "<p class='muted'>nobody is live</p>";
  $("#upcoming").innerHTML = data.upcoming.map((s) => card(s) + `<div class="muted">${esc(s.scheduled_at)}</div>`).join("") || "<p class='muted'>nothing scheduled</p>";
  $("#recordings").innerHTML = data.recordings.map((r) => `<div class="card">${r.thumbnail_url ? `<img src="${mediaUrl(r.thumbnail_url)}" alt="">` : ""}<a href="channel.html?c=${esc(r.channel_id)}&r=${esc(r.recording_id)}">${esc(r.title)}</a> <span class="muted">${Math.round(r.duration_s)} s</span></div>`).join("") || "<p class='muted'>no recordings yet</p>";
  $("#channels").innerHTML = data.channels.map((c) => `<div class="card"><a href="channel.html?c=${esc(c.channel_id)}">${esc(c.name)}</a> <span class="muted">♥ ${c.likes}</span></div>`).join("");
}

// ---- channel page ---------------------------------------------------------------------------
let hls = null;
function play(url, auth, attempt = 0) {
  const video = $("#player");
  const stateEl = $("#player-state");
  if (hls) { hls.destroy(); hls = null; }
  const sep = url.includes("?") ? "&" : "?";
  const full = url + sep + "v=" + viewerId;
  video.onplaying = () => { stateEl.textContent = "playing"; video.dataset.state = "playing"; };
  video.onwaiting = () => { stateEl.textContent = "buffering"; };
  video.onended = () => { stateEl.textContent = "ended"; video.dataset.state = "ended"; };
  video.dataset.state = "loading"; video.dataset.src = url;
  if (window.Hls && Hls.isSupported()) {
    hls = new Hls({ liveSyncDurationCount: 2, xhrSetup: (xhr) => { if (auth && state.token) xhr.setRequestHeader("Authorization", "Bearer " + state.token); } });
    hls.on(Hls.Events.ERROR, (_e, d) => {
      if (!d.fatal) return;
      // A stream that just went live may not have its first playlist yet: retry a while.
      if (d.type === Hls.ErrorTypes.NETWORK_ERROR && attempt < 30) {
        stateEl.textContent = "waiting for the stream...";
        setTimeout(() => play(url, auth, attempt + 1), 1000);
        return;
      }
      stateEl.textContent = "error: " + d.details; video.dataset.state = "error";
    });
    hls.loadSource(full); hls.attachMedia(video);
    hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = full; video.play().catch(() => {});
  } else { stateEl.textContent = "HLS is not supported here"; }
}

async function channel() {
  const params = new URLSearchParams(location.search);
  const cid = params.get("c");
  const data = await api("GET", "/channels/" + encodeURIComponent(cid));
  const ch = data.channel;
  document.body.className = "theme-" + ch.theme;
  $("#name").textContent = ch.name; $("#description").textContent = ch.description;
  if (ch.cover_url) $("#cover").style.backgroundImage = `url(${mediaUrl(ch.cover_url)})`;
  $("#likes").textContent = ch.likes;
  $("#status").textContent = data.live ? "LIVE: " + data.live.title : "offline";
  $("#schedule").innerHTML = data.schedule.map((s) => `<li>${esc(s.title)} <span class="muted">${esc(s.scheduled_at)}</span></li>`).join("") || "<li class='muted'>nothing scheduled</li>";
  $("#comments").innerHTML = data.comments.map((c) => `<li><b>${esc(c.user_name)}</b> ${esc(c.text)}</li>`).join("");
  $("#recordings").innerHTML = data.recordings.map((r) => `<div class="card" data-recording="${esc(r.recording_id)}">${r.thumbnail_url ? `<img src="${esc(thumbUrl(r.thumbnail_url))}" alt="">` : ""}<b>${esc(r.title)}</b><div class="muted">${r.ready ? Math.round(r.duration_s) + " s" : (r.error ? "failed: " + esc(r.error) : "processing")} · ${esc(r.visibility)}${r.source === "upload" ? " · upload" : ""}</div>${r.ready ? `<button class="play-rec" data-url="${esc(r.playlist_url)}">Play</button>` : ""}${data.mine && r.ready && r.visibility === "private" ? `<button class="publish-rec" data-id="${esc(r.recording_id)}">Publish</button>` : ""}</div>`).join("") || "<p class='muted'>no recordings</p>";
  document.querySelectorAll(".play-rec").forEach((b) => b.onclick = () => playRecording(data.recordings.find((r) => r.recording_id === b.closest("[data-recording]").dataset.recording)).catch((e) => { $("#player-state").textContent = "error: " + e.message; }));
  document.querySelectorAll(".publish-rec").forEach((b) => b.onclick = async () => { await api("PUT", "/recordings/" + b.dataset.id, { visibility: "public" }); await channel(); });
  $("#upload-form").hidden = !data.mine;
  $("#upload-form").onsubmit = (ev) => { ev.preventDefault(); uploadVideo(cid, ev.target); };
  if (data.live) {
    $("#owner-tools").hidden = !data.mine;
    $("#stop").onclick = async () => { await api("POST", `/streams/${data.live.stream_id}/stop`); $("#status").textContent = "stopped"; };
    if (!hls || $("#player").dataset.src !== mediaUrl(data.live.playlist_url)) play(mediaUrl(data.live.playlist_url), false);
  } else if (params.get("r")) {
    const rec = data.recordings.find((r) => r.recording_id === params.get("r"));
    if (rec && rec.ready && (!hls)) await playRecording(rec);
  }
  $("#like").onclick = async () => { try { $("#likes").textContent = (await api("POST", `/likes/channel:${cid}`)).likes; } catch (e) { $("#chat-error").textContent = e.message; } };
  $("#follow").onclick = async () => { try { await api("POST", `/channels/${cid}/follow`); $("#follow").textContent = "Following"; } catch (e) { $("#chat-error").textContent = e.message; } };
  $("#comment-form").onsubmit = async (ev) => { ev.preventDefault(); try { await api("POST", `/comments/channel:${cid}`, formData(ev.target)); ev.target.reset(); await channel(); } catch (e) { $("#chat-error").textContent = e.message; } };
  connectChat(cid, data.mine);
}

// Custom video: the API gives a signed URL (an S3 presigned PUT on AWS); the file goes there
// directly, then the recording shows "processing" until the transcoder has made it ready.
async function uploadVideo(cid, form) {
  const status = $("#upload-status");
  const file = form.elements.file.files[0];
  if (!file) { status.textContent = "choose a video file"; return; }
  try {
    const contentType = file.type || "video/mp4";
    const grant = await api("POST", `/channels/${encodeURIComponent(cid)}/uploads`, { title: form.elements.title.value || file.name, content_type: contentType, size_bytes: file.size });
    status.textContent = "uploading…";
    const res = await fetch(grant.upload.url, { method: "PUT", headers: { "Content-Type": contentType }, body: file });
    if (!res.ok) throw new Error("upload failed: " + res.status);
    status.textContent = "uploaded, processing";
    form.reset();
    const id = grant.recording.recording_id;
    for (let i = 0; i < 120; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      await channel();
      if (document.querySelector(`[data-recording="${id}"] .play-rec`)) { status.textContent = "ready"; return; }
    }
  } catch (e) { status.textContent = e.message; }
}

let chatSocket = null;
function connectChat(cid, moderator) {
  if (chatSocket) return;
  const log = $("#chat-log");
  // AWS: the API Gateway WebSocket API takes the room as ?channel= and sends the history when
  // asked (nothing can be sent during its $connect); locally the room is in the path.
  const aws = state.config.target === "aws";
  const query = new URLSearchParams(aws ? { channel: cid } : {});
  if (state.token) query.set("token", state.token);
  const path = aws ? "" : `/chat/${encodeURIComponent(cid)}`;
  const qs = query.toString();
  chatSocket = new WebSocket(`${state.config.chat_url}${path}${qs ? "?" + qs : ""}`);
  const show = (m) => {
    const div = document.createElement("div");
    div.className = "msg"; div.id = "m-" + m.message_id;
    div.innerHTML = `<b>${esc(m.user_name)}</b> <span class="text">${esc(m.deleted ? "(deleted)" : m.text)}</span>` + (moderator ? ` <a href="#" data-del="${esc(m.message_id)}" class="muted">delete</a> <a href="#" data-ban="${esc(m.user_id)}" class="muted">ban</a>` : "");
    log.appendChild(div); log.scrollTop = log.scrollHeight;
  };
  chatSocket.onopen = () => {
    log.dataset.connected = "1";
    if (aws) chatSocket.send(JSON.stringify({ type: "history" }));
  };
  chatSocket.onmessage = (ev) => {
    const f = JSON.parse(ev.data);
    if (f.type === "history") f.messages.forEach(show);
    else if (f.type === "message") show(f);
    else if (f.type === "deleted") { const el = document.getElementById("m-" + f.id); if (el) el.querySelector(".text").textContent = "(deleted)"; }
    else if (f.type === "room") $("#chat-error").textContent = f.slow_mode_s ? `slow mode: ${f.slow_mode_s} s` : "";
    else if (f.type === "error") $("#chat-error").textContent = f.reason;
  };
  log.onclick = (ev) => {
    const t = ev.target;
    if (t.dataset.del) { ev.preventDefault(); chatSocket.send(JSON.stringify({ type: "delete", id: t.dataset.del })); }
    if (t.dataset.ban) { ev.preventDefault(); chatSocket.send(JSON.stringify({ type: "ban", user: t.dataset.ban })); }
  };
  $("#chat-form").onsubmit = (ev) => {
    ev.preventDefault();
    const input = ev.target.elements.text;
    if (input.value.trim()) chatSocket.send(JSON.stringify({ type: "say", text: input.value }));
    input.value = "";
  };
}

// ---- owner space ----------------------------------------------------------------------------
async function owner() {
  if (!state.user) { document.querySelector("main").innerHTML = "<p>Sign in on the <a href='index.html'>home page</a> first.</p>"; return; }
  const products = (await api("GET", "/products")).products;
  $("#product-select").innerHTML = products.map((p) => `<option value="${esc(p.product_id)}">${esc(p.name)} — ${(p.price_cents / 100).toFixed(2)} ${esc(p.currency)}</option>`).join("");
  $("#products").innerHTML = products.map((p) => `<div class="card"><b>${esc(p.name)}</b><div>${(p.price_cents / 100).toFixed(2)} ${esc(p.currency)}</div></div>`).join("");
  $("#order-form").onsubmit = async (ev) => {
    ev.preventDefault();
    const f = formData(ev.target);
    try {
      const order = await api("POST", "/orders", { product_id: f.product_id, quantity: Number(f.quantity), payment_token: f.payment_token, shipping: { name: f.name, address: f.address, city: f.city, postcode: f.postcode, country: f.country } });
      $("#order-result").textContent = "order " + order.order_id + ": " + order.status;
      state.user = await api("GET", "/me"); setWho();
    } catch (e) { $("#order-result").textContent = e.message; }
    await ownerLists();
  };
  $("#pairing").onclick = async () => {
    try { const p = await api("POST", "/pairing-codes"); $("#pairing-code").textContent = p.code; }
    catch (e) { $("#pairing-code").textContent = e.message; }
  };
  $("#channel-form").onsubmit = async (ev) => { ev.preventDefault(); await api("POST", "/channels", formData(ev.target)); await ownerLists(); };
  await ownerLists();
}

async function ownerLists() {
  const orders = (await api("GET", "/orders")).orders;
  $("#orders").innerHTML = orders.map((o) => `<li>${esc(o.order_id)} · ${o.quantity} × ${esc(o.product_id)} · <b class="order-status">${esc(o.status)}</b></li>`).join("");
  if (state.user.role === "viewer") return;
  const devices = (await api("GET", "/devices")).devices;
  $("#devices").innerHTML = devices.map((d) => `<li>${esc(d.name)} → channel ${esc(d.channel_id)} · ${d.revoked ? "key revoked" : "key v" + d.key_version} <button data-rotate="${esc(d.device_id)}">Rotate key</button> <button data-revoke="${esc(d.device_id)}">Revoke key</button></li>`).join("") || "<li class='muted'>no devices: get a pairing code and run <code>stratus streaming device --pair CODE</code></li>";
  $("#devices").onclick = async (ev) => {
    const t = ev.target;
    if (t.dataset.rotate) { const r = await api("POST", `/devices/${t.dataset.rotate}/rotate-key`); $("#key-result").textContent = `new key: ${r.stream_key}\ningest: ${r.ingest_url}`; }
    if (t.dataset.revoke) { await api("POST", `/devices/${t.dataset.revoke}/revoke-key`); $("#key-result").textContent = "key revoked"; }
    await ownerLists();
  };
  const channels = (await api("GET", "/channels?mine=1")).channels;
  $("#channels").innerHTML = channels.map((c) => `<div class="card"><a href="channel.html?c=${esc(c.channel_id)}">${esc(c.name)}</a>
    <form data-theme="${esc(c.channel_id)}"><select name="theme">${["dark", "light", "sunset", "ocean"].map((t) => `<option ${t === c.theme ? "selected" : ""}>${t}</option>`).join("")}</select><input name="description" value="${esc(c.description)}" placeholder="description"><button>Save</button></form>
    <form data-schedule="${esc(c.channel_id)}"><input name="title" placeholder="stream title" required><input name="scheduled_at" type="datetime-local"><button>Schedule</button></form></div>`).join("");
  document.querySelectorAll("form[data-theme]").forEach((f) => f.onsubmit = async (ev) => { ev.preventDefault(); await api("PUT", "/channels/" + f.dataset.theme, formData(f)); });
  document.querySelectorAll("form[data-schedule]").forEach((f) => f.onsubmit = async (ev) => {
    ev.preventDefault(); const d = formData(f);
    await api("POST", `/channels/${f.dataset.schedule}/streams`, { title: d.title, scheduled_at: d.scheduled_at ? new Date(d.scheduled_at).toISOString() : null });
  });
  const notes = await api("GET", "/me/notifications");
  $("#notifications").innerHTML = notes.notifications.map((n) => `<li>${esc(n.text)} <span class="muted">${esc(n.at)}</span></li>`).join("");
}

// ---- admin ----------------------------------------------------------------------------------
async function admin() {
  if (!state.user || state.user.role !== "admin") return;
  const refresh = async () => {
    $("#dashboard").textContent = JSON.stringify(await api("GET", "/admin/dashboard"), null, 2);
  };
  await refresh(); setInterval(refresh, 3000);
  const products = (await api("GET", "/products")).products;
  $("#prices").innerHTML = products.map((p) => `<form data-product="${esc(p.product_id)}"><b>${esc(p.name)}</b><input name="price_cents" type="number" value="${p.price_cents}"><button>Set price</button></form>`).join("");
  document.querySelectorAll("form[data-product]").forEach((f) => f.onsubmit = async (ev) => {
    ev.preventDefault(); const p = products.find((x) => x.product_id === f.dataset.product);
    await api("PUT", "/admin/products/" + p.product_id, { name: p.name, price_cents: Number(formData(f).price_cents), active: true });
  });
  $("#orders").textContent = JSON.stringify((await api("GET", "/admin/orders")).orders.map((o) => [o.order_id, o.status, o.amount_cents]), null, 1);
  $("#users").textContent = JSON.stringify((await api("GET", "/admin/users")).users.map((u) => [u.email, u.role]), null, 1);
  $("#report").textContent = JSON.stringify(await api("GET", "/admin/report"), null, 2);
}

boot().catch((e) => { document.body.dataset.ready = "error"; console.error(e); });
