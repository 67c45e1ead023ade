// The Shoal peer's page: plain JavaScript, no framework. Everything from
// the network (file names, messages) goes into the page as text, never HTML.
"use strict";

const token = document.querySelector('meta[name="shoal-token"]').content;
const $ = (id) => document.getElementById(id);

// Keep the token out of the address bar (and out of screenshots and history);
// the cookie set with the page carries it from now on (a reload or a
// bookmark of the bare address works while it lives: 30 days, renewed at
// each load), and the peer keeps the same token across restarts.
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

// Decimal units (1 MB = 1 000 000 bytes), as in the terminal.
function formatBytes(bytes) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 || value >= 100 ? 0 : 1)} ${units[unit]}`;
}

function formatRate(bytesPerSecond) {
  return `${formatBytes(bytesPerSecond)}/s`;
}

function plural(count, word) {
  return `${count} ${count === 1 ? word : `${word}s`}`;
}

function shortId(id) {
  return `${id.slice(0, 8)}…`;
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard API (an older browser): copy through a selection.
    const box = el("textarea", { class: "offscreen", readonly: "" });
    box.value = text;
    document.body.append(box);
    box.select();
    document.execCommand("copy");
    box.remove();
  }
  showMessage("Copied the file id", true);
}

/** A shortened id with its full value on hover and a copy button. */
function idChip(id) {
  return el(
    "span",
    { class: "id-chip" },
    el("span", { class: "mono", text: shortId(id), title: id }),
    el("button", {
      type: "button",
      class: "copy",
      text: "Copy",
      title: `Copy ${id}`,
      "aria-label": "Copy the file id",
      onclick: (event) => {
        event.stopPropagation();
        copyText(id);
      },
    }),
  );
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
    showMessage("Type the path of a file or folder on this computer first");
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

const ACTIVE = ["finding", "downloading", "checking"];

async function startDownload(query) {
  try {
    await api("POST", "/api/downloads", query);
  } catch (error) {
    showMessage(error.message);
  }
}

function act(path, body) {
  return api("POST", path, body).catch((error) => showMessage(error.message));
}

// The box takes a name, an id or a magnet link; the peer tells them apart
// (and answers a bad magnet link with one line, starting nothing).
$("download-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("download-name").value.trim();
  if (!name) {
    showMessage("Type a file name, an id or a magnet link first");
    return;
  }
  // A folder then waits for its files to be ticked (a file just starts).
  startDownload({ name, chooseFirst: $("choose-first").checked });
});

$("clear-finished").addEventListener(
  "click",
  () => act("/api/downloads/clear"),
);

const FAILURE_TITLES = {
  "unknown_file": "Unknown name",
  ambiguous: "Several files fit; pick one",
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
  choosing: "Choose files",
  downloading: "downloading",
  checking: "checking",
  done: "done",
  failed: "failed",
  paused: "paused",
};

// What the user opened or is asked about survives the re-rendering.
const openPeers = new Set();
const removing = new Set();
const stopping = new Set();
let lastState = null;

function rerender() {
  if (lastState) render(lastState);
}

/** The last minute's rate as a small line graph (inline SVG, no library). */
function speedGraph(history) {
  const width = 240;
  const height = 40;
  const svgNs = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNs, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "graph");
  svg.setAttribute("role", "img");
  const top = Math.max(1, ...history);
  svg.setAttribute(
    "aria-label",
    `Download rate over the last minute, up to ${formatRate(top)}`,
  );
  const step = width / 59;
  const start = 60 - history.length;
  const points = history.map((rate, i) =>
    `${((start + i) * step).toFixed(1)},${
      (height - 2 - (rate / top) * (height - 4)).toFixed(1)
    }`
  );
  if (points.length === 1) {
    points.unshift(`${(start - 1) * step},${height - 2}`);
  }
  const area = document.createElementNS(svgNs, "polygon");
  area.setAttribute(
    "points",
    `${points[0].split(",")[0]},${height} ${
      points.join(" ")
    } ${width},${height}`,
  );
  area.setAttribute("class", "graph-area");
  const line = document.createElementNS(svgNs, "polyline");
  line.setAttribute("points", points.join(" "));
  line.setAttribute("class", "graph-line");
  svg.append(area, line);
  return el(
    "div",
    { class: "graph-box" },
    svg,
    el("span", { class: "graph-max", text: `max ${formatRate(top)}` }),
  );
}

/**
 * Opens `details` as it last was and remembers each change in `open`. The
 * click is noted at once: the live updates may replace the element before
 * its "toggle" event comes.
 */
function keepOpen(details, open, key) {
  details.open = open.has(key);
  const note = (isOpen) => {
    if (isOpen) open.add(key);
    else open.delete(key);
  };
  details.querySelector("summary").addEventListener(
    "click",
    () => note(!details.open),
  );
  details.addEventListener("toggle", () => note(details.open));
}

/**
 * A table of peers: each one's address over its client, its protocol, then
 * the numeric `columns` ([heading, value of a peer]).
 */
function peersTable(peerList, cls, columns) {
  const rows = peerList.map((peer) =>
    el(
      "tr",
      {},
      // The address, and under it the peer's program.
      el(
        "td",
        { class: "peer" },
        el("div", { class: "mono", text: peer.address, title: peer.address }),
        el("div", { class: "client", text: peer.client, title: peer.client }),
      ),
      el("td", { class: "dialect", text: peer.dialect }),
      ...columns.map(([, value]) =>
        el("td", { class: "num", text: value(peer) })
      ),
    )
  );
  return el(
    "table",
    { class: cls },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { text: "Peer and client" }),
        el("th", { text: "Protocol" }),
        ...columns.map(([heading]) =>
          el("th", { class: "num", text: heading })
        ),
      ),
    ),
    el("tbody", {}, ...rows),
  );
}

/** A download's peers: what each sends and takes, and how much it has. */
function peerTable(record) {
  return peersTable(record.peerList, "files peers", [
    ["Down", (peer) => formatRate(peer.downBytesPerSecond)],
    ["Up", (peer) => formatRate(peer.upBytesPerSecond)],
    ["Has", (peer) => `${Math.floor(peer.percent)} %`],
  ]);
}

function button(text, onclick, cls = "small") {
  return el("button", { type: "button", class: cls, text, onclick });
}

/** Folder downloads whose file list is open, and their files as last fetched. */
const openDownloadFiles = new Set();
/** Folder downloads whose file list was opened for the user (when waiting to be chosen). */
const autoOpenedFiles = new Set();
const downloadFiles = new Map();
/** When each open list was last asked for (a second apart at most). */
const filesAskedAt = new Map();

/**
 * Asks for a folder download's files again, at most once a second (a call
 * sooner than that asks when the second is up).
 */
async function refreshDownloadFiles(record) {
  const wait = (filesAskedAt.get(record.key) ?? 0) + 1000 - Date.now();
  if (wait > 0) {
    if (!filesAskedAt.has(`${record.key} later`)) {
      filesAskedAt.set(`${record.key} later`, 0);
      setTimeout(() => {
        filesAskedAt.delete(`${record.key} later`);
        rerender();
      }, wait);
    }
    return;
  }
  filesAskedAt.set(record.key, Date.now());
  let list;
  try {
    list = await api("GET", `/api/downloads/${record.key}/files`);
  } catch {
    return; // not in yet, or removed: the next event says
  }
  list.state = record.state;
  downloadFiles.set(record.key, list);
  rerender();
}

/** A folder's files as a table: "File", then number columns, over `body`. */
function filesTable(numberHeadings, body) {
  return el(
    "table",
    { class: "files peers" },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { text: "File" }),
        ...numberHeadings.map((text) => el("th", { class: "num", text })),
      ),
    ),
    body,
  );
}

/**
 * The ticks of folders still waiting for their files to be chosen, by key:
 * kept on the page (cards are rebuilt on each event) until the button
 * sends them.
 */
const pendingTicks = new Map();

/**
 * Fetches only the ticked files of a folder download (it starts again with
 * them, or starts fetching when it waits in "choosing"); files past the
 * list shown stay as they are: fetched.
 */
async function chooseFiles(record, list, boxes) {
  const files = [];
  boxes.forEach((box, i) => {
    if (box.checked) files.push(i);
  });
  for (let i = list.files.length; i < list.total; i++) files.push(i);
  for (const box of boxes) box.disabled = true;
  try {
    await api("POST", `/api/downloads/${record.key}/files`, {
      files: files.length === list.total ? null : files,
    });
    pendingTicks.delete(record.key);
  } catch (error) {
    showMessage(error.message);
  }
  filesAskedAt.delete(record.key);
  await refreshDownloadFiles(record);
  rerender();
}

/**
 * A folder download's files: a tick to fetch it or not (while it is on its
 * way), path, size and percent, or "not chosen".
 */
function downloadFilesDetails(record) {
  const list = downloadFiles.get(record.key);
  const choosing = record.state !== "done";
  // Before anything is fetched, ticks wait for the button, not each change.
  const first = record.state === "choosing";
  const pending = first ? pendingTicks.get(record.key) ?? new Map() : null;
  if (pending) pendingTicks.set(record.key, pending);
  const boxes = [];
  const rows = (list?.files ?? []).map((file, i) => {
    const percent = file.chunkCount === 0
      ? 100
      : Math.floor((file.chunksDone / file.chunkCount) * 100);
    let tick = null;
    if (choosing) {
      tick = el("input", {
        type: "checkbox",
        class: "file-tick",
        "aria-label": `Download ${file.path}`,
        onchange: () =>
          pending
            ? pending.set(i, tick.checked)
            : chooseFiles(record, list, boxes),
      });
      tick.checked = pending?.get(i) ?? file.chosen;
      boxes.push(tick);
    }
    return el(
      "tr",
      { class: file.chosen ? "" : "not-chosen" },
      el(
        "td",
        { class: "mono", title: file.path },
        tick,
        tick ? " " : null,
        file.path,
      ),
      el("td", { class: "num", text: formatBytes(file.size) }),
      el("td", {
        class: "num file-percent",
        text: file.chosen ? `${percent} %` : "not chosen",
      }),
    );
  });
  const left = list ? list.total - list.files.length : 0;
  const details = el(
    "details",
    { class: "dl-peers dl-files" },
    el("summary", { text: `Files (${record.fileCount})` }),
    filesTable(["Size", "Done"], el("tbody", {}, ...rows)),
    left > 0
      ? el("p", {
        class: "note",
        text: `…and ${plural(left, "more file")}: see the folder on disk`,
      })
      : null,
  );
  if (first && list) {
    details.append(
      el(
        "div",
        { class: "row" },
        button(
          "Download ticked files",
          () => chooseFiles(record, list, boxes),
          "primary",
        ),
      ),
    );
  }
  // A folder waiting to be chosen shows its files at once, once: a list the
  // user closed stays closed at the next refresh.
  if (first && !autoOpenedFiles.has(record.key)) {
    autoOpenedFiles.add(record.key);
    openDownloadFiles.add(record.key);
  }
  keepOpen(details, openDownloadFiles, record.key);
  details.addEventListener("toggle", () => {
    if (details.open) refreshDownloadFiles(record);
  });
  // Live while it runs; once more when it has ended.
  const stale = !list || ACTIVE.includes(record.state) ||
    list.state !== record.state;
  if (details.open && stale) refreshDownloadFiles(record);
  return details;
}

function renderDownload(record) {
  const active = ACTIVE.includes(record.state);
  const isFolder = (record.fileCount ?? null) !== null;
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
  if (record.fileId) card.append(idChip(record.fileId));
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
      stat("", formatRate(record.bytesPerSecond)),
      stat("", plural(record.peers, "peer"), "peer-count"),
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
  if (active && record.history.length > 0) {
    card.append(speedGraph(record.history));
  }
  if (record.peersDropped > 0) {
    card.append(el("div", {
      class: "dl-warn",
      text: `${plural(record.peersDropped, "peer")} sent bad data and ${
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
            el(
              "span",
              {},
              // The name tells apart files sharing an id prefix, or a name
              // in other cases.
              `${file.name} `,
              idChip(file.id),
              ` ${formatBytes(file.size)}, ${plural(file.peers, "peer")}`,
            ),
            button("Download this one", () => startDownload({ id: file.id })),
          ),
        );
      }
      card.append(list);
    }
  }
  if (active && record.peerList.length > 0) {
    const details = el(
      "details",
      { class: "dl-peers" },
      el("summary", { text: `Peers (${record.peerList.length})` }),
      peerTable(record),
    );
    keepOpen(details, openPeers, record.key);
    card.append(details);
  }
  if (isFolder) card.append(downloadFilesDetails(record));
  const actions = el("div", { class: "dl-actions" });
  // A folder is opened from disk (its path is shown), not saved as one file.
  if (record.state === "done" && record.fileId && !isFolder) {
    actions.append(
      el("a", {
        class: "save",
        href: `/files/${record.fileId}`,
        download: record.name,
        text: "Save file",
      }),
    );
  }
  if (active || record.state === "choosing") {
    actions.append(
      button("Pause", () => act(`/api/downloads/${record.key}/pause`)),
    );
  }
  if (record.state === "paused" || record.state === "failed") {
    actions.append(
      button(
        record.state === "paused" ? "Resume" : "Retry",
        () => act(`/api/downloads/${record.key}/resume`),
      ),
    );
  }
  if (removing.has(record.key)) {
    const remove = (deleteData) => {
      removing.delete(record.key);
      act(`/api/downloads/${record.key}/remove`, { deleteData });
    };
    actions.append(
      el(
        "span",
        { class: "confirm" },
        button("Remove, keep data", () => remove(false)),
        // The page deletes no finished folder: that is for the file manager.
        record.state === "done" && isFolder ? null : button(
          record.state === "done"
            ? "Remove and delete file"
            : "Remove and delete data",
          () => remove(true),
          "small danger",
        ),
        button("Cancel", () => {
          removing.delete(record.key);
          rerender();
        }, "link"),
      ),
    );
  } else {
    actions.append(button("Remove", () => {
      removing.add(record.key);
      rerender();
    }));
  }
  if (record.state === "done" && record.path) {
    actions.append(el("span", { class: "hint path", text: record.path }));
  }
  card.append(actions);
  return card;
}

