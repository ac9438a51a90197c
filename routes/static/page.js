// The web page's script: fills the form from GET /v1/models and runs generations through
// POST /v1/generate/stream, showing each step's preview as it arrives.

const $ = (id) => document.getElementById(id);
let models = [];

// A server started with --api-key refuses /v1/* without it: the page asks for the key once
// (kept for this tab) and adds it to every request to this server, the in-browser mode's
// model downloads included.
const KEY = "maskgit-api-key";
const plainFetch = globalThis.fetch;
globalThis.fetch = (input, init = {}) => {
  const key = sessionStorage.getItem(KEY);
  const url = new URL(input instanceof Request ? input.url : input, location.href);
  if (!key || url.origin !== location.origin) return plainFetch(input, init);
  const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : {}));
  headers.set("authorization", `Bearer ${key}`);
  return plainFetch(input, { ...init, headers });
};

function showError(message) {
  $("error").textContent = message;
}

function currentModel() {
  return models.find((m) => m.name === $("model").value) ?? models[0];
}

/** A class model shows its class list, a text model a prompt box. */
function fillModel() {
  const model = currentModel();
  const text = model.task === "text-to-image";
  $("class-field").hidden = text;
  $("prompt-field").hidden = !text;
  $("class").replaceChildren(
    ...(model.classes ?? []).map((name, i) => new Option(`${name} (${i})`, name)),
  );
  $("steps").max = model.tokens;
  $("steps").placeholder = model.defaults.steps;
  $("cfg").placeholder = model.defaults.cfg;
  $("temperature").placeholder = +model.defaults.temperature.start.toFixed(3);
  $("scheduler").value = model.defaults.scheduler;
}

/** The request body: only the knobs the user filled in, so the model's defaults apply. */
function requestBody(scheduler) {
  const condition = currentModel().task === "text-to-image"
    ? { prompt: $("prompt").value }
    : { class: $("class").value };
  const body = { model: $("model").value, ...condition, scheduler };
  for (const name of ["steps", "seed", "preview_every"]) {
    const value = $(name === "preview_every" ? "preview-every" : name).value;
    if (value !== "") body[name] = parseInt(value, 10);
  }
  for (const name of ["cfg", "temperature"]) {
    const value = $(name).value;
    if (value !== "") body[name] = parseFloat(value);
  }
  return body;
}

/** Parses a Server-Sent Events body into { event, data } objects. */
async function* serverEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) yield { event, data: JSON.parse(data) };
    }
  }
}

function card(title) {
  const figure = document.createElement("figure");
  figure.className = "result";
  const heading = document.createElement("strong");
  heading.textContent = title;
  const progress = document.createElement("progress");
  progress.value = 0;
  const image = document.createElement("img");
  image.alt = `${title}: waiting`;
  const caption = document.createElement("figcaption");
  caption.textContent = "queued…";
  figure.append(heading, progress, image, caption);
  $("results").append(figure);
  return { figure, progress, image, caption };
}

let browserRuntime; // { ort, lib } once loaded
const browserModels = new Map();

/** The model, loaded into this page with onnxruntime-web (once per model). */
async function browserModel(name) {
  if (!browserRuntime) {
    const [ort, lib] = await Promise.all([
      import("/vendor/onnxruntime-web/ort.wasm.bundle.min.mjs"),
      import("/dist/maskgit.js"),
    ]);
    ort.env.wasm.wasmPaths = "/vendor/onnxruntime-web/";
    browserRuntime = { ort, lib };
  }
  const { ort, lib } = browserRuntime;
  if (!browserModels.has(name)) {
    const folder = `${location.origin}/v1/models/${name}/files`;
    browserModels.set(name, lib.loadModel(folder, { backend: lib.webBackend(ort), threads: 1 }));
  }
  return await browserModels.get(name);
}

const pngUrl = (bytes) => URL.createObjectURL(new Blob([bytes], { type: "image/png" }));

/** What an answer says the image is conditioned on, for captions. */
const subject = (data) =>
  data.prompt === undefined
    ? `class ${data.class}`
    : `“${data.prompt}”${data.truncated ? " (truncated)" : ""}`;

