// keras_gen studio: the page talks to the JSON API of apps/studio (no build step).
"use strict";

const MAX_SLIDERS = 8;
const $ = (id) => document.getElementById(id);

const state = { models: [], model: null, z: null, maxUploadBytes: 0, extensions: [] };

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON: report the status */ }
  if (!response.ok) {
    throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  }
  return body;
}

function postJSON(path, payload) {
  return api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
}

// Show an API image upscaled with crisp pixels, as large as fits `maxPixels` (1x to 6x).
function showImage(img, result, maxPixels = 480) {
  const scale = Math.max(1, Math.min(6, Math.floor(maxPixels / Math.max(result.width, result.height))));
  img.width = result.width * scale;
  img.height = result.height * scale;
  img.src = result.image;
  img.hidden = false;
}

function currentLabel() {
  return state.model && state.model.capabilities.conditional ? Number($("label-select").value) : undefined;
}

function intValue(id) {
  return parseInt($(id).value, 10) || 0;
}

// Runs `task` now, or once more after the running one ends; a burst of calls makes at most two.
function coalesced(task) {
  let running = false, again = false;
  return async function run() {
    if (running) { again = true; return; }
    running = true;
    try {
      do { again = false; await task(); } while (again);
    } finally { running = false; }
  };
}

async function guarded(task) {
  document.body.classList.add("busy");
  try { await task(); clearError(); } catch (error) { showError(error.message); }
  finally { document.body.classList.remove("busy"); }
}

// ---------------------------------------------------------------- panels
async function sample() {
  const model = state.model;
  const payload = { seed: intValue("sample-seed"), count: intValue("sample-count") || 16, label: currentLabel() };
  if (!$("steps-control").hidden) payload.steps = intValue("sample-steps");
  if (!$("truncation-control").hidden) payload.truncation = Number($("sample-truncation").value);
  const result = await postJSON(`/api/${encodeURIComponent(model.name)}/sample`, payload);
  if (model === state.model) showImage($("sample-image"), result);
}

const decodeNow = coalesced(() => guarded(async () => {
  const model = state.model;
  const result = await postJSON(`/api/${encodeURIComponent(model.name)}/decode`, { z: state.z, label: currentLabel() });
  if (model === state.model) showImage($("traverse-image"), result, 200);
}));

function buildSliders() {
  const box = $("sliders");
  box.replaceChildren();
  const count = Math.min(state.model.latent_dim, MAX_SLIDERS);
  for (let dim = 0; dim < count; dim++) {
    const name = document.createElement("label");
    name.textContent = `z${dim}`;
    name.htmlFor = `slider-${dim}`;
    const slider = Object.assign(document.createElement("input"), {
      type: "range", id: `slider-${dim}`, min: "-3", max: "3", step: "0.05", className: "slider",
    });
    slider.dataset.dim = dim;
    const value = document.createElement("output");
    value.id = `slider-value-${dim}`;
    slider.addEventListener("input", () => {
      state.z[dim] = Number(slider.value);
      value.textContent = Number(slider.value).toFixed(2);
      decodeNow();
    });
    box.append(name, slider, value);
  }
  const note = $("sliders-note");
  note.hidden = state.model.latent_dim <= MAX_SLIDERS;
  note.textContent = `Sliders move the first ${MAX_SLIDERS} of ${state.model.latent_dim} dimensions; the others keep the seed's values.`;
}

function setSliders() {
  state.z.slice(0, MAX_SLIDERS).forEach((v, dim) => {
    $(`slider-${dim}`).value = String(v);
    $(`slider-value-${dim}`).textContent = v.toFixed(2);
  });
}

async function loadLatent() {
  const model = state.model;
  const result = await api(`/api/${encodeURIComponent(model.name)}/latent?seed=${intValue("traverse-seed")}`);
  if (model !== state.model) return;
  state.z = result.z;
  setSliders();
  await decodeNow();
}

async function styleMix() {
  const model = state.model;
  const size = intValue("style-size") || 4;
  const result = await postJSON(`/api/${encodeURIComponent(model.name)}/style_mix`, {
    seed_a: intValue("style-seed-a"), seed_b: intValue("style-seed-b"), rows: size, cols: size,
    crossover: intValue("style-crossover"),
  });
  if (model === state.model) showImage($("style-image"), result, 560);
}

function showCrossover() {
  const caps = state.model.capabilities.style_mix;
  $("style-crossover-value").textContent = `${intValue("style-crossover")} of ${caps.num_ws} layers from the row`;
}

// The truncation slider in the model's own terms: BigGAN's threshold on z (0 = off, up to 2
// here), StyleGAN's psi in w space (1 = off, 0 = the mean image).
function setTruncationSlider(limits) {
  const slider = $("sample-truncation");
  const inW = limits.space === "w";
  slider.min = String(limits.min);
  slider.max = String(inW ? limits.max : Math.min(2, limits.max));
  slider.value = String(limits.none);
  $("truncation-control").title = inW
    ? "w pulled towards the mean w: 1 is off, smaller is more typical and less varied"
    : "z drawn inside [-t, t]: 0 is off, smaller is more typical and less varied";
  showTruncation();
}

function showTruncation() {
  const limits = state.model.capabilities.truncation;
  const t = Number($("sample-truncation").value);
  $("truncation-value").textContent = t === limits.none ? "off" : t.toFixed(2);
}