/**
 * What names the focused control of a card, so that its twin in the
 * rebuilt card can take the focus back: the card's key, the control's tag
 * and its label. Null when the focus is elsewhere.
 */
function focusedControl(box) {
  const focused = document.activeElement;
  if (!focused || focused === box || !box.contains(focused)) return null;
  const card = focused.closest(".dl");
  if (!card) return null;
  return {
    key: card.dataset.key,
    tag: focused.tagName,
    label: focused.getAttribute("aria-label") ?? focused.textContent,
  };
}

function refocus(box, control) {
  if (!control) return;
  const card = [...box.children].find((c) => c.dataset.key === control.key);
  const twin = [...(card?.querySelectorAll(control.tag) ?? [])].find((el) =>
    (el.getAttribute("aria-label") ?? el.textContent) === control.label
  );
  twin?.focus();
}

function renderDownloads(downloads) {
  const box = $("downloads");
  // Cards are rebuilt on each event (a few a second); the bar's width is
  // exact rather than animated, so the page stays right even when hidden.
  // The focus goes back to the same control, or the keyboard loses it.
  const control = focusedControl(box);
  const fresh = downloads.map(renderDownload);
  box.replaceChildren(...fresh);
  refocus(box, control);
  const choosing = new Set(
    downloads.filter((r) => r.state === "choosing").map((r) => r.key),
  );
  for (const key of pendingTicks.keys()) {
    if (!choosing.has(key)) pendingTicks.delete(key);
  }
  $("clear-finished").hidden = !downloads.some((record) =>
    record.state === "done" || record.state === "failed"
  );
}