/** The same generation as the server's, run by this page on WASM. */
async function runInBrowser(scheduler, title, view) {
  const body = requestBody(scheduler);
  view.caption.textContent = "loading the model into this page…";
  const model = await browserModel(body.model);
  const { lib } = browserRuntime;
  const settings = lib.knobSettings((knob) => body[lib.apiName(knob)]);
  settings.seed ??= Math.floor(Math.random() * 2 ** 31);
  const every = body.preview_every ?? 0;
  const condition = body.prompt === undefined
    ? { classes: [body.class] }
    : { prompts: [body.prompt] };
  const result = await lib.generate({
    model,
    ...condition,
    settings,
    onStep: async (event) => {
      const step = event.step + 1;
      view.progress.max = event.steps;
      view.progress.value = step;
      view.caption.textContent = `in this browser: step ${step} of ${event.steps}`;
      if (every > 0 && step % every === 0) {
        const previews = await lib.decodePreview(model, event.state, 1);
        view.image.src = pngUrl(lib.encodePng(lib.tile(previews)));
      }
      await new Promise((resolve) => setTimeout(resolve)); // let the page repaint
    },
  });
  view.image.src = pngUrl(result.images[0]);
  const asked = { ...body, truncated: result.truncated[0] };
  view.image.alt = `${title}: ${body.prompt ?? body.class}`;
  view.figure.dataset.done = "true";
  view.figure.dataset.where = "browser";
  const { steps, cfg } = result.settings;
  view.caption.textContent = `${scheduler}, ${steps} steps, cfg ${cfg}, seed ${settings.seed} — ` +
    `${subject(asked)} (in this browser)`;
}

/** Runs one generation into a new card (streamed from the server, or in this page). */
async function run(scheduler, title = scheduler) {
  const view = card(title);
  if ($("in-browser").checked) {
    try {
      return await runInBrowser(scheduler, title, view);
    } catch (error) {
      view.caption.textContent = `failed: ${error.message}`;
      throw error;
    }
  }
  const response = await fetch("/v1/generate/stream", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(requestBody(scheduler)),
  });
  if (!response.ok) {
    const { error } = await response.json();
    view.figure.remove();
    throw new Error(error);
  }
  for await (const { event, data } of serverEvents(response)) {
    if (event === "start") {
      view.progress.max = data.steps;
      view.caption.textContent = `${subject(data)}, seed ${data.seed}, ${data.steps} steps`;
    } else if (event === "step") {
      view.progress.value = data.step;
      view.caption.textContent =
        `step ${data.step} of ${data.steps}: ${data.known} of ${data.tokens} tokens known`;
      if (data.preview) view.image.src = `data:image/png;base64,${data.preview}`;
    } else if (event === "done") {
      view.image.src = `data:image/png;base64,${data.images[0]}`;
      view.image.alt = `${title}: ${data.prompt ?? data.class}`;
      view.figure.dataset.done = "true";
      view.caption.textContent = `${data.settings.scheduler}, ${data.settings.steps} steps, ` +
        `cfg ${data.settings.cfg}, seed ${data.seed} — ${subject(data)}`;
    } else if (event === "error") {
      view.caption.textContent = `failed: ${data.error}`;
      throw new Error(data.error);
    }
  }
}

async function withButtonsDisabled(work) {
  showError("");
  for (const button of document.querySelectorAll("button")) button.disabled = true;
  try {
    await work();
  } catch (error) {
    showError(error.message);
  } finally {
    for (const button of document.querySelectorAll("button")) button.disabled = false;
  }
}

$("form").addEventListener("submit", (event) => {
  event.preventDefault();
  withButtonsDisabled(() => run($("scheduler").value));
});

$("compare").addEventListener("click", () => {
  // One seed for all three, so only the scheduler differs.
  if ($("seed").value === "") $("seed").value = Math.floor(Math.random() * 1e6);
  $("results").replaceChildren();
  withButtonsDisabled(() =>
    Promise.all(["halton", "confidence", "random"].map((scheduler) => run(scheduler)))
  );
});

$("model").addEventListener("change", fillModel);

/** Lists the models; a 401 shows the key field instead. */
async function listModels() {
  try {
    const response = await fetch("/v1/models");
    if (response.status === 401) {
      const { error } = await response.json();
      showError(`${error}: enter it above`);
      // Shown once the reason is, so whoever sees the field also sees why.
      $("key-field").hidden = false;
      return $("api-key").focus();
    }
    ({ models } = await response.json());
    showError("");
    $("model").replaceChildren(...models.map((m) => new Option(m.name, m.name)));
    fillModel();
  } catch (error) {
    showError(`cannot list the models: ${error.message}`);
  }
}

$("api-key").addEventListener("change", () => {
  sessionStorage.setItem(KEY, $("api-key").value.trim());
  listModels();
});

await listModels();