async function interpolate() {
  const model = state.model;
  const result = await postJSON(`/api/${encodeURIComponent(model.name)}/interpolate`, {
    seed_a: intValue("interp-seed-a"), seed_b: intValue("interp-seed-b"),
    steps: intValue("interp-steps") || 8, method: $("interp-method").value, label: currentLabel(),
  });
  if (model === state.model) showImage($("interp-image"), result, 720);
}

async function upload() {
  const file = $("upload-input").files[0];
  if (!file) throw new Error("choose an image file first");
  if (file.size > state.maxUploadBytes) {
    throw new Error(`upload too large: the limit is ${(state.maxUploadBytes / 1048576).toFixed(1)} MiB`);
  }
  const model = state.model;
  for (const id of ["translate-input", "translate-image"]) $(id).hidden = true;  // no stale result under an error
  const form = new FormData();
  form.append("image", file);
  form.append("signature", $("upload-signature").value);
  const label = currentLabel();
  if (label !== undefined) form.append("label", String(label));
  const result = await api(`/api/${encodeURIComponent(model.name)}/translate`, { method: "POST", body: form });
  if (model !== state.model) return;
  showImage($("translate-input"), { image: result.input, width: model.image_shape[1], height: model.image_shape[0] }, 192);
  showImage($("translate-image"), result, 192);
}

// ---------------------------------------------------------------- model picking
function describe(model) {
  const parts = [model.family];
  if (model.image_shape) parts.push(model.image_shape.join("×"));
  if (model.latent_dim) parts.push(`latent ${model.latent_dim}`);
  if (model.num_classes) parts.push(`${model.num_classes} classes`);
  return parts.join(" · ");
}

async function pickModel(name) {
  const model = state.models.find((m) => m.name === name);
  state.model = model;
  state.z = null;
  clearError();
  const caps = model.capabilities;
  $("model-info").textContent = describe(model);
  $("label-control").hidden = !caps.conditional;
  $("label-select").replaceChildren(...Array.from({ length: model.num_classes || 10 }, (_, k) => new Option(String(k), String(k))));
  $("sample-panel").hidden = !caps.sample;
  $("steps-control").hidden = !(caps.sample === "sample" && model.family === "DiffusionModel");
  $("truncation-control").hidden = !caps.truncation;
  if (caps.truncation) setTruncationSlider(caps.truncation);
  $("style-panel").hidden = !caps.style_mix;
  if (caps.style_mix) {
    $("style-crossover").max = String(caps.style_mix.num_ws - 1);
    $("style-crossover").value = String(Math.floor(caps.style_mix.num_ws / 2));
    showCrossover();
  }
  $("traverse-panel").hidden = !caps.traverse;
  $("interpolate-panel").hidden = !caps.interpolate;
  $("upload-panel").hidden = caps.upload.length === 0;
  $("upload-signature").replaceChildren(...caps.upload.map((s) => new Option(s, s)));
  for (const id of ["sample-image", "traverse-image", "interp-image", "style-image"]) $(id).removeAttribute("src");
  for (const id of ["translate-input", "translate-image"]) { $(id).removeAttribute("src"); $(id).hidden = true; }
  $("upload-input").value = "";
  await guarded(async () => {
    if (caps.sample) await sample();
    if (caps.traverse) { buildSliders(); await loadLatent(); }
    if (caps.interpolate) await interpolate();
    if (caps.style_mix) await styleMix();
  });
}

async function start() {
  const listing = await api("/api/models");
  state.models = listing.models;
  state.maxUploadBytes = listing.max_upload_bytes;
  $("upload-limits").textContent =
    `${listing.upload_extensions.join(", ")} up to ${(listing.max_upload_bytes / 1048576).toFixed(1)} MiB; ` +
    "the image is resized to the model's input size.";
  $("model-select").replaceChildren(...state.models.map((m) => new Option(`${m.name} (${m.family})`, m.name)));
  $("empty").hidden = state.models.length > 0;
  if (state.models.length) await pickModel(state.models[0].name);
}

function wire() {
  $("model-select").addEventListener("change", (e) => pickModel(e.target.value));
  $("label-select").addEventListener("change", () => guarded(async () => {
    const caps = state.model.capabilities;
    if (caps.sample) await sample();
    if (caps.traverse && state.z) await decodeNow();
    if (caps.interpolate) await interpolate();
  }));
  $("sample-button").addEventListener("click", () => guarded(sample));
  $("sample-truncation").addEventListener("input", showTruncation);
  $("sample-truncation").addEventListener("change", () => guarded(sample));
  $("sample-next").addEventListener("click", () => {
    $("sample-seed").value = intValue("sample-seed") + (intValue("sample-count") || 16);
    guarded(sample);
  });
  $("traverse-load").addEventListener("click", () => guarded(loadLatent));
  $("traverse-zero").addEventListener("click", () => {
    state.z = state.z.map(() => 0);
    setSliders();
    decodeNow();
  });
  $("interp-button").addEventListener("click", () => guarded(interpolate));
  $("style-button").addEventListener("click", () => guarded(styleMix));
  $("style-crossover").addEventListener("input", showCrossover);
  $("style-crossover").addEventListener("change", () => guarded(styleMix));
  $("upload-form").addEventListener("submit", (e) => { e.preventDefault(); guarded(upload); });
  $("upload-input").addEventListener("change", () => { if ($("upload-input").files.length) guarded(upload); });
}

wire();
start().catch((error) => showError(`could not list models: ${error.message}`));
