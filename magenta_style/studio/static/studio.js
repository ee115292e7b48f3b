// Style studio page. Plain JavaScript, no build step. Every picture comes
// from the server (magenta_style.stylize); this file only keeps the slider
// state, sends it, and draws what comes back.
"use strict";

const $ = (id) => document.getElementById(id);

const state = {
  info: null,          // /api/info
  map: null,           // /api/style_map
  weights: [],         // one slider value per style, rounded to 3 decimals
  photo: null,         // /api/photo answer
  mode: "photo",
  selected: [],        // style indices picked on the map (0, 1 or 2)
  paintings: [],       // dropped paintings: {id, name, weight}, in drop order
};

const paintingMix = () => state.paintings.some((p) => p.weight > 0);

// Painted regions (issue 20): one offscreen canvas per region at the photo's
// working size, alpha = the region's mask. Sent to the server as one PNG,
// the masks stacked vertically in gray (POST /api/masks), before a render.
const REGION_COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4"];
const MAX_REGIONS = REGION_COLOURS.length;  // = engine.MAX_REGIONS
const paint = {
  regions: [],         // {colour, style: "mix" | index, canvas, painted}
  active: 0,           // the region the brush paints
  dirty: false,        // masks changed since they were last sent
  drawing: false,
  last: null,          // the brush's previous point, in working pixels
};

// ---------------------------------------------------------------- helpers

const round3 = (x) => Math.round(x * 1000) / 1000;
const fmt = (x) => String(round3(x));

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

async function errorText(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error;
  } catch (e) { /* not JSON */ }
  return `The server answered ${response.status} ${response.statusText}.`;
}

function options() {
  const opts = {
    weights: state.weights.slice(),
    normalize: $("normalize").checked,
    preserve_colors: $("preserve-colors").checked,
    strength: Number($("strength").value),
  };
  if (paintingMix()) {
    // Rendered by the painting model: their style vectors, mixed.
    opts.paintings = Object.fromEntries(
      state.paintings.filter((p) => p.weight > 0).map((p) => [p.id, p.weight]));
  } else if (regionsActive()) {
    opts.regions = paint.regions.map(regionWeights);
    opts.region_statistics = "shared";  // one pass: the cheap live preview
  }
  return opts;
}

function query(opts) {
  const q = new URLSearchParams({
    weights: opts.weights.map(fmt).join(","),
    normalize: opts.normalize ? "1" : "0",
    preserve_colors: opts.preserve_colors ? "1" : "0",
    strength: String(opts.strength),
  });
  if (opts.paintings) {
    q.set("paintings", Object.entries(opts.paintings).map(([id, w]) => `${id}:${fmt(w)}`).join(","));
  }
  if (opts.regions) {
    q.set("regions", opts.regions.map((row) => row.map(fmt).join(",")).join(";"));
    q.set("region_statistics", opts.region_statistics);
  }
  if (state.photo) q.set("photo", state.photo.id);
  return q.toString();
}

// "{0:0.5,3:0.5}": Magenta's mixture syntax, which bin/stylize reads.
function mixtureLiteral(weights) {
  const parts = [];
  weights.forEach((w, i) => { if (w > 0) parts.push(`${i}:${fmt(w)}`); });
  return `{${parts.join(",")}}`;
}

