import { CHART_KIT, escapeHtml, scriptSafe, uplotAssets } from "../../report/index.ts";

// The live page: one self-contained HTML document (uPlot inlined, no request outside 127.0.0.1) that asks
// /state once a second and redraws. Each chart's box carries `data-last-x`, the last second it shows, so a
// test (or a person) can see it advance.

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1rem 1.5rem; color: #111827; }
h1 { font-size: 1.2rem; margin: 0 0 .5rem; } h2 { font-size: 1rem; margin: 1rem 0 .4rem; }
.figures span { display: inline-block; margin-right: 1.2rem; } .figures b { font-variant-numeric: tabular-nums; }
button { font: inherit; padding: .2rem .6rem; margin: .15rem; cursor: pointer; }
#emergency { background: #b91c1c; color: white; border: 0; border-radius: 4px; padding: .4rem 1rem; font-weight: 700; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: .8rem; }
.chart { border: 1px solid #e5e7eb; border-radius: 6px; padding: .4rem; } .chart h3 { font-size: .9rem; margin: 0; }
table { border-collapse: collapse; } td, th { border-bottom: 1px solid #e5e7eb; padding: .15rem .5rem; text-align: left; }
.active { color: #b91c1c; font-weight: 600; } .muted { color: #6b7280; } #message { color: #b91c1c; }
`;

const CLIENT = `
(function () {
  "use strict";
  var colour = posstormChart.colour;
  var faults = [];
  var shading = posstormChart.shading(function () { return faults; });
  var plots = {};
  function text(id, value) { document.getElementById(id).textContent = value; }
  function esc(value) { return String(value).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }
  function post(path, method, payload) {
    return fetch(path, { method: method, headers: { "content-type": "application/json" },
      body: payload === undefined ? undefined : JSON.stringify(payload) })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) text("message", j.error || JSON.stringify(j)); else text("message", ""); }); });
  }
  document.getElementById("emergency").addEventListener("click", function () { post("/emergency-stop", "POST"); });
  document.getElementById("end").addEventListener("click", function () { post("/end", "POST"); });
  function draw(state) {
    text("elapsed", state.elapsedS.toFixed(0) + " / " + state.durationS + " s" + (state.ended ? " (load ended)" : ""));
    document.getElementById("end").hidden = !state.endable;
    text("signedIn", String(state.signedIn)); text("owed", String(state.reversalsOwed)); text("dropped", String(state.dropped));
    var box = document.getElementById("incidents");
    if (!box.dataset.filled) {
      box.dataset.filled = "1";
      state.incidents.forEach(function (i) {
        var b = document.createElement("button");
        b.textContent = i.title + (i.needsRoot ? " (root)" : "");
        b.title = "apply " + i.id + " for 30 s";
        b.dataset.incident = i.id;
        b.addEventListener("click", function () { post("/faults", "POST", { incident: i.id, forS: 30 }); });
        box.appendChild(b);
      });
    }
    var rows = state.timeline.map(function (e) {
      var active = e.appliedAt && !e.clearedAt;
      var when = (e.appliedAt ? "+" + e.appliedAt.sinceStartS.toFixed(1) + " s" : "") + (e.clearedAt ? " → +" + e.clearedAt.sinceStartS.toFixed(1) + " s" : "");
      var clear = active && e.origin === "manual" ? ' <button data-clear="' + esc(e.name) + '">clear</button>' : "";
      return "<tr><td" + (active ? ' class="active"' : "") + ">" + esc(e.name) + "</td><td>" + esc(e.origin || "planned") + "</td><td>" + esc(e.status) + "</td><td>" + when + "</td><td>" + esc(e.description) + clear + "</td></tr>";
    });
    document.getElementById("timeline").innerHTML = rows.length ? rows.join("") : '<tr><td class="muted">no fault yet</td></tr>';
    Array.prototype.forEach.call(document.querySelectorAll("[data-clear]"), function (b) {
      b.addEventListener("click", function () { post("/faults/" + encodeURIComponent(b.dataset.clear), "DELETE"); });
    });
    var lab = [];
    Object.keys(state.lab).forEach(function (role) {
      Object.keys(state.lab[role]).forEach(function (k) { lab.push("<tr><td>" + esc(role) + "</td><td>" + esc(k) + "</td><td>" + (Math.round(state.lab[role][k] * 100) / 100) + "</td></tr>"); });
    });
    document.getElementById("lab").innerHTML = lab.join("");
    faults = state.charts.faults;
    var holder = document.getElementById("charts");
    state.charts.charts.forEach(function (chart) {
      if (chart.lines.length === 0 || state.charts.x.length === 0) return;
      var data = [state.charts.x].concat(chart.lines.map(function (l) { return l.values; }));
      var key = chart.lines.map(function (l) { return l.label; }).join("|");
      var p = plots[chart.id];
      if (p && p.key !== key) { p.plot.destroy(); p.box.remove(); p = undefined; }
      if (!p) {
        var box = document.createElement("div"); box.className = "chart"; box.id = "chart-" + chart.id;
        box.innerHTML = "<h3></h3><div class=plot></div>"; box.querySelector("h3").textContent = chart.title;
        holder.appendChild(box);
        var el = box.querySelector(".plot");
        var plot = new uPlot({ width: Math.max(300, el.clientWidth || 560), height: 200, scales: { x: { time: false } },
          axes: [{ label: "seconds since load start" }, { label: chart.unit }],
          series: [{ label: "t (s)" }].concat(chart.lines.map(function (l, i) { return { label: l.label, stroke: colour(l.label, i), width: 1.5, points: { show: false } }; })),
          plugins: [shading] }, data, el);
        p = plots[chart.id] = { plot: plot, box: box, key: key };
      } else p.plot.setData(data);
      p.box.dataset.lastX = String(state.charts.x[state.charts.x.length - 1]);
    });
  }
  function poll() {
    fetch("/state").then(function (r) { return r.json(); }).then(function (state) { draw(state); }, function () {
      text("message", "the run has ended (the live view is gone)");
    }).finally(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
`;

export function livePage(runId: string): string {
  const assets = uplotAssets();
  const title = `posstorm live: ${escapeHtml(runId)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>${assets.uplotCss}</style><style>${STYLE}</style></head>
<body>
<h1>${title}</h1>
<p class="figures"><span>load <b id="elapsed">–</b></span><span>signed in <b id="signedIn">–</b></span>
<span>reversals owed <b id="owed">–</b></span><span>dropped arrivals <b id="dropped">–</b></span>
<button id="emergency" title="clear every fault, planned and by hand, now; the load goes on">Emergency stop: clear every fault</button>
<button id="end" hidden title="clear every fault, stop the load and write the report">End rehearsal</button></p>
<p id="message"></p>
<h2>Incidents (30 s each)</h2><div id="incidents"></div>
<h2>Fault timeline</h2><table><tbody id="timeline"></tbody></table>
<h2>Charts</h2><div class="charts" id="charts"></div>
<h2>Lab programs</h2><table><tbody id="lab"></tbody></table>
<p class="muted">Prometheus text of these figures: <a href="/metrics">/metrics</a>.</p>
<script>${scriptSafe(assets.uplotJs)}</script>
<script>${scriptSafe(CHART_KIT + CLIENT)}</script>
</body></html>`;
}
