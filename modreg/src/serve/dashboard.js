// The dashboard of `modreg serve`: draws the state inlined in the page, then polls
// `/api/dashboard` every second. Every figure and text from the server is set with
// `textContent` or an attribute, never parsed as markup; charts are SVG built element by
// element. No outside assets.
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const POLL_MS = 1000;
  const CHART_W = 320;
  const CHART_H = 72;
  const HISTORY_MS = 180_000;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function bytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i += 1;
    }
    return (i === 0 ? String(n) : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)) + " " + units[i];
  }

  function duration(us) {
    if (us == null) return "–";
    if (us < 1) return (us * 1000).toFixed(0) + " ns";
    if (us < 1000) return us.toFixed(us < 10 ? 2 : us < 100 ? 1 : 0) + " µs";
    if (us < 1e6) return (us / 1000).toFixed(us < 1e4 ? 2 : us < 1e5 ? 1 : 0) + " ms";
    return (us / 1e6).toFixed(2) + " s";
  }

  function rate(perSecond) {
    if (perSecond == null) return "–";
    return perSecond.toFixed(perSecond >= 100 ? 0 : perSecond >= 10 ? 1 : 2) + "/s";
  }

  function percent(ratio) {
    if (ratio == null) return "–";
    const value = ratio * 100;
    return value.toFixed(value > 0 && value < 10 ? 1 : 0) + "%";
  }

  function count(n) {
    return n.toLocaleString("en");
  }

  function clock(ms) {
    return new Date(ms).toLocaleTimeString("en-GB");
  }

  const statusOf = (health) => (health ? health.status : "unknown");

  // A chart of one or more series against time: the last three minutes, now at the right.
  function chart(kind, title, now, times, lines, format) {
    let max = 0;
    for (const line of lines) {
      for (const v of line.values) if (v != null && v > max) max = v;
    }
    const top = max > 0 ? max * 1.1 : 1;
    const x = (t) => CHART_W * (1 - Math.min(HISTORY_MS, Math.max(0, now - t)) / HISTORY_MS);
    const y = (v) => CHART_H - (v / top) * (CHART_H - 4);
    const graph = svg("svg", {
      class: "chart chart-" + kind,
      viewBox: `0 0 ${CHART_W} ${CHART_H}`,
      preserveAspectRatio: "none",
      role: "img",
      "aria-label": title,
    });
    graph.append(svg("title", {}, title));
    for (const fraction of [0.25, 0.5, 0.75]) {
      const gy = CHART_H - fraction * (CHART_H - 4);
      graph.append(svg("line", { class: "grid", x1: 0, x2: CHART_W, y1: gy, y2: gy }));
    }
    for (const line of lines) {
      const points = [];
      line.values.forEach((v, i) => {
        if (v != null) points.push(`${x(times[i]).toFixed(1)},${y(v).toFixed(1)}`);
      });
      if (points.length === 0) continue;
      if (points.length === 1) {
        // One point is no line: a dot shows it.
        const [cx, cy] = points[0].split(",");
        graph.append(svg("circle", { class: "dot " + line.class, cx, cy, r: 2.5 }));
      }
      if (line.fill) {
        const first = points[0].split(",")[0];
        const last = points[points.length - 1].split(",")[0];
        graph.append(svg("polygon", {
          class: "area " + line.class,
          points: `${first},${CHART_H} ${points.join(" ")} ${last},${CHART_H}`,
        }));
      }
      graph.append(svg("polyline", { class: "line " + line.class, points: points.join(" ") }));
    }
    const box = el("figure", { class: "chart-box" });
    box.append(
      el("figcaption", {}, el("span", {}, title), el("span", { class: "scale" }, "max " + format(max))),
      graph,
      el("div", { class: "axis" }, el("span", {}, "3 min ago"), el("span", {}, "now")),
    );
    return box;
  }

  function stat(label, value, cls) {
    return el("div", { class: "stat " + (cls || "") }, el("span", { class: "value" }, value), el("span", { class: "label" }, label));
  }

  function card(plugin, now) {
    const status = statusOf(plugin.health);
    const recent = plugin.recent || {};
    const node = el("article", { class: "card " + status, "data-plugin": plugin.name, "data-health": status });
    node.append(
      el("header", {},
        el("h2", {}, plugin.name),
        el("span", { class: "badge " + status }, status),
        el("span", { class: "meta" }, plugin.type + " · " + plugin.version)),
    );
    if (plugin.health && plugin.health.reason) {
      node.append(el("p", { class: "reason" }, plugin.health.reason));
    }
    const ratioClass = "error-ratio" + (recent.error_ratio > 0.5 ? " bad" : recent.error_ratio > 0 ? " warn" : "");
    node.append(el("div", { class: "stats" },
      stat("requests", rate(recent.rate_per_s), "rate"),
      stat("errors (1 min)", percent(recent.error_ratio), ratioClass),
      stat("p50", duration(recent.p50_us), "p50"),
      stat("p90", duration(recent.p90_us), "p90"),
      stat("p99", duration(recent.p99_us), "p99"),
      stat("calls", count(plugin.calls), "calls"),
      stat("in", bytes(plugin.bytes_in), "bytes-in"),
      stat("out", bytes(plugin.bytes_out), "bytes-out"),
    ));
    const s = plugin.series;
    node.append(el("div", { class: "charts" },
      chart("calls", "calls and errors per second", now, s.t, [
        { class: "calls", values: s.calls, fill: true },
        { class: "errors", values: s.errors, fill: true },
      ], (v) => v.toFixed(0) + "/s"),
      chart("latency", "p99 latency", now, s.t, [{ class: "latency", values: s.p99_us }], duration),
    ));
    if (plugin.last_error) {
      node.append(el("p", { class: "last-error" },
        el("span", { class: "label" }, "last error " + clock(plugin.last_error.at_ms) + ": "),
        el("span", { class: "message" }, plugin.last_error.message)));
    }
    return node;
  }

  function render(state) {
    const now = state.generated_at_ms;
    const overall = statusOf(state.overall);
    const badge = document.getElementById("overall");
    badge.className = "badge " + overall;
    badge.textContent = overall;
    badge.title = state.overall && state.overall.reason ? state.overall.reason : "";
    const active = state.plugins.filter((p) => p.calls > 0);
    const idle = state.plugins.filter((p) => p.calls === 0);
    const failing = state.plugins.filter((p) => statusOf(p.health) === "unhealthy").length;
    document.getElementById("summary").textContent =
      `${state.plugins.length} plugins · ${active.length} called · ${failing} unhealthy`;
    document.getElementById("updated").textContent = "updated " + clock(now);
    document.getElementById("active").replaceChildren(...active.map((p) => card(p, now)));
    const rows = idle.map((p) => {
      const status = statusOf(p.health);
      const cell = el("td", { class: status }, status);
      if (p.health && p.health.reason) cell.title = p.health.reason;
      return el("tr", { "data-plugin": p.name, "data-health": status },
        el("td", {}, p.name), el("td", {}, p.type), el("td", {}, p.version), cell);
    });
    document.querySelector("#idle tbody").replaceChildren(...rows);
    document.getElementById("idle-section").hidden = idle.length === 0;
    document.body.classList.remove("stale");
  }

  async function poll() {
    try {
      const response = await fetch("/api/dashboard", { cache: "no-store" });
      if (!response.ok) throw new Error(String(response.status));
      render(await response.json());
    } catch (_) {
      // The server is away: keep the last figures, marked as old.
      document.body.classList.add("stale");
    }
    setTimeout(poll, POLL_MS);
  }

  render(JSON.parse(document.getElementById("state").textContent));
  setTimeout(poll, POLL_MS);
})();
