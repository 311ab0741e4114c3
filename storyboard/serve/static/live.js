// The live board's script (storyboard serve): follows the server's event stream, swaps in the new
// board when the storyboard is saved, shows build progress, and sends picks, approvals and notes.
(() => {
  "use strict";

  const $ = (sel, root = document) => root.querySelector(sel);
  const live = () => $("#live");

  function say(text) {
    const el = $("#build-state");
    if (el) el.textContent = text;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Storyboard": "1" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    let data = {};
    try {
      data = await response.json();
    } catch (e) {
      data = {};
    }
    return { status: response.status, data };
  }

  // -- the board ---------------------------------------------------------------------------
  let loading = false;
  let again = false;

  async function reload() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      const response = await fetch("/", { cache: "no-store", credentials: "same-origin" });
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const focused = document.activeElement;
      const typing = focused && focused.classList && focused.classList.contains("note-text")
        ? { shot: focused.closest("form").dataset.shot, value: focused.value, at: focused.selectionStart }
        : null;
      for (const sel of ["header.top", "#live", "main"]) {
        const now = $(sel);
        const next = $(sel, doc);
        if (now && next) now.replaceWith(document.importNode(next, true));
      }
      if (doc.title) document.title = doc.title;
      if (typing) {
        const form = document.querySelector(`form.review[data-shot="${typing.shot}"]`);
        const area = form && $(".note-text", form);
        if (area) {
          area.value = typing.value;
          area.focus();
          area.setSelectionRange(typing.at, typing.at);
        }
      }
      document.documentElement.dataset.version = live() ? live().dataset.version : "";
    } catch (e) {
      say("the board could not be loaded: " + e);
    } finally {
      loading = false;
      if (again) {
        again = false;
        reload();
      }
    }
  }

  // -- events from the server ----------------------------------------------------------------
  function money(x) {
    return "$" + Number(x || 0).toFixed(2);
  }

  function seconds(s) {
    if (s === null || s === undefined) return "estimating";
    s = Math.round(s);
    return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
  }

  const events = new EventSource("/events", { withCredentials: true });
  events.addEventListener("hello", (e) => {
    const version = String(JSON.parse(e.data).version);
    if (!live() || live().dataset.version !== version) reload();
  });
  events.addEventListener("board", () => reload());
  events.addEventListener("shot", (e) => {
    // a shot's picked take is "<id>", another take "<id>.take<n>" (a sound, "<id>.line1", has no card)
    const d = JSON.parse(e.data);
    const unit = /^(.*)\.take(\d+)$/.exec(d.id);
    const card = document.getElementById("shot-" + (unit ? unit[1] : d.id));
    const where = unit ? document.getElementById(`shot-${unit[1]}-take${unit[2]}`) : card;
    if (where) {
      let line = $(".live-state", where);
      if (!line) {
        line = document.createElement("p");
        line.className = "live-state";
        where.appendChild(line);
      }
      const queue = d.queue === null || d.queue === undefined ? "" : ` · position ${d.queue} in fal's queue`;
      line.textContent = d.state + queue + (d.message ? ` — ${d.message}` : "");
    }
    const badge = card && !unit && $(".status", card);
    if (badge && d.state !== "progress") badge.textContent = d.state;
  });
  events.addEventListener("progress", (e) => {
    const d = JSON.parse(e.data);
    const bar = $("#build-progress");
    if (bar) {
      bar.hidden = false;
      bar.max = Math.max(1, d.total);
      bar.value = d.done;
    }
    let text = `${d.backend} build: ${d.done}/${d.total} takes · ${seconds(d.elapsed)} elapsed`;
    if (d.done < d.total) text += ` · ${seconds(d.remaining)} left`;
    text += ` · ${money(d.spent)} spent of ${money(d.estimate)} estimated`;
    say(text);
  });
  events.addEventListener("build", (e) => {
    const d = JSON.parse(e.data);
    say(`${d.backend} build: ${d.state}` + (d.message ? ` — ${d.message}` : ""));
    if (d.state === "done" || d.state === "failed") {
      const bar = $("#build-progress");
      if (bar) bar.hidden = true;
      reload();
    }
  });
  events.onerror = () => say("connection to storyboard serve lost; retrying");

  // -- actions ---------------------------------------------------------------------------------
  document.addEventListener("click", async (e) => {
    const target = e.target;
    if (!(target instanceof HTMLElement)) return;
    if (target.classList.contains("pick")) {
      target.disabled = true;
      const r = await post("/api/pick", {
        shot: target.dataset.shot,
        take: Number(target.dataset.take),
        digest: live() ? live().dataset.digest : null,
      });
      say(r.status === 200 ? `${r.data.shot}: picked take ${r.data.take}` : `pick refused: ${r.data.error}`);
      if (r.status !== 200) target.disabled = false;
    } else if (target.classList.contains("save-note")) {
      const form = target.closest("form");
      const r = await post("/api/review", { shot: form.dataset.shot, note: $(".note-text", form).value });
      say(r.status === 200 ? `${r.data.shot}: note saved` : `note refused: ${r.data.error}`);
    } else if (target.id === "build") {
      let r = await post("/api/build", {});
      if (r.status === 409 && r.data.confirm) {
        if (!window.confirm(r.data.message)) {
          say("nothing started");
          return;
        }
        r = await post("/api/build", { confirm_usd: r.data.estimate });
      }
      say(r.status < 300 ? `${r.data.backend} build: ${r.data.state}` : `build refused: ${r.data.error || r.data.message}`);
    }
  });

  document.addEventListener("change", async (e) => {
    const target = e.target;
    if (!(target instanceof HTMLInputElement) || !target.classList.contains("approve")) return;
    const form = target.closest("form");
    const r = await post("/api/review", { shot: form.dataset.shot, approved: target.checked });
    say(r.status === 200 ? `${r.data.shot}: ${r.data.approved ? "approved" : "approval withdrawn"}` : `refused: ${r.data.error}`);
  });
})();