function shellQuote(s) {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

// ---------------------------------------------------------------- mixture

function setWeights(weights, { render = true } = {}) {
  state.weights = weights.map(round3);
  // One family per mixture: a model style's weight sets the paintings' to 0.
  if (state.weights.some((w) => w > 0)) state.paintings.forEach((p) => { p.weight = 0; });
  syncPaintingCards();
  document.querySelectorAll(".style-card:not(.painting-card)").forEach((card) => {
    const i = Number(card.dataset.index);
    const w = state.weights[i];
    card.querySelector("input").value = String(w);
    card.querySelector("output").textContent = w.toFixed(2);
    card.classList.toggle("active", w > 0);
  });
  updateMixtureViews();
  if (render) scheduleRender();
}

function updateMixtureViews() {
  const total = state.weights.reduce((a, b) => a + b, 0);
  const names = state.info.style_names;
  const normalize = $("normalize").checked;
  const parts = [];
  state.weights.forEach((w, i) => {
    if (w > 0) {
      const shown = normalize ? `${Math.round((100 * w) / total)}%` : fmt(w);
      parts.push(`${names[i]} ${shown}`);
    }
  });
  if (paintingMix()) {
    parts.length = 0;
    const ptotal = state.paintings.reduce((a, p) => a + p.weight, 0);
    state.paintings.forEach((p) => {
      if (p.weight > 0) parts.push(`${p.name} ${Math.round((100 * p.weight) / ptotal)}%`);
    });
  }
  const text = parts.length ? parts.join(" · ") : "no style: move a slider";
  $("mixture").textContent = text;
  $("webcam-mixture").textContent = `mixture: ${text}`;
  const strength = Number($("strength").value);
  $("strength-value").textContent = strength.toFixed(2);
  let which = mixtureLiteral(state.weights);
  if (regionsActive()) {
    which = `[${paint.regions.map((r) => mixtureLiteral(regionWeights(r))).join(",")}]`;
  }
  let cmd = `bin/stylize --checkpoint=${shellQuote(state.info.checkpoint)}` +
    ` --input_image=${shellQuote(state.photo ? state.photo.name : "photo.jpg")}` +
    ` --output_dir=. --which_styles="${which}"`;
  if (paintingMix()) {
    const used = state.paintings.filter((p) => p.weight > 0);
    const ptotal = used.reduce((a, p) => a + p.weight, 0);
    cmd = `bin/stylize --input_image=${shellQuote(state.photo ? state.photo.name : "photo.jpg")}` +
      " --output_dir=. " + (used.length === 1 ? `--style_image=${shellQuote(used[0].name)}`
        : `--style_images=${shellQuote(used.map((p) => p.name).join(","))}` +
          ` --style_blend_weights=${used.map((p) => fmt(p.weight / ptotal)).join(",")}`);
  }
  if (regionsActive()) {
    cmd += ` --style_masks=${paint.regions.map((_, i) => `region${i}.png`).join(",")}`;
  }
  if (normalize && !paintingMix()) cmd += " --normalize_weights";
  if ($("preserve-colors").checked) cmd += " --preserve_colors";
  if (strength !== 1) cmd += ` --strength=${strength}`;
  $("command").textContent = cmd;
  document.querySelectorAll("#style-map .point").forEach((p) => {
    p.classList.toggle("weighted", state.weights[Number(p.dataset.index)] > 0);
  });
}

// ---------------------------------------------------------------- rendering

// At most one render in flight; slider moves during it mark the state dirty
// and the latest state is sent when it returns (no queue of stale renders).
let renderTimer = null;
let inFlight = false;
let dirty = false;
let resultUrl = null;

// Sliders debounce (the render starts 60 ms after the last move); a brush
// stroke throttles (a render at most every 60 ms while it goes on).
function scheduleRender({ throttle = false } = {}) {
  if (!state.photo || state.mode !== "photo") return;
  dirty = true;
  $("result").dataset.state = "rendering";
  if (throttle && renderTimer !== null) return;
  clearTimeout(renderTimer);
  renderTimer = setTimeout(() => { renderTimer = null; pump(); }, 60);
}

async function pump() {
  if (inFlight || !dirty) return;
  dirty = false;
  inFlight = true;
  const req = { photo: state.photo.id, ...options() };
  const started = performance.now();
  const img = $("result");
  try {
    if (req.regions && !(await sendMasks())) {
      img.dataset.state = dirty ? "rendering" : "error";
      return;
    }
    const response = await fetch("/api/render", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(req),
    });
    if (!response.ok) {
      showError(await errorText(response));
      img.dataset.state = dirty ? "rendering" : "error";
      return;
    }
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    img.src = url;
    await img.decode();
    if (resultUrl) URL.revokeObjectURL(resultUrl);
    resultUrl = url;
    clearError();
    const server = response.headers.get("X-Render-Ms");
    $("render-status").textContent =
      `${img.naturalWidth}×${img.naturalHeight} preview · ${server} ms on the server, ` +
      `${Math.round(performance.now() - started)} ms in all`;
    img.dataset.request = JSON.stringify(req);
    img.dataset.renders = String(Number(img.dataset.renders || 0) + 1);
    if (!dirty) img.dataset.state = "done";
  } catch (e) {
    showError(`Render failed: ${e.message}`);
  } finally {
    inFlight = false;
    if (dirty) pump();
  }
}

// ---------------------------------------------------------------- photos