// ---- tab title and notifications -------------------------------------------

const seenStates = new Map();
let finishedName = "";

function notifyFinished(downloads) {
  for (const record of downloads) {
    const before = seenStates.get(record.key);
    if (
      record.state === "done" && before !== undefined &&
      before !== "done"
    ) {
      finishedName = record.name;
      if ("Notification" in window && Notification.permission === "granted") {
        new Notification("Download finished", {
          body: `${record.name} (${formatBytes(record.size)})`,
          tag: `shoal-${record.key}`,
        });
      }
    }
  }
  seenStates.clear();
  for (const record of downloads) seenStates.set(record.key, record.state);
}

function updateTitle(downloads) {
  const running = downloads.filter((record) => ACTIVE.includes(record.state));
  if (running.length > 0) {
    finishedName = "";
    const size = running.reduce((sum, record) => sum + record.size, 0);
    const done = running.reduce((sum, record) => sum + record.bytesDone, 0);
    const percent = size > 0 ? Math.floor((done / size) * 100) : 0;
    document.title = `${percent} % · ${
      plural(running.length, "download")
    } · Shoal`;
  } else if (finishedName) {
    document.title = `Done: ${finishedName} · Shoal`;
  } else {
    document.title = "Shoal";
  }
}

function renderNotifyButton() {
  const box = $("notify");
  if (!("Notification" in window)) {
    box.hidden = true;
    return;
  }
  box.hidden = Notification.permission !== "default";
}

