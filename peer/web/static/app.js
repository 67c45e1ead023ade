// The Shoal peer's page: plain JavaScript, no framework. Everything from
// the network (file names, messages) goes into the page as text, never HTML.
"use strict";

const token = document.querySelector('meta[name="shoal-token"]').content;
const $ = (id) => document.getElementById(id);

// Keep the token out of the address bar (and out of screenshots and history);
// the cookie set with the page carries it from now on.
if (location.search.includes("token=")) {
  history.replaceState(null, "", location.pathname);
}

// ---- helpers ----------------------------------------------------------------

async function api(method, path, body) {
  const headers = { "x-shoal-token": token };
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Error("Cannot reach the peer: is it still running?");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(data.error ?? `The peer answered ${response.status}`);
  }
  return data;
}

function formatBytes(bytes) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 || value >= 100 ? 0 : 1)} ${units[unit]}`;
}

function formatRate(bytesPerSecond) {
  return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
}

function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

let messageTimer;
function showMessage(text, ok = false) {
  $("message-text").textContent = text;
  $("message").classList.toggle("ok", ok);
  $("message").hidden = false;
  clearTimeout(messageTimer);
  if (ok) messageTimer = setTimeout(() => ($("message").hidden = true), 4000);
}
$("message-close").addEventListener(
  "click",
  () => ($("message").hidden = true),
);

// ---- seeding ------------------------------------------------------------------

$("add-file").addEventListener("click", () => $("file-input").click());

$("file-input").addEventListener("change", () => {
  const file = $("file-input").files[0];
  $("file-input").value = "";
  if (file) upload(file);
});

function upload(file) {
  const button = $("add-file");
  button.disabled = true;
  $("upload").hidden = false;
  $("upload-name").textContent = `Uploading ${file.name}`;
  $("upload-percent").textContent = "0 %";
  $("upload-bar").style.width = "0";
  // XMLHttpRequest, not fetch: it reports upload progress.
  const request = new XMLHttpRequest();
  request.open(
    "POST",
    `/api/seed/upload?name=${encodeURIComponent(file.name)}`,
  );
  request.setRequestHeader("x-shoal-token", token);
  request.setRequestHeader("content-type", "application/octet-stream");
  request.upload.addEventListener("progress", (event) => {
    if (!event.lengthComputable) return;
    const percent = Math.floor((event.loaded / event.total) * 100);
    $("upload-percent").textContent = `${percent} %`;
    $("upload-bar").style.width = `${percent}%`;
    if (percent === 100) {
      $("upload-name").textContent = `Hashing ${file.name}…`;
    }
  });
  const done = () => {
    button.disabled = false;
    $("upload").hidden = true;
  };
  request.addEventListener("load", () => {
    done();
    let data = {};
    try {
      data = JSON.parse(request.responseText);
    } catch {
      // Shown below as a status code.
    }
    if (request.status >= 200 && request.status < 300) {
      showMessage(`Seeding ${data.name} (${formatBytes(data.size)})`, true);
      refreshTracker();
    } else {
      showMessage(
        data.error ?? `Upload failed: the peer answered ${request.status}`,
      );
    }
  });
  request.addEventListener("error", () => {
    done();
    showMessage("Upload failed: cannot reach the peer");
  });
  request.send(file);
}

$("path-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const path = $("seed-path").value.trim();
  if (!path) {
    showMessage("Type the path of a file on this computer first");
    return;
  }
  const button = $("seed-path-button");
  button.disabled = true;
  try {
    const file = await api("POST", "/api/seed/path", { path });
    $("seed-path").value = "";
    showMessage(`Seeding ${file.name} (${formatBytes(file.size)})`, true);
    refreshTracker();
  } catch (error) {
    showMessage(error.message);
  } finally {
    button.disabled = false;
  }
});

// ---- downloads --------------------------------------------------------------

async function startDownload(query) {
  try {
    await api("POST", "/api/downloads", query);
  } catch (error) {
    showMessage(error.message);
  }
}

$("download-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("download-name").value.trim();
  if (!name) {
    showMessage("Type the name of a file to download first");
    return;
  }
  startDownload({ name });
});

$("clear-finished").addEventListener("click", () => {
  api("POST", "/api/downloads/clear").catch((error) =>
    showMessage(error.message)
  );
});

const FAILURE_TITLES = {
  "unknown_file": "Unknown name",
  ambiguous: "Several files have this name; pick one",
  "no_peers": "No peers",
  tracker: "Tracker unreachable",
  exists: "Already in the download folder",
  "unsafe_name": "Unsafe file name",
  disk: "Cannot write to disk",
  corrupt: "Bad data",
  aborted: "Stopped",
  internal: "Internal error",
};

const STATE_LABELS = {
  finding: "finding peers",
  downloading: "downloading",
  checking: "checking",
  done: "done",
  failed: "failed",
  stopped: "stopped",
};

function renderDownload(record) {
  const active = ["finding", "downloading", "checking"].includes(record.state);
  const card = el("div", {
    class: `dl ${record.state}`,
    "data-key": record.key,
    "data-state": record.state,
  });
  card.append(
    el(
      "div",
      { class: "dl-head" },
      el("span", { class: "dl-name", text: record.name, title: record.name }),
      el("span", {
        class: `dl-state ${record.state}`,
        text: STATE_LABELS[record.state] ?? record.state,
      }),
    ),
  );
  const bar = el("div", { class: "bar" }, el("div"));
  bar.firstChild.style.width = `${record.percent}%`;
  // A download that failed before it knew the file has no progress to show.
  const started = record.size > 0 || record.state !== "failed";
  if (!started) bar.hidden = true;
  card.append(bar);
  const stats = el("div", { class: "dl-stats" });
  const stat = (label, value, cls) =>
    el(
      "span",
      {},
      label ? `${label} ` : null,
      el("b", { text: value, class: cls ?? "" }),
    );
  if (started) {
    stats.append(stat("", `${Math.floor(record.percent)} %`, "percent"));
  }
  if (record.size > 0) {
    stats.append(
      stat(
        "",
        `${formatBytes(record.bytesDone)} of ${formatBytes(record.size)}`,
      ),
    );
  }
  if (active) {
    stats.append(
      stat("rate", formatRate(record.bytesPerSecond)),
      stat("peers", String(record.peers)),
      stat("left", formatSeconds(record.secondsLeft)),
    );
  } else if (record.state === "done") {
    stats.append(
      stat(
        "in",
        formatSeconds(Math.max(1, Math.round(record.elapsedMs / 1000))),
      ),
    );
  }
  if (stats.childNodes.length > 0) card.append(stats);
  if (record.peersDropped > 0) {
    card.append(el("div", {
      class: "dl-warn",
      text: `${record.peersDropped} ${
        record.peersDropped === 1 ? "peer" : "peers"
      } sent bad data and ${
        record.peersDropped === 1 ? "was" : "were"
      } dropped`,
    }));
  }
  if (record.error && record.state === "failed") {
    const title = FAILURE_TITLES[record.error.code] ?? "Failed";
    card.append(
      el(
        "div",
        { class: "dl-error", "data-code": record.error.code },
        el("b", { text: `${title}: ` }),
        record.error.message,
      ),
    );
    if (record.error.candidates.length > 0) {
      const list = el("ul", { class: "candidates" });
      for (const file of record.error.candidates) {
        list.append(
          el(
            "li",
            {},
            el("span", {
              class: "mono",
              text: `${file.id.slice(0, 12)}… ${
                formatBytes(file.size)
              }, ${file.peers} peers`,
              title: file.id,
            }),
            el("button", {
              type: "button",
              class: "small",
              text: "Download this one",
              onclick: () => startDownload({ id: file.id }),
            }),
          ),
        );
      }
      card.append(list);
    }
  }
  const actions = el("div", { class: "dl-actions" });
  if (record.state === "done" && record.fileId) {
    actions.append(
      el("a", {
        class: "save",
        href: `/files/${record.fileId}`,
        download: record.name,
        text: "Save file",
      }),
      el("span", { class: "hint mono", text: record.path ?? "" }),
    );
  }
  if (active) {
    actions.append(
      el("button", {
        type: "button",
        class: "small",
        text: "Stop",
        onclick: () =>
          api("POST", `/api/downloads/${record.key}/stop`).catch((error) =>
            showMessage(error.message)
          ),
      }),
    );
  }
  if (actions.childNodes.length > 0) card.append(actions);
  return card;
}

function renderDownloads(downloads) {
  const box = $("downloads");
  // Cards are rebuilt on each event (a few a second); the bar's width is
  // exact rather than animated, so the page stays right even when hidden.
  const fresh = downloads.map(renderDownload);
  box.replaceChildren(...fresh);
  $("clear-finished").hidden = !downloads.some((record) =>
    !["finding", "downloading", "checking"].includes(record.state)
  );
}

// ---- seeds ------------------------------------------------------------------

function renderSeeds(state) {
  const body = $("seeds");
  const rows = state.seeds.map((file) =>
    el(
      "tr",
      { "data-id": file.id },
      el("td", { text: file.name, title: file.path }),
      el("td", { class: "num", text: formatBytes(file.size) }),
      el("td", {
        class: "id-col mono",
        text: `${file.id.slice(0, 10)}…`,
        title: file.id,
      }),
      el(
        "td",
        {},
        file.fileUrl
          ? el("a", {
            class: "save",
            href: file.fileUrl,
            download: file.name,
            text: "Save",
          })
          : el("span", {
            class: "hint",
            text: file.stale ? "changed" : file.complete ? "" : "partial",
          }),
      ),
    )
  );
  body.replaceChildren(...rows);
  $("seeds-note").hidden = rows.length > 0;
  const hashing = state.hashing.map((job) =>
    el("p", {
      class: "note",
      text: `Hashing ${job.name}: ${
        job.size > 0 ? Math.floor((job.bytes / job.size) * 100) : 0
      } %`,
    })
  );
  $("hashing").replaceChildren(...hashing);
}

// ---- tracker list -----------------------------------------------------------

let trackerQuery = "";
let trackerFiles = [];
let trackerTotal = 0;
let trackerSeq = 0;

async function loadTracker(append) {
  const seq = ++trackerSeq;
  const offset = append ? trackerFiles.length : 0;
  try {
    const data = await api(
      "GET",
      `/api/tracker?q=${encodeURIComponent(trackerQuery)}&offset=${offset}`,
    );
    if (seq !== trackerSeq) return;
    trackerFiles = append ? trackerFiles.concat(data.files) : data.files;
    trackerTotal = data.total;
    renderTracker(null);
  } catch (error) {
    if (seq !== trackerSeq) return;
    renderTracker(error.message);
  }
}

function refreshTracker() {
  loadTracker(false);
}

function renderTracker(problem) {
  const rows = trackerFiles.map((file) =>
    el(
      "tr",
      {
        class: "pick",
        "data-id": file.id,
        title: `Click to put "${file.name}" in the file name box`,
        onclick: () => {
          $("download-name").value = file.name;
          $("download-name").focus();
        },
      },
      el("td", { text: file.name }),
      el("td", { class: "num", text: formatBytes(file.size) }),
      el("td", {
        class: "num",
        text: `${file.peers}`,
        title: `${file.peers} peers, ${file.seeders} with the whole file`,
      }),
      el(
        "td",
        {},
        el("button", {
          type: "button",
          class: "small",
          text: "Download",
          onclick: (event) => {
            event.stopPropagation();
            startDownload({ id: file.id });
          },
        }),
      ),
    )
  );
  $("tracker-files").replaceChildren(...rows);
  const note = $("tracker-note");
  note.classList.toggle("dl-error", Boolean(problem));
  if (problem) note.textContent = problem;
  else if (trackerFiles.length === 0) {
    note.textContent = trackerQuery
      ? `No file on the tracker has "${trackerQuery}" in its name.`
      : "The tracker knows no files yet.";
  } else {
    note.textContent = `${trackerTotal} ${
      trackerTotal === 1 ? "file" : "files"
    }; peers = peers holding some or all of it.`;
  }
  $("more").hidden = problem !== null || trackerFiles.length >= trackerTotal;
}

let searchTimer;
$("search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    trackerQuery = $("search").value.trim();
    refreshTracker();
  }, 250);
});
$("refresh").addEventListener("click", refreshTracker);
$("more").addEventListener("click", () => loadTracker(true));

// ---- live state -------------------------------------------------------------

let lastSeedIds = "";
let lastDone = 0;

function render(state) {
  $("peer-info").textContent = `Peer port ${state.peer.port}${
    state.peer.tracker ? ` · tracker ${state.peer.tracker}` : ""
  } · saves to ${state.peer.outDir}`;
  $("shared-dir").textContent = state.peer.sharedDir;
  renderSeeds(state);
  renderDownloads(state.downloads);
  // New seeds or finished downloads change what the tracker lists.
  const seedIds = state.seeds.map((file) => file.id).join();
  const done =
    state.downloads.filter((record) => record.state === "done").length;
  if (seedIds !== lastSeedIds || done !== lastDone) {
    lastSeedIds = seedIds;
    lastDone = done;
    setTimeout(refreshTracker, 300);
  }
}

function connect() {
  const source = new EventSource("/api/events");
  source.addEventListener("open", () => $("connection").classList.add("live"));
  source.addEventListener("state", (event) => render(JSON.parse(event.data)));
  source.addEventListener("error", () => {
    $("connection").classList.remove("live");
    $("peer-info").textContent = "Reconnecting to the peer…";
  });
}

connect();
refreshTracker();
setInterval(refreshTracker, 15000);