async function uploadPhoto(file) {
  clearError();
  const limit = state.info.max_upload_mb * 1e6;
  if (file.size > limit) {
    showError(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB, more than the ` +
              `studio's limit of ${state.info.max_upload_mb} MB.`);
    return;
  }
  $("render-status").textContent = "uploading…";
  const response = await fetch(`/api/photo?name=${encodeURIComponent(file.name)}`, {
    method: "POST",
    // The server reads the type from the bytes; the header only has to be
    // an image type or octet-stream (it refuses text/plain, see app.py).
    headers: { "Content-Type": file.type.startsWith("image/") ? file.type
                                                              : "application/octet-stream" },
    body: file,
  });
  if (!response.ok) {
    $("render-status").textContent = "";
    showError(await errorText(response));
    return;
  }
  state.photo = await response.json();
  $("original").src = `/api/photo/${state.photo.id}`;
  $("photo-name").textContent =
    `${state.photo.name} (${state.photo.width}×${state.photo.height})`;
  $("result-figure").hidden = false;
  $("drop-zone").classList.add("compact");
  $("download").disabled = false;
  resetRegions();
  updateMixtureViews();
  scheduleRender();
}

async function download() {
  const button = $("download");
  button.disabled = true;
  const label = button.textContent;
  button.textContent = `Rendering ${state.photo.width}×${state.photo.height}…`;
  try {
    const opts = options();
    if (opts.regions) {
      // The final picture: each region normalised with its own style's
      // statistics (equal to its single-style pastiche away from the seams).
      opts.region_statistics = "per_style";
      if (!(await sendMasks())) return;
    }
    const response = await fetch(`/api/download?${query(opts)}`);
    if (!response.ok) { showError(await errorText(response)); return; }
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = /filename="([^"]+)"/.exec(disposition);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(await response.blob());
    a.download = match ? match[1] : "stylized.png";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } finally {
    button.textContent = label;
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- webcam

const webcam = { stream: null, on: false, frames: 0, fps: 0, last: 0, url: null, blob: null,
                 id: "", reset: true };

// A camera session's id: the server keeps one temporal smoother per id.
function newStreamId() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function startWebcam() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showError("This browser gives no camera to this page (it must be opened as " +
              "http://127.0.0.1 or http://localhost, or over HTTPS).");
    return false;
  }
  try {
    webcam.stream = await navigator.mediaDevices.getUserMedia(
      { video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  } catch (e) {
    showError(`No camera: ${e.message}`);
    return false;
  }
  const video = $("webcam-video");
  video.srcObject = webcam.stream;
  await video.play();
  webcam.on = true;
  webcam.id = newStreamId();
  webcam.reset = true;
  webcam.frames = 0;
  webcam.last = performance.now();
  webcamLoop();
  return true;
}

function stopWebcam() {
  webcam.on = false;
  if (webcam.stream) webcam.stream.getTracks().forEach((t) => t.stop());
  webcam.stream = null;
}

async function webcamLoop() {
  const video = $("webcam-video");
  const canvas = document.createElement("canvas");
  const out = $("webcam-result");
  while (webcam.on) {
    if (!video.videoWidth) { await new Promise((r) => setTimeout(r, 50)); continue; }
    const scale = Math.min(1, state.info.webcam_size / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    const frame = await new Promise((r) => canvas.toBlob(r, "image/jpeg", 0.9));
    const opts = options();
    delete opts.regions;  // painted regions belong to the photo
    let q = query(opts);
    const smooth = $("temporal").checked;
    if (smooth) {
      q += `&stream=${webcam.id}${webcam.reset ? "&reset=1" : ""}`;
      webcam.reset = false;
    }
    let response;
    try {
      response = await fetch(`/api/frame?${q}`, {
        method: "POST", headers: { "Content-Type": frame.type || "image/jpeg" }, body: frame,
      });
    } catch (e) {
      showError(`Webcam frame failed: ${e.message}`);
      break;
    }
    if (!response.ok) {
      showError(await errorText(response));
      await new Promise((r) => setTimeout(r, 500));  // e.g. all sliders at 0
      continue;
    }
    clearError();
    webcam.blob = await response.blob();
    const url = URL.createObjectURL(webcam.blob);
    out.src = url;
    await out.decode().catch(() => {});
    if (webcam.url) URL.revokeObjectURL(webcam.url);
    webcam.url = url;
    const now = performance.now();
    const instant = 1000 / Math.max(1, now - webcam.last);
    webcam.last = now;
    webcam.frames += 1;
    webcam.fps = webcam.frames === 1 ? instant : 0.8 * webcam.fps + 0.2 * instant;
    out.dataset.frames = String(webcam.frames);
    out.dataset.smoothed = smooth ? "1" : "0";
    $("webcam-fps").textContent =
      `${webcam.fps.toFixed(1)} fps · ${canvas.width}×${canvas.height} · ` +
      `${response.headers.get("X-Render-Ms")} ms on the server · ` +
      (smooth ? "smoothed over time" : "each frame alone");
  }
}

async function setMode(mode) {
  if (mode === state.mode) return;
  state.mode = mode;
  $("mode-photo").classList.toggle("active", mode === "photo");
  $("mode-webcam").classList.toggle("active", mode === "webcam");
  $("photo-stage").hidden = mode !== "photo";
  $("webcam-stage").hidden = mode !== "webcam";
  if (mode === "webcam") {
    if (!(await startWebcam())) setMode("photo");
  } else {
    stopWebcam();
    scheduleRender();
  }
}

// ---------------------------------------------------------------- regions

function regionsActive() {
  return !paintingMix() && $("regions-on").checked && state.photo !== null &&
    paint.regions.some((r) => r.painted);
}

function regionWeights(region) {
  if (region.style === "mix") return state.weights.slice();
  const w = new Array(state.info.num_styles).fill(0);
  w[region.style] = 1;
  return w;
}

function makeRegionCanvas() {
  const c = document.createElement("canvas");
  c.width = state.photo.working_width;
  c.height = state.photo.working_height;
  return c;
}

function addRegion(style) {
  if (paint.regions.length >= MAX_REGIONS) return;
  paint.regions.push({ colour: REGION_COLOURS[paint.regions.length], style,
                       canvas: makeRegionCanvas(), painted: false });
  paint.active = paint.regions.length - 1;
  buildRegionList();
}

function buildRegionList() {
  const list = $("region-list");
  list.replaceChildren();
  paint.regions.forEach((region, k) => {
    const li = document.createElement("li");
    li.dataset.index = String(k);
    li.classList.toggle("active", k === paint.active);
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = region.colour;
    swatch.title = "Paint this region";
    const label = document.createElement("span");
    label.textContent = `Region ${k + 1}`;
    const select = document.createElement("select");
    select.setAttribute("aria-label", `Style of region ${k + 1}`);
    const mix = new Option("the sliders' mixture", "mix");
    select.add(mix);
    state.info.style_names.forEach((name, i) => select.add(new Option(`${i} ${name}`, String(i))));
    select.value = String(region.style);
    select.addEventListener("change", () => {
      region.style = select.value === "mix" ? "mix" : Number(select.value);
      updateMixtureViews();
      scheduleRender();
    });
    const remove = document.createElement("button");
    remove.textContent = "×";
    remove.title = "Remove this region";
    remove.disabled = paint.regions.length === 1;
    remove.addEventListener("click", (e) => {
      e.stopPropagation();
      paint.regions.splice(k, 1);
      paint.regions.forEach((r, j) => { r.colour = REGION_COLOURS[j]; });
      paint.active = Math.min(paint.active, paint.regions.length - 1);
      paint.dirty = true;
      buildRegionList();
      drawOverlay();
      updateMixtureViews();
      scheduleRender();
    });
    li.addEventListener("click", (e) => {
      if (e.target === select) return;
      paint.active = k;
      buildRegionList();
    });
    li.append(swatch, label, select, remove);
    list.appendChild(li);
  });
  $("add-region").disabled = paint.regions.length >= MAX_REGIONS;
}

// New photo: two regions, the sliders' mixture and another style, unpainted.
function resetRegions() {
  paint.regions = [];
  paint.dirty = true;
  const overlay = $("mask-canvas");
  overlay.width = state.photo.working_width;
  overlay.height = state.photo.working_height;
  addRegion("mix");
  const first = state.weights.findIndex((w) => w > 0);
  addRegion(first === 1 ? 2 : 1);
  paint.active = 0;
  buildRegionList();
  drawOverlay();
}

function drawOverlay() {
  const overlay = $("mask-canvas");
  const ctx = overlay.getContext("2d");
  ctx.clearRect(0, 0, overlay.width, overlay.height);
  if (!$("show-masks").checked) return;
  const tint = document.createElement("canvas");
  tint.width = overlay.width;
  tint.height = overlay.height;
  const t = tint.getContext("2d");
  for (const region of paint.regions) {
    t.globalCompositeOperation = "copy";
    t.drawImage(region.canvas, 0, 0);
    t.globalCompositeOperation = "source-in";  // the mask's alpha, in the region's colour
    t.fillStyle = region.colour;
    t.fillRect(0, 0, tint.width, tint.height);
    ctx.globalAlpha = 0.4;
    ctx.drawImage(tint, 0, 0);
  }
  ctx.globalAlpha = 1;
}

function brushPoint(e) {
  const overlay = $("mask-canvas");
  const box = overlay.getBoundingClientRect();
  return [(e.clientX - box.left) * overlay.width / box.width,
          (e.clientY - box.top) * overlay.height / box.height];
}

// One brush segment: painted into the active region and, so each pixel has
// one region, taken out of the others (the eraser takes it out of all).
function strokeTo(point) {
  const from = paint.last || point;
  const erase = $("eraser").checked;
  paint.regions.forEach((region, k) => {
    const ctx = region.canvas.getContext("2d");
    ctx.globalCompositeOperation = erase || k !== paint.active ? "destination-out" : "source-over";
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = Number($("brush").value);
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(point[0] + 0.01, point[1]);  // a dot for a click without a move
    ctx.stroke();
    if (!erase && k === paint.active) region.painted = true;
  });
  paint.last = point;
  paint.dirty = true;
  drawOverlay();
  updateMixtureViews();
  scheduleRender({ throttle: true });
}

// Region k's mask, white (weight 1) on black, on a canvas of the working size.
function grayMask(region) {
  const c = document.createElement("canvas");
  c.width = region.canvas.width;
  c.height = region.canvas.height;
  const ctx = c.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.drawImage(region.canvas, 0, 0);
  return c;
}

// The masks as files for `bin/stylize --style_masks=region0.png,...` (drawn
// on the preview: bin/stylize resizes them to the photo, saying so).
async function saveMasks() {
  for (const [k, region] of paint.regions.entries()) {
    const blob = await new Promise((r) => grayMask(region).toBlob(r, "image/png"));
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `region${k}.png`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }
}

// The masks as one PNG: region k in gray at rows k*h..(k+1)*h on black.
async function sendMasks() {
  if (!paint.dirty) return true;
  const w = state.photo.working_width, h = state.photo.working_height;
  const stacked = document.createElement("canvas");
  stacked.width = w;
  stacked.height = h * paint.regions.length;
  const ctx = stacked.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, stacked.width, stacked.height);
  paint.regions.forEach((region, k) => ctx.drawImage(region.canvas, 0, k * h));
  paint.dirty = false;
  const blob = await new Promise((r) => stacked.toBlob(r, "image/png"));
  const response = await fetch(`/api/masks?photo=${state.photo.id}`, {
    method: "POST", headers: { "Content-Type": "image/png" }, body: blob,
  });
  if (!response.ok) {
    paint.dirty = true;
    showError(await errorText(response));
    return false;
  }
  $("result").dataset.masks = JSON.stringify(await response.json());
  return true;
}

function wireRegions() {
  const overlay = $("mask-canvas");
  $("regions-on").addEventListener("change", () => {
    const on = $("regions-on").checked;
    $("regions-panel").hidden = !on;
    overlay.hidden = !on;
    updateMixtureViews();
    if (paint.regions.some((r) => r.painted)) scheduleRender();
  });
  overlay.addEventListener("pointerdown", (e) => {
    if (!paint.regions.length) return;
    overlay.setPointerCapture(e.pointerId);
    paint.drawing = true;
    paint.last = null;
    strokeTo(brushPoint(e));
  });
  overlay.addEventListener("pointermove", (e) => { if (paint.drawing) strokeTo(brushPoint(e)); });
  for (const ev of ["pointerup", "pointercancel"]) {
    overlay.addEventListener(ev, () => {
      if (!paint.drawing) return;
      paint.drawing = false;
      paint.last = null;
      scheduleRender();
    });
  }
  $("brush").addEventListener("input", () => { $("brush-value").textContent = $("brush").value; });
  $("show-masks").addEventListener("change", drawOverlay);
  $("add-region").addEventListener("click", () => {
    const used = new Set(paint.regions.map((r) => r.style));
    const free = state.info.style_names.findIndex((_, i) => !used.has(i));
    addRegion(free >= 0 ? free : 0);
  });
  $("save-masks").addEventListener("click", saveMasks);
  $("clear-masks").addEventListener("click", () => {
    for (const region of paint.regions) {
      region.canvas.getContext("2d").clearRect(0, 0, region.canvas.width, region.canvas.height);
      region.painted = false;
    }
    paint.dirty = true;
    drawOverlay();
    updateMixtureViews();
    scheduleRender();
  });
}

// ---------------------------------------------------------------- paintings

async function addPainting(file) {
  clearError();
  const response = await fetch(`/api/painting?name=${encodeURIComponent(file.name)}`, {
    method: "POST",
    headers: { "Content-Type": file.type.startsWith("image/") ? file.type
                                                              : "application/octet-stream" },
    body: file,
  });
  if (!response.ok) { showError(await errorText(response)); return; }
  const painting = await response.json();
  state.paintings.push({ ...painting, weight: 0 });
  // The server keeps the last max_paintings; so does the page.
  while (state.paintings.length > state.info.max_paintings) state.paintings.shift();
  buildPaintingCards();
  soloPainting(painting.id);
  await refreshMap();
}

function buildPaintingCards() {
  document.querySelectorAll(".painting-card").forEach((c) => c.remove());
  const strip = $("style-strip");
  state.paintings.forEach((p) => {
    const card = document.createElement("div");
    card.className = "style-card painting-card";
    card.dataset.painting = p.id;
    card.innerHTML = `<img alt="">
      <div class="name"><span></span><output>0.00</output></div>
      <input type="range" min="0" max="1" step="0.01" value="0">`;
    const img = card.querySelector("img");
    img.src = `/api/painting/${p.id}`;
    img.alt = `Painting ${p.name}`;
    img.title = `${p.name}: click to use this painting alone`;
    card.querySelector(".name span").textContent = p.name;
    const slider = card.querySelector("input");
    slider.setAttribute("aria-label", `Weight of painting ${p.name}`);
    slider.addEventListener("input", () => setPaintingWeight(p.id, Number(slider.value)));
    img.addEventListener("click", () => soloPainting(p.id));
    strip.prepend(card);
  });
  syncPaintingCards();
}

function syncPaintingCards() {
  state.paintings.forEach((p) => {
    const card = document.querySelector(`.painting-card[data-painting="${p.id}"]`);
    if (!card) return;
    card.querySelector("input").value = String(p.weight);
    card.querySelector("output").textContent = p.weight.toFixed(2);
    card.classList.toggle("active", p.weight > 0);
  });
  document.querySelectorAll("#painting-map .point").forEach((g) => {
    const p = state.paintings.find((q) => q.id === g.dataset.painting);
    g.classList.toggle("weighted", Boolean(p && p.weight > 0));
  });
}

// One family per mixture: a painting's weight sets the model's styles to 0.
function setPaintingWeight(id, weight) {
  state.paintings.forEach((p) => { if (p.id === id) p.weight = round3(weight); });
  if (paintingMix()) {
    state.weights = state.weights.map(() => 0);
    document.querySelectorAll(".style-card:not(.painting-card)").forEach((card) => {
      card.querySelector("input").value = "0";
      card.querySelector("output").textContent = "0.00";
      card.classList.remove("active");
    });
  }
  syncPaintingCards();
  updateMixtureViews();
  scheduleRender();
}

function soloPainting(id) {
  state.paintings.forEach((p) => { p.weight = 0; });
  setPaintingWeight(id, 1);
}

async function refreshMap() {
  const response = await fetch("/api/style_map");
  if (!response.ok) { showError(await errorText(response)); return; }
  state.map = await response.json();
  drawPaintingMap();
}

function drawPaintingMap() {
  const data = state.map && state.map.paintings;
  $("painting-map-wrap").hidden = !data;
  if (!data) return;
  const svg = $("painting-map");
  const W = 800, H = 300, pad = 40, tw = 48, th = 48;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren();
  const xs = data.coords.map((c) => c[0]), ys = data.coords.map((c) => c[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (W - 2 * pad) / Math.max(x1 - x0, 1e-9), sy = (H - 2 * pad) / Math.max(y1 - y0, 1e-9);
  // An axis with (almost) no spread (two paintings lie on a line) is centred.
  const flat = (lo, hi) => hi - lo <= 1e-6 * Math.max(x1 - x0, y1 - y0, 1e-9);
  const truePos = data.coords.map(([x, y]) => [
    flat(x0, x1) ? W / 2 : pad + (x - x0) * sx, flat(y0, y1) ? H / 2 : H - pad - (y - y0) * sy]);
  const pos = spread(truePos, tw, th, W, H);
  data.ids.forEach((id, i) => {
    svgEl("circle", { cx: truePos[i][0], cy: truePos[i][1], r: 3, fill: "#6b6b6b" }, svg);
    const g = svgEl("g", { class: "point", "data-painting": id,
                           transform: `translate(${pos[i][0] - tw / 2},${pos[i][1] - th / 2})` }, svg);
    svgEl("image", { href: `/api/painting/${id}`, width: tw, height: th }, g);
    svgEl("rect", { width: tw, height: th, rx: 3 }, g);
    const label = svgEl("text", { x: tw / 2, y: th + 11, "text-anchor": "middle" }, g);
    label.textContent = data.names[i];
    const title = svgEl("title", {}, g);
    title.textContent = `${data.names[i]}: click to use this painting alone`;
    g.addEventListener("click", () => soloPainting(id));
  });
  const n = data.ids.length;
  const pairs = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) pairs.push(`${data.names[i]}–${data.names[j]} ${data.distances[i][j].toFixed(1)}`);
  }
  $("painting-map-caption").textContent =
    `${n} painting${n === 1 ? "" : "s"}, style vectors of ${data.dimension} numbers` +
    (pairs.length ? `; L2 distances: ${pairs.join(", ")}` : "") + ".";
  syncPaintingCards();
}

// ---------------------------------------------------------------- styles

function buildStrip() {
  const strip = $("style-strip");
  state.info.style_names.forEach((name, i) => {
    const card = document.createElement("div");
    card.className = "style-card";
    card.dataset.index = String(i);
    card.innerHTML = `<img alt="" loading="lazy">
      <div class="name"><span></span><output>0.00</output></div>
      <input type="range" min="0" max="1" step="0.01" value="0">`;
    const img = card.querySelector("img");
    img.src = `/api/thumbnail/${i}`;
    img.alt = `Style ${i}: ${name}`;
    img.title = `${name}: click to use this style alone`;
    card.querySelector(".name span").textContent = `${i} ${name}`;
    const slider = card.querySelector("input");
    slider.setAttribute("aria-label", `Weight of style ${i} (${name})`);
    slider.addEventListener("input", () => {
      const w = state.weights.slice();
      w[i] = Number(slider.value);
      setWeights(w);
    });
    img.addEventListener("click", () => solo(i));
    strip.appendChild(card);
  });
}

function solo(i) {
  const w = new Array(state.info.num_styles).fill(0);
  w[i] = 1;
  setWeights(w);
}

// ---------------------------------------------------------------- map

const SVG = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs, parent) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}