$("notify").addEventListener("click", async () => {
  // Asked on a click: browsers ignore requests the user did not make.
  await Notification.requestPermission();
  renderNotifyButton();
  if (Notification.permission === "granted") {
    showMessage("You will be told when a download finishes", true);
  }
});

// ---- seeds ------------------------------------------------------------------

// ---- magnet links -----------------------------------------------------------

/** How long "Copy magnet link" says "Copied". */
const COPIED_MS = 2000;
const COPY_LABEL = "Copy magnet link";

/**
 * Copies a magnet link; without the clipboard API (or its permission) the
 * link's own text box is selected and the browser's copy command tried.
 * The button says "Copied" for a moment (the row is kept across updates).
 */
async function copyMagnet(file, box, copyButton) {
  let copied = false;
  try {
    await navigator.clipboard.writeText(file.magnet);
    copied = true;
  } catch {
    box.focus();
    box.select();
    try {
      copied = document.execCommand("copy");
    } catch {
      copied = false;
    }
  }
  if (!copied) {
    showMessage(
      "Cannot copy here: the magnet link is selected, press Ctrl+C (⌘C on a Mac)",
    );
    return;
  }
  copyButton.textContent = "Copied";
  copyButton.classList.add("copied");
  clearTimeout(copyButton.copiedTimer);
  copyButton.copiedTimer = setTimeout(() => {
    copyButton.textContent = COPY_LABEL;
    copyButton.classList.remove("copied");
  }, COPIED_MS);
}

