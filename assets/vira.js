// vira: a little plain JavaScript for the pages (sorting and filtering tables, expanding rows,
// starting and following BLAST searches). Every page works for reading without it.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// Sortable tables: header buttons sort the rows (each with the detail row that follows it).
function sortBy(table, column, kind, descending) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows).filter((r) => !r.classList.contains("detail"));
  const value = (row) => {
    const cell = row.cells[column];
    const raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent;
    return kind === "number" ? parseFloat(raw) : raw.toLowerCase();
  };
  rows.sort((a, b) => {
    const x = value(a), y = value(b);
    const order = kind === "number" ? (x - y || 0) : x.localeCompare(y);
    return descending ? -order : order;
  });
  for (const row of rows) {
    const detail = row.nextElementSibling;
    body.appendChild(row);
    if (detail && detail.classList.contains("detail")) body.appendChild(detail);
  }
}

document.addEventListener("click", (event) => {
  const sortButton = event.target.closest("th button[data-sort]");
  if (sortButton) {
    const th = sortButton.closest("th");
    const table = th.closest("table");
    const descending = th.getAttribute("aria-sort") !== "descending";
    for (const other of th.parentElement.children) other.setAttribute("aria-sort", "none");
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    sortBy(table, th.cellIndex, sortButton.dataset.sort, descending);
    return;
  }
  const expand = event.target.closest("button.expand");
  if (expand) {
    toggle(expand);
    return;
  }
  const blast = event.target.closest("button.blast-start");
  if (blast) startBlast(blast);
});

// Filter boxes hide the rows whose key does not contain the text.
document.addEventListener("input", (event) => {
  const input = event.target.closest("input[data-filter]");
  if (!input) return;
  const table = document.getElementById(input.dataset.filter);
  const text = input.value.trim().toLowerCase();
  for (const row of table.tBodies[0].rows) {
    if (row.classList.contains("detail")) continue;
    const show = !text || (row.dataset.key || "").toLowerCase().includes(text);
    row.hidden = !show;
    const detail = row.nextElementSibling;
    if (!show && detail && detail.classList.contains("detail")) detail.hidden = true;
    if (!show) {
      const button = row.querySelector("button.expand");
      if (button) button.setAttribute("aria-expanded", "false");
    }
  }
});

// A fragment of a page, fetched from the URL the server wrote into the page (ids encoded there,
// never pasted together here), and returned only when the reply is what the fragment routes
// send: same-origin text/html marked with X-Vira-Fragment. Anything else (a JSON document whose
// text someone else wrote, a redirect to elsewhere) is never inserted as HTML.
async function fragment(src) {
  const url = new URL(src, window.location.href);
  if (url.origin !== window.location.origin) throw new Error("not this site");
  const reply = await fetch(url, { credentials: "same-origin", redirect: "error" });
  if (!reply.ok) throw new Error("HTTP " + reply.status);
  const type = reply.headers.get("content-type") || "";
  if (!type.startsWith("text/html") || reply.headers.get("x-vira-fragment") !== "1") {
    throw new Error("the reply is not a fragment of a page");
  }
  return reply.text();
}

// Expand a row: show its detail row. An OTU's row gets one the first time, loaded from the
// analysis's OTU fragment (pages with thousands of OTUs stay small).
async function toggle(button) {
  const row = button.closest("tr");
  if (!button.hasAttribute("aria-controls") && row.dataset.src) {
    const detail = document.createElement("tr");
    detail.className = "detail";
    detail.id = "detail-" + row.dataset.otu;
    const cell = document.createElement("td");
    cell.colSpan = row.cells.length;
    const body = document.createElement("div");
    body.className = "detail-body";
    body.setAttribute("aria-live", "polite");
    cell.appendChild(body);
    detail.appendChild(cell);
    row.after(detail);
    button.setAttribute("aria-controls", detail.id);
    button.dataset.src = row.dataset.src;
  }
  const detail = document.getElementById(button.getAttribute("aria-controls"));
  const open = button.getAttribute("aria-expanded") !== "true";
  button.setAttribute("aria-expanded", String(open));
  detail.hidden = !open;
  const target = detail.querySelector(".detail-body");
  if (open && button.dataset.src && target && !target.dataset.loaded) {
    target.textContent = "Loading…";
    try {
      target.innerHTML = await fragment(button.dataset.src);
      target.dataset.loaded = "1";
    } catch (error) {
      target.textContent = "Could not load the details (" + error.message + "). Try again.";
      button.setAttribute("aria-expanded", "false");
    }
  }
}

// BLAST: PUT starts (or restarts) the search; the panel then follows the record until it ends.
async function startBlast(button) {
  button.disabled = true;
  const panel = button.closest(".blast-panel");
  try {
    const url = new URL(button.dataset.url, window.location.href);
    if (url.origin !== window.location.origin) throw new Error("not this site");
    const reply = await fetch(url, {
      method: "PUT",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken(), "Content-Type": "application/json" },
      body: "{}",
    });
    if (!reply.ok) {
      const body = await reply.json().catch(() => ({}));
      throw new Error(body.message || "HTTP " + reply.status);
    }
    await refresh(panel);
  } catch (error) {
    button.disabled = false;
    let note = panel.querySelector(".blast-note");
    if (!note) {
      note = document.createElement("p");
      note.className = "error blast-note";
      note.setAttribute("role", "alert");
      panel.appendChild(note);
    }
    note.textContent = "The search could not be started: " + error.message;
  }
}

// Replace a panel by its current state from the server; keep following while it runs.
async function refresh(panel) {
  const holder = document.createElement("div");
  holder.innerHTML = await fragment(panel.dataset.src);
  const fresh = holder.firstElementChild;
  panel.replaceWith(fresh);
  follow(fresh);
  return fresh;
}

function follow(panel) {
  if (panel.dataset.state !== "running") return;
  const seconds = Math.max(1, parseInt(panel.dataset.poll, 10) || 3);
  setTimeout(() => {
    if (document.body.contains(panel)) refresh(panel).catch(() => follow(panel));
  }, seconds * 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const panel of document.querySelectorAll(".blast-panel")) follow(panel);
});