function mapPositions() {
  const W = 800, H = 600, pad = 50;
  const xs = state.map.coords.map((c) => c[0]);
  const ys = state.map.coords.map((c) => c[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (W - 2 * pad) / Math.max(x1 - x0, 1e-9);
  const sy = (H - 2 * pad) / Math.max(y1 - y0, 1e-9);
  return state.map.coords.map(([x, y]) => [pad + (x - x0) * sx, H - pad - (y - y0) * sy]);
}

// Thumbnails are pushed apart until they no longer overlap; a dot marks each
// style's true PCA position, with a thin line to its thumbnail when moved.
function spread(points, tw, th, W, H) {
  const p = points.map(([x, y]) => [x, y]);
  for (let iter = 0; iter < 200; iter++) {
    let moved = false;
    for (let i = 0; i < p.length; i++) {
      for (let j = i + 1; j < p.length; j++) {
        const dx = p[j][0] - p[i][0], dy = p[j][1] - p[i][1];
        const ox = tw + 4 - Math.abs(dx), oy = th + 16 - Math.abs(dy);
        if (ox <= 0 || oy <= 0) continue;
        moved = true;
        if (ox / tw < oy / th) {
          const s = (dx >= 0 ? 1 : -1) * ox / 2;
          p[i][0] -= s; p[j][0] += s;
        } else {
          const s = (dy >= 0 ? 1 : -1) * oy / 2;
          p[i][1] -= s; p[j][1] += s;
        }
      }
    }
    for (const q of p) {
      q[0] = Math.min(W - tw / 2 - 2, Math.max(tw / 2 + 2, q[0]));
      q[1] = Math.min(H - th / 2 - 14, Math.max(th / 2 + 2, q[1]));
    }
    if (!moved) break;
  }
  return p;
}

function drawMap() {
  const svg = $("style-map");
  svg.setAttribute("viewBox", "0 0 800 600");
  svg.replaceChildren();
  const truePos = mapPositions();
  const tw = 56, th = 42;
  const pos = spread(truePos, tw, th, 800, 600);
  const [a, b] = state.selected;
  const under = svgEl("g", {}, svg);
  truePos.forEach(([x, y], i) => {
    if (Math.hypot(x - pos[i][0], y - pos[i][1]) > 3) {
      svgEl("line", { x1: x, y1: y, x2: pos[i][0], y2: pos[i][1], stroke: "#b9b3a6" }, under);
    }
    svgEl("circle", { cx: x, cy: y, r: 3, fill: "#6b6b6b" }, under);
  });
  if (state.selected.length === 2) {
    svgEl("line", { class: "pair", x1: truePos[a][0], y1: truePos[a][1],
                    x2: truePos[b][0], y2: truePos[b][1] }, under);
  }
  state.map.names.forEach((name, i) => {
    const g = svgEl("g", { class: "point", "data-index": i,
                           transform: `translate(${pos[i][0] - tw / 2},${pos[i][1] - th / 2})` }, svg);
    if (state.selected.includes(i)) g.classList.add("selected");
    if (state.weights[i] > 0) g.classList.add("weighted");
    svgEl("image", { href: `/api/thumbnail/${i}`, width: tw, height: th }, g);
    svgEl("rect", { width: tw, height: th, rx: 3 }, g);
    const label = svgEl("text", { x: tw / 2, y: th + 11, "text-anchor": "middle" }, g);
    label.textContent = String(i);
    const title = svgEl("title", {}, g);
    title.textContent = `${i} ${name}: click two styles to blend them`;
    g.addEventListener("click", () => pick(i));
  });
  if (state.selected.length === 2) {
    const d = state.map.distances[a][b];
    const t = svgEl("text", { class: "pair-label", x: (truePos[a][0] + truePos[b][0]) / 2,
                              y: (truePos[a][1] + truePos[b][1]) / 2, "text-anchor": "middle" }, svg);
    t.textContent = `distance ${d.toFixed(1)}`;
  }
  const [e1, e2] = state.map.explained;
  $("map-caption").textContent =
    `${state.map.names.length} styles, embeddings of ${state.map.dimension} numbers; ` +
    `the two axes hold ${(100 * e1).toFixed(0)}% and ${(100 * e2).toFixed(0)}% of their variance. ` +
    "Dots are the exact positions; thumbnails are moved apart so none hides another.";
}

function pick(i) {
  const sel = state.selected;
  if (sel.length === 1 && sel[0] !== i) {
    state.selected = [sel[0], i];
    $("blend").value = "0.5";
    applyBlend();
  } else if (sel.length === 1 && sel[0] === i) {
    state.selected = [];
  } else {
    state.selected = [i];
  }
  const [a, b] = state.selected;
  $("blend-pair").hidden = state.selected.length !== 2;
  if (state.selected.length === 2) {
    $("blend-a").textContent = `${a} ${state.map.names[a]}`;
    $("blend-b").textContent = `${b} ${state.map.names[b]}`;
  }
  drawMap();
  highlightTable();
}

function applyBlend() {
  const [a, b] = state.selected;
  const t = Number($("blend").value);
  const w = new Array(state.info.num_styles).fill(0);
  w[a] = round3(1 - t);
  w[b] = round3(t);
  setWeights(w);
}

function buildTable() {
  const d = state.map.distances;
  const n = d.length;
  const off = d.flatMap((row, i) => row.filter((_, j) => j !== i));
  const lo = Math.min(...off), hi = Math.max(...off);
  const table = $("distance-table");
  const head = table.createTHead().insertRow();
  head.appendChild(document.createElement("th"));
  for (let j = 0; j < n; j++) {
    const th = document.createElement("th");
    th.textContent = String(j);
    th.title = state.map.names[j];
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (let i = 0; i < n; i++) {
    const row = body.insertRow();
    const th = document.createElement("th");
    th.textContent = `${i} ${state.map.names[i]}`;
    row.appendChild(th);
    for (let j = 0; j < n; j++) {
      const cell = row.insertCell();
      cell.textContent = d[i][j].toFixed(1);
      cell.dataset.i = String(i);
      cell.dataset.j = String(j);
      if (i === j) {
        cell.style.background = "#e5e2da";
      } else {
        const t = (d[i][j] - lo) / Math.max(hi - lo, 1e-9);  // 0 = nearest pair
        cell.style.background = `hsl(22, 80%, ${52 + 45 * t}%)`;
        cell.title = `${state.map.names[i]} – ${state.map.names[j]}: ${d[i][j].toFixed(2)}; click to blend`;
        cell.addEventListener("click", () => { state.selected = [i]; pick(j); });
      }
    }
  }
}

function highlightTable() {
  const [a, b] = state.selected;
  document.querySelectorAll("#distance-table td").forEach((c) => {
    const i = Number(c.dataset.i), j = Number(c.dataset.j);
    c.classList.toggle("hl", state.selected.length === 2 &&
                       ((i === a && j === b) || (i === b && j === a)));
  });
}

// ---------------------------------------------------------------- wiring

function wire() {
  const input = $("file-input");
  input.addEventListener("change", () => { if (input.files[0]) uploadPhoto(input.files[0]); });
  const zone = $("drop-zone");
  const stage = $("stage");
  stage.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("dragging"); });
  stage.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  stage.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    const file = e.dataTransfer.files[0];
    if (file) { setMode("photo"); uploadPhoto(file); }
  });
  zone.addEventListener("keydown", (e) => { if (e.key === "Enter") input.click(); });
  for (const id of ["normalize", "preserve-colors", "strength"]) {
    $(id).addEventListener("input", () => { updateMixtureViews(); scheduleRender(); });
  }
  $("blend").addEventListener("input", applyBlend);
  $("reset").addEventListener("click", () => solo(state.weights.findIndex((w) => w > 0) >= 0
    ? state.weights.indexOf(Math.max(...state.weights)) : 0));
  $("random").addEventListener("click", () => {
    const w = new Array(state.info.num_styles).fill(0);
    const picks = new Set();
    while (picks.size < Math.min(3, w.length)) picks.add(Math.floor(Math.random() * w.length));
    picks.forEach((i) => { w[i] = round3(0.2 + 0.8 * Math.random()); });
    setWeights(w);
  });
  $("download").addEventListener("click", download);
  // Press and hold: the photo without style, in place of the pastiche.
  const compare = (on) => {
    $("original").hidden = !on;
    $("result").hidden = on;
    $("mask-canvas").hidden = on || !$("regions-on").checked;
  };
  $("compare").addEventListener("pointerdown", () => compare(true));
  for (const ev of ["pointerup", "pointerleave", "pointercancel"]) {
    $("compare").addEventListener(ev, () => compare(false));
  }
  $("snapshot").addEventListener("click", () => {
    if (!webcam.blob) return;
    const a = document.createElement("a");
    a.href = URL.createObjectURL(webcam.blob);  // its own URL: frames revoke theirs
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    a.download = `webcam_${mixtureLiteral(state.weights).replace(/[{}]/g, "")
      .replace(/[:,.]/g, "_")}.jpg`;
    document.body.appendChild(a);
    a.click();
    a.remove();
  });
  $("copy-command").addEventListener("click", async () => {
    const text = $("command").textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {
      const range = document.createRange();
      range.selectNodeContents($("command"));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      document.execCommand("copy");
    }
    $("copy-status").textContent = "copied";
    setTimeout(() => { $("copy-status").textContent = ""; }, 1500);
  });
  wireRegions();
  const pinput = $("painting-input");
  pinput.addEventListener("change", () => { if (pinput.files[0]) addPainting(pinput.files[0]); });
  const strip = $("style-strip");
  strip.addEventListener("dragover", (e) => { e.preventDefault(); strip.classList.add("dragging"); });
  strip.addEventListener("dragleave", () => strip.classList.remove("dragging"));
  strip.addEventListener("drop", (e) => {
    e.preventDefault();
    strip.classList.remove("dragging");
    const file = e.dataTransfer.files[0];
    if (file && state.info.painting_model) addPainting(file);
  });
  $("temporal").addEventListener("change", () => { webcam.reset = true; });
  $("mode-photo").addEventListener("click", () => setMode("photo"));
  $("mode-webcam").addEventListener("click", () => setMode("webcam"));
}

async function init() {
  wire();
  try {
    const response = await fetch("/api/info");
    if (!response.ok) throw new Error(await errorText(response));
    state.info = await response.json();
  } catch (e) {
    showError(`Cannot reach the studio server: ${e.message}`);
    return;
  }
  const info = state.info;
  $("model-info").textContent = `model ${info.checkpoint} · ${info.num_styles} styles`;
  $("limits").textContent =
    `JPEG, PNG, WebP, BMP, GIF or TIFF; up to ${info.max_upload_mb} MB and ` +
    // The limit may come from free memory (not a round number): one decimal.
    `${Number(info.max_megapixels.toFixed(1))} megapixels. Sliders re-render a copy at most ` +
    `${info.working_size} px wide; the download is full size.`;
  buildStrip();
  if (info.painting_model) {
    $("painting-drop").hidden = false;
    $("painting-model").textContent = info.painting_model;
  }
  const w = new Array(info.num_styles).fill(0);
  w[0] = 1;
  setWeights(w, { render: false });
  const response = await fetch("/api/style_map");
  if (response.ok) {
    state.map = await response.json();
    drawMap();
    buildTable();
  } else {
    showError(await errorText(response));
  }
  document.body.dataset.ready = "1";
}

init();