/** The line under a seed: its magnet link, a copy button, its `.torrent`. */
function shareRow(file) {
  const box = el("input", {
    type: "text",
    class: "magnet mono",
    readonly: "",
    spellcheck: "false",
    "aria-label": `Magnet link of ${file.name}`,
    title: file.magnet,
  });
  box.value = file.magnet;
  // One click selects the whole link, ready for Ctrl+C.
  box.addEventListener("focus", () => box.select());
  const copyButton = el("button", {
    type: "button",
    class: "small copy-magnet",
    text: COPY_LABEL,
    onclick: () => copyMagnet(file, box, copyButton),
  });
  return el(
    "tr",
    { class: "share", "data-id": file.id },
    el(
      "td",
      { colspan: "3" },
      el(
        "div",
        { class: "share-line" },
        box,
        copyButton,
        el("a", {
          class: "save torrent",
          href: file.torrentUrl,
          download: `${file.name}.torrent`,
          title: `Save ${file.name}.torrent`,
          text: ".torrent",
        }),
      ),
    ),
  );
}

/**
 * Rows kept from the last render, by what they show: a row whose content is
 * the same is reused, so a selected magnet link or a focused button survives
 * the live updates.
 */
let keptRows = new Map();

function keptRow(key, signature, build) {
  const kept = keptRows.get(key);
  if (kept && kept.signature === signature) return kept;
  return { signature, row: build() };
}

/**
 * Puts `rows` in `body`, leaving kept rows where they are: a row taken out
 * of the page, even for a moment, loses its focus and selection.
 */
function placeRows(body, rows) {
  const wanted = new Set(rows);
  for (const child of [...body.children]) {
    if (!wanted.has(child)) child.remove();
  }
  rows.forEach((row, i) => {
    if (body.children[i] !== row) {
      body.insertBefore(row, body.children[i] ?? null);
    }
  });
}

/** Seeds whose list of peers is open (kept across updates). */
const openSeedPeers = new Set();

/** The peers a seed is being sent to: address over client, protocol, rate. */
function seedPeersRow(file) {
  const details = el(
    "details",
    { class: "dl-peers" },
    el("summary", {
      text: `Uploading to ${plural(file.peerList.length, "peer")}`,
    }),
    peersTable(file.peerList, "files peers seed-peers", [
      ["Up", (peer) => formatRate(peer.upBytesPerSecond)],
    ]),
  );
  keepOpen(details, openSeedPeers, file.id);
  return el(
    "tr",
    { class: "seed-peers", "data-id": file.id },
    el("td", { colspan: "3" }, details),
  );
}

/** Seeded folders whose file list is open (kept across updates). */
const openSeedFiles = new Set();
/** The file lists fetched, by folder id: a folder's files never change. */
const folderLists = new Map();

/** A seeded folder's files, path and size, fetched when first opened. */
function seedFilesRow(file) {
  const body = el("tbody", {});
  const more = el("p", { class: "note", hidden: true });
  const details = el(
    "details",
    { class: "dl-peers folder-files" },
    el("summary", { text: `${plural(file.fileCount, "file")} in this folder` }),
    filesTable(["Size"], body),
    more,
  );
  const show = async () => {
    if (!details.open) return;
    let list = folderLists.get(file.id);
    if (!list) {
      try {
        list = await api("GET", `/api/seeds/${file.id}/files`);
      } catch (error) {
        showMessage(error.message);
        return;
      }
      folderLists.set(file.id, list);
    }
    body.replaceChildren(
      ...list.files.map((entry) =>
        el(
          "tr",
          {},
          el("td", { class: "mono", text: entry.path, title: entry.path }),
          el("td", { class: "num", text: formatBytes(entry.size) }),
        )
      ),
    );
    const left = list.total - list.files.length;
    more.textContent = left > 0
      ? `…and ${plural(left, "more file")}: see the folder on disk`
      : "";
    more.hidden = left === 0;
  };
  keepOpen(details, openSeedFiles, file.id);
  details.addEventListener("toggle", show);
  show();
  return el(
    "tr",
    { class: "seed-peers seed-files", "data-id": file.id },
    el("td", { colspan: "3" }, details),
  );
}

function renderSeeds(state) {
  const body = $("seeds");
  const next = new Map();
  const rows = [];
  for (const file of state.seeds) {
    const main = keptRow(
      `seed ${file.id}`,
      JSON.stringify([file, stopping.has(file.id)]),
      () => seedRow(file),
    );
    next.set(`seed ${file.id}`, main);
    rows.push(main.row);
    main.row.classList.toggle("has-share", Boolean(file.magnet));
    if (file.magnet) {
      const share = keptRow(
        `share ${file.id}`,
        JSON.stringify([file.magnet, file.torrentUrl, file.name]),
        () => shareRow(file),
      );
      next.set(`share ${file.id}`, share);
      rows.push(share.row);
      share.row.classList.toggle(
        "has-peers",
        file.peerList.length > 0 || file.fileCount !== null,
      );
    }
    if (file.fileCount !== null) {
      const files = keptRow(
        `files ${file.id}`,
        JSON.stringify([file.fileCount]),
        () => seedFilesRow(file),
      );
      next.set(`files ${file.id}`, files);
      rows.push(files.row);
      files.row.classList.toggle("has-peers", file.peerList.length > 0);
    }
    if (file.peerList.length > 0) {
      const peers = keptRow(
        `peers ${file.id}`,
        JSON.stringify([file.peerList, openSeedPeers.has(file.id)]),
        () => seedPeersRow(file),
      );
      next.set(`peers ${file.id}`, peers);
      rows.push(peers.row);
    }
  }
  keptRows = next;
  placeRows(body, rows);
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

function seedRow(file) {
  const actions = el("td", { class: "actions" });
  if (stopping.has(file.id)) {
    const stop = (deleteFile) => {
      stopping.delete(file.id);
      act(`/api/seeds/${file.id}/remove`, { deleteFile });
    };
    actions.append(
      el(
        "span",
        { class: "confirm" },
        button("Stop seeding", () => stop(false)),
        file.deletable
          ? button("Stop and delete file", () => stop(true), "small danger")
          : null,
        button("Cancel", () => {
          stopping.delete(file.id);
          rerender();
        }, "link"),
      ),
    );
  } else {
    if (file.fileUrl) {
      actions.append(el("a", {
        class: "save",
        href: file.fileUrl,
        download: file.name,
        text: "Save",
      }));
    } else if (file.stale || !file.complete) {
      actions.append(el("span", {
        class: "hint",
        text: file.stale ? "changed" : "partial",
      }));
    }
    if (file.complete) {
      actions.append(button("Stop", () => {
        stopping.add(file.id);
        rerender();
      }));
    }
  }
  return el(
    "tr",
    { "data-id": file.id },
    el(
      "td",
      {},
      el("span", { class: "cell-name", text: file.name, title: file.path }),
      idChip(file.id),
    ),
    el("td", {
      class: "num",
      text: formatBytes(file.size),
      title: file.upBytesPerSecond > 0
        ? `sending ${formatRate(file.upBytesPerSecond)}`
        : "",
    }),
    actions,
  );
}

// ---- totals and limits ------------------------------------------------------

function renderTotals(state) {
  const { uploadedBytes, downloadedBytes, ratio } = state.totals;
  $("total-up").textContent = formatBytes(uploadedBytes);
  $("total-down").textContent = formatBytes(downloadedBytes);
  $("ratio").textContent = ratio === null ? "–" : ratio.toFixed(2);
  const limits = state.limits;
  const show = (rate) => rate === null ? "none" : formatRate(rate);
  $("limits-now").textContent = `Now: upload ${
    show(limits.maxUploadBytesPerSecond)
  }, download ${show(limits.maxDownloadBytesPerSecond)}, ${
    plural(limits.uploadSlots, "upload slot")
  }.`;
  // Filled in once, and again after a save; never under the user's typing.
  if (!limitsFilled) {
    limitsFilled = true;
    const mb = (rate) => rate === null ? "" : String(rate / 1e6);
    $("limit-up").value = mb(limits.maxUploadBytesPerSecond);
    $("limit-down").value = mb(limits.maxDownloadBytesPerSecond);
    $("slots").value = String(limits.uploadSlots || "");
  }
}

let limitsFilled = false;

$("limits-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const rate = (id) => {
    const text = $(id).value.trim();
    return text === "" ? null : Math.round(Number(text) * 1e6);
  };
  const body = {
    maxUploadBytesPerSecond: rate("limit-up"),
    maxDownloadBytesPerSecond: rate("limit-down"),
  };
  const slots = $("slots").value.trim();
  if (slots !== "") body.uploadSlots = Number(slots);
  try {
    await api("POST", "/api/settings", body);
    limitsFilled = false;
    showMessage("Limits saved", true);
  } catch (error) {
    showMessage(error.message);
  }
});

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
      el(
        "td",
        {},
        el("span", { class: "cell-name", text: file.name, title: file.name }),
        idChip(file.id),
      ),
      el("td", { class: "num", text: formatBytes(file.size) }),
      el("td", {
        class: "num",
        text: `${file.peers}`,
        title: `${
          plural(file.peers, "peer")
        }, ${file.seeders} with the whole file`,
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

// A click is a press and a release on one element: a card rebuilt between
// the two loses it (the pressed button is gone). While a pointer is down,
// the newest state waits, and is drawn once the click has landed; a press
// held longer than HOLD_MS (a release the page never saw) holds nothing.
const HOLD_MS = 5000;
let pressedAt = null;
let heldState = null;
document.addEventListener("pointerdown", () => {
  pressedAt = Date.now();
}, true);
function release() {
  pressedAt = null;
  if (!heldState) return;
  const state = heldState;
  heldState = null;
  // After the click event this release is about to make.
  setTimeout(() => render(state), 0);
}
document.addEventListener("pointerup", release, true);
document.addEventListener("pointercancel", release, true);

function render(state) {
  lastState = state;
  if (pressedAt !== null && Date.now() - pressedAt < HOLD_MS) {
    heldState = state;
    return;
  }
  const trackers = state.peer.tracker;
  $("peer-info").textContent = `Peer port ${state.peer.port}${
    trackers
      ? ` · ${trackers.includes(",") ? "trackers" : "tracker"} ${trackers}`
      : ""
  }${
    state.peer.dhtPort ? ` · DHT on UDP ${state.peer.dhtPort}` : ""
  } · saves to ${state.peer.outDir}`;
  $("shared-dir").textContent = state.peer.sharedDir;
  renderSeeds(state);
  notifyFinished(state.downloads);
  renderDownloads(state.downloads);
  updateTitle(state.downloads);
  renderTotals(state);
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

// The event stream reconnects by itself after a network error (the peer
// stopped), but gives up for good on an HTTP error: then a new stream is
// opened every few seconds, once the peer answers with this page's token.
let source = null;
let retryTimer;
const RETRY_MS = 2000;

function offline(text) {
  $("connection").classList.remove("live");
  $("peer-info").textContent = text;
}

function connect() {
  clearTimeout(retryTimer);
  source?.close();
  source = new EventSource("/api/events");
  source.addEventListener("open", () => {
    $("connection").classList.add("live");
    refreshTracker();
  });
  source.addEventListener("state", (event) => render(JSON.parse(event.data)));
  source.addEventListener("error", () => {
    offline("Reconnecting to the peer…");
    if (source.readyState === EventSource.CLOSED) {
      retryTimer = setTimeout(retry, RETRY_MS);
    }
  });
}

async function retry() {
  let status = 0;
  try {
    status = (await fetch("/api/state", {
      headers: { "x-shoal-token": token },
    })).status;
  } catch {
    // Not up yet.
  }
  if (status === 200) {
    connect();
    return;
  }
  if (status === 403) {
    offline(
      "The peer no longer knows this page: open the address it printed",
    );
  }
  retryTimer = setTimeout(retry, RETRY_MS);
}

renderNotifyButton();
connect();
refreshTracker();
setInterval(refreshTracker, 15000);
