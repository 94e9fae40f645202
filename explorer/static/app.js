// fhrn-ode explore: the page. Every control's value goes with every request (the server keeps no view
// state); the numbers come back as JSON and are drawn with Plotly.js (served locally). docs/explore.md.
"use strict";
const SLIDERS = [  // name, label, min, max, step
  ["gamma", "gamma", 0, 3, 0.01], ["kappa", "kappa", 0, 20, 0.05], ["theta", "theta", 0, 2, 0.01],
  ["leak", "leak", 0, 3, 0.01], ["beta", "beta", 0, 4, 0.01], ["wr_scale", "|W*|", 0, 3, 0.01]];
const SMALL_CFG = {displaylogo: false, responsive: true, displayModeBar: false};
const TEXT_KEYS = ["dim", "seed", "n_init", "init_radius", "t1", "extent"];
const $ = (id) => document.getElementById(id);
const X = window.__explore = {timings: [], last: null, lastTrajectory: null, point: null, moved: "gamma",
                              busy: false, pending: null, errors: [], requests: 0};

function buildSliders() {
  const box = $("sliders");
  for (const [name, label, lo, hi, step] of SLIDERS) {
    const row = document.createElement("div");
    row.className = "slider";
    row.innerHTML = `<span>${label}</span><input id="${name}-range" type="range" min="${lo}" max="${hi}" step="${step}">` +
                    `<input id="${name}" type="text">`;
    box.appendChild(row);
    const range = row.querySelector("input[type=range]"), text = row.querySelector("input[type=text]");
    range.addEventListener("input", () => { text.value = range.value; X.moved = name; bifLabel(); refresh(performance.now()); });
    text.addEventListener("change", () => {
      if (text.value.trim() !== "" && isFinite(Number(text.value))) range.value = text.value;
      X.moved = name; bifLabel(); refresh(performance.now());
    });
  }
}

function setValues(v) {  // fill the controls from a {name: value} object (defaults, URL query, a trained operator)
  for (const [k, val] of Object.entries(v)) {
    if (val === null || val === undefined) continue;
    if (k === "wr") {
      const builtin = ["antisym", "sym", "mixed", "random"].includes(val);
      $("wr-kind").value = builtin ? val : "other";
      $("wr-path").disabled = builtin;
      if (!builtin) $("wr-path").value = val;
    } else if (k === "memory") { $("memory").checked = val !== "none"; }
    else if ($(k)) { $(k).value = val; if ($(k + "-range")) $(k + "-range").value = val; }
  }
}

function collect() {  // the view as the server reads it: raw text of the fields (the server validates)
  const kind = $("wr-kind").value, v = {wr: kind === "other" ? $("wr-path").value : kind};
  for (const [name] of SLIDERS) v[name] = $(name).value;
  for (const k of TEXT_KEYS) v[k] = $(k).value;
  v.memory = $("memory").checked ? "hebbian" : "none";
  if (X.trainedNull) { v.gamma = null; v.beta = null; }
  return v;
}

async function api(name, body) {
  X.requests += 1;
  const r = await fetch(`/api/${name}`, {method: "POST", headers: {"Content-Type": "application/json"},
                                         body: JSON.stringify(body)});
  let out;
  try { out = await r.json(); } catch (e) { out = {ok: false, error: `the server answered ${r.status} without JSON`}; }
  return out;
}

function showMessages(list) {
  const box = $("messages");
  box.innerHTML = "";
  for (const m of list) {
    const div = document.createElement("div");
    div.className = `msg ${m.level}`;
    div.dataset.kind = m.kind;
    div.textContent = m.text;
    box.appendChild(div);
  }
}

function circle(r) {
  const t = [...Array(181).keys()].map((k) => 2 * Math.PI * k / 180);
  return {x: t.map((a) => r * Math.cos(a)), y: t.map((a) => r * Math.sin(a))};
}

function joinRows(rows) { const out = []; rows.forEach((r) => { out.push(...r, null); }); return out; }

// The dense layers that change on every slider move (the field's arrows, the batch, nullclines, the rho(J) = 0
// contour, the ring and pole circles) are polylines traced by the server and stroked on ONE canvas under the
// Plotly plot: Plotly's SVG took 100-200 ms per redraw for their ~10^4 points on the 2-core machine. Plotly
// keeps the axes, the equilibria and the clicked trajectory. X.layers is exactly what the canvas shows.
function canvasLayers(p) {
  const L = [{name: "field", ...p.arrows, color: "#b0b0b0", width: 1},
             {name: "rho(J) = 0", ...p.rho_zero, color: "#d62728", width: 2, dash: [2, 3]}];
  p.nullclines.forEach((c, k) => L.push({name: k === 0 ? "dy1/dt = 0" : "dy2/dt = 0", ...c,
                                         color: k === 0 ? "#2ca02c" : "#9467bd", width: 1.5}));
  if (p.ring_radius > 0) L.push({name: `antisym ring sqrt(theta^2 - leak/kappa) = ${p.ring_radius.toFixed(4)}`,
                                 ...circle(p.ring_radius), color: "#1f77b4", width: 2, dash: [6, 4]});
  if (p.pole_radius !== null) L.push({name: `gain pole |y| = ${p.pole_radius.toFixed(4)}`, ...circle(p.pole_radius),
                                      color: "#ff7f0e", width: 2, dash: [2, 3]});
  L.push({name: `batch (${p.final_norm.length})`, x: joinRows(p.x), y: joinRows(p.y), color: "rgba(31,119,180,0.55)", width: 1});
  return L;
}

function drawCanvas(layers) {
  const gd = $("plane"), fl = gd._fullLayout, cv = $("plane-canvas");
  if (!fl || !fl.xaxis || !fl.xaxis._length) return;
  const dpr = window.devicePixelRatio || 1, W = gd.clientWidth, H = gd.clientHeight;
  if (cv.width !== Math.round(W * dpr) || cv.height !== Math.round(H * dpr)) {
    cv.width = Math.round(W * dpr); cv.height = Math.round(H * dpr); cv.style.width = `${W}px`; cv.style.height = `${H}px`;
  }
  const ctx = cv.getContext("2d"), xa = fl.xaxis, ya = fl.yaxis;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  ctx.save();
  ctx.beginPath(); ctx.rect(xa._offset, ya._offset, xa._length, ya._length); ctx.clip();
  for (const l of layers) {
    ctx.beginPath();
    let pen = false;
    for (let k = 0; k < l.x.length; k++) {
      const x = l.x[k], y = l.y[k];
      if (x === null || y === null) { pen = false; continue; }
      const px = xa._offset + xa.l2p(x), py = ya._offset + ya.l2p(y);
      if (pen) ctx.lineTo(px, py); else ctx.moveTo(px, py);
      pen = true;
    }
    ctx.strokeStyle = l.color; ctx.lineWidth = l.width; ctx.setLineDash(l.dash || []);
    ctx.stroke();
  }
  ctx.restore();
}

function plotlyTraces() {  // the sparse layers Plotly draws: the clicked trajectory and the equilibria
  const tr = [];
  if (X.lastTrajectory) {
    const q = X.lastTrajectory;
    tr.push({type: "scatter", mode: "lines", name: `clicked: |y(t1)| = ${q.final_norm.toFixed(6)}`, x: q.x, y: q.y,
             line: {color: "#000", width: 2.5}});
  }
  if (X.equilibria) {
    for (const [kind, sym] of [["stable", "circle"], ["unstable", "circle-open"], ["saddle", "x"], ["non-hyperbolic", "diamond-open"]]) {
      const pts = X.equilibria.filter((e) => (kind === "saddle" ? e.kind === "saddle" : kind === "non-hyperbolic" ? e.kind === kind
        : e.kind.startsWith(kind)));
      if (pts.length) tr.push({type: "scatter", mode: "markers", name: `equilibria: ${kind}`, x: pts.map((e) => e.u),
        y: pts.map((e) => e.v), text: pts.map((e) => e.kind), marker: {symbol: sym, size: 11, color: "#d62728", line: {width: 2}}});
    }
  }
  return tr;
}

function planeLayout(p) {
  const e = p.spec.extent;
  return {margin: {l: 45, r: 10, t: 30, b: 40}, dragmode: false, hovermode: "closest", showlegend: false,
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",  // the canvas underneath shows through
    title: {text: `${p.operator.name} (d = ${p.dim}): ${p.status}`, font: {size: 13}, x: 0.05, xanchor: "left"},
    xaxis: {range: [-e, e], title: {text: p.dim === 2 ? "y1" : `u (plane: ${p.plane})`, font: {size: 11}}, zeroline: false},
    yaxis: {range: [-e, e], title: {text: p.dim === 2 ? "y2" : "v"}, scaleanchor: "x", zeroline: false}};
}

async function drawPlane(p) {  // Plotly redraws only when its own part changed; the canvas always
  const layout = planeLayout(p), traces = plotlyTraces();
  const key = JSON.stringify(layout), gd = $("plane");
  if (key !== X.layoutKey || X.plotlyEq !== X.equilibria || X.plotlyTr !== X.lastTrajectory || !gd._fullLayout) {
    await Plotly.react(gd, traces, layout, {displaylogo: false, responsive: true, displayModeBar: false});
    X.layoutKey = key; X.plotlyEq = X.equilibria; X.plotlyTr = X.lastTrajectory;
  }
  X.layers = canvasLayers(p);
  drawCanvas(X.layers);
  legend([...X.layers, ...traces]);
}

function legend(layers) {  // an HTML legend for canvas and Plotly layers alike
  const seen = new Set(), parts = [];
  for (const t of layers) {
    if (seen.has(t.name)) continue;
    seen.add(t.name);
    const c = t.color || (t.line && t.line.color) || (t.marker && t.marker.color) || "#000";
    const dash = t.dash || (t.line && t.line.dash) ? "dashed" : "solid";
    parts.push(`<span class="key"><i style="border-top: 3px ${dash} ${c}"></i>${t.name}</span>`);
  }
  $("legend").innerHTML = parts.join(" ");
}

function setStale(stale) { $("plane").classList.toggle("stale", stale); }

async function refresh(t0) {  // coalesced: at most one portrait request in flight; the latest values win
  if (X.busy) { X.pending = t0; return; }
  X.busy = true; $("status").textContent = "computing...";
  const body = collect(), trained = X.trainedNull;
  try {
    const tSend = performance.now(), p = await api("portrait", body), tGot = performance.now();
    if (!p.ok) {
      showMessages([{level: "error", kind: "input", text: p.error}]); setStale(true);
      $("status").textContent = "error (the plot shows the last valid view)";
    } else {
      X.last = p; X.lastBody = body;  // the side panels describe exactly this view
      if (trained) { X.trainedNull = false; setValues({gamma: p.params.gamma, beta: p.params.beta}); }
      X.lastTrajectory = null;
      showMessages(p.messages); setStale(false);
      await drawPlane(p);
      await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
      const tDone = performance.now();
      X.timings.push({total_ms: tDone - t0, server_ms: p.compute_ms, fetch_ms: tGot - tSend, render_ms: tDone - tGot,
                      status: p.status});
      $("command").textContent = p.command;
      $("params-json").textContent = JSON.stringify({spec: p.spec, params: p.params, operator: p.operator}, null, 1);
      $("status").textContent = `${p.status}: drawn in ${(tDone - t0).toFixed(0)} ms (server ${p.compute_ms.toFixed(0)} ms)`;
      X.drawn = (X.drawn || 0) + 1;
      scheduleSide();
    }
  } catch (err) {
    showMessages([{level: "error", kind: "network", text: `no answer from the server: ${err}`}]);
  } finally {
    X.busy = false;
    if (X.pending !== null) { const t = X.pending; X.pending = null; refresh(t); }
  }
}

let sideTimer = null;
function scheduleSide() { clearTimeout(sideTimer); sideTimer = setTimeout(side, 120); }

async function side() {  // equilibria, the Jacobian at the selected point, Fig. 4, the last trajectory
  const body = {...X.lastBody}, seq = X.drawn;
  if (X.point) body.point = X.point;
  const a = await api("analysis", body);
  if (seq !== X.drawn) return;  // a newer view was drawn meanwhile
  if (!a.ok) { $("fig4-text").textContent = a.error; return; }
  X.equilibria = a.equilibria;
  drawFig4(a.test);
  if (a.stability) drawEig(a.stability);
  if (X.point) await clickTrajectory(X.point, false); else if (X.last) await drawPlane(X.last);
  X.sideDone = seq;
}

function drawEig(s) {
  const ev = s.eigenvalues;
  Plotly.react($("eig"), [{type: "scatter", mode: "markers", x: ev.map((z) => z[0]), y: ev.map((z) => z[1]),
    marker: {size: 9, color: s.verdict === "contracting" ? "#2ca02c" : s.verdict === "expanding" ? "#d62728" : "#888"}}],
    {margin: {l: 40, r: 10, t: 26, b: 30}, title: {text: `eig J at (${s.point.map((q) => q.toFixed(3)).join(", ")})`, font: {size: 12}},
     xaxis: {title: {text: "Re"}, zeroline: true, zerolinecolor: "#d62728"}, yaxis: {title: {text: "Im"}}, showlegend: false},
    SMALL_CFG);
  $("eig-text").textContent = s.text;
}

function drawFig4(t) {
  const tr = [{type: "scatter", mode: "lines", name: "small gain r_e = 1", x: t.plane_beta, y: t.small_gain_boundary, line: {color: "#1f77b4"}},
              {type: "scatter", mode: "lines", name: "exact rho = 0", x: t.plane_beta, y: t.exact_boundary, line: {color: "#d62728", dash: "dash"}},
              {type: "scatter", mode: "markers", name: "now", x: [t.beta], y: [t.wr_norm],
               marker: {size: 12, color: t.ok ? (t.check.stable ? "#2ca02c" : "#d62728") : "#888", symbol: "star"}}];
  Plotly.react($("fig4"), tr, {margin: {l: 40, r: 10, t: 26, b: 30}, title: {text: `Fig. 4 plane at |y| = R = ${t.radius.toFixed(3)}`, font: {size: 12}},
    xaxis: {title: {text: "beta"}}, yaxis: {title: {text: "|W*|_2"}, range: [0, Math.max(3, 1.5 * t.wr_norm)]},
    legend: {font: {size: 9}}}, SMALL_CFG);
  $("fig4-text").textContent = `R: ${t.radius_from}. ${t.text}`;
}

async function clickTrajectory(point, select = true) {
  if (select) X.point = point;
  const body = collect(), seq = (X.clickSeq = (X.clickSeq || 0) + 1);
  body.point = point;
  const q = await api("trajectory", body);
  if (seq !== X.clickSeq) return;  // a newer click (or redraw) asked meanwhile: drop this stale answer
  if (!q.ok) { showMessages([{level: "error", kind: "input", text: q.error}]); return; }
  X.lastTrajectory = q;
  $("command-click").textContent = q.command;
  $("command-click").hidden = $("command-click-label").hidden = false;
  if (q.messages.length) showMessages(q.messages);
  drawEig(q.stability);
  Plotly.react($("vt"), [{type: "scatter", mode: "lines", x: q.t, y: q.V, line: {color: "#000"}}],
    {margin: {l: 45, r: 10, t: 26, b: 30}, title: {text: "V(t) = (|y|^2 - theta^2)^2 / 4, last trajectory", font: {size: 12}},
     xaxis: {title: {text: "t"}}, yaxis: {type: "log", exponentformat: "power"}}, SMALL_CFG);
  if (X.last) await drawPlane(X.last);
  X.trajectories = (X.trajectories || 0) + 1;
}

function bifLabel() { $("bif-btn").textContent = `bifurcation diagram: ${X.moved}`; }

function runs(b) {  // a branch cut into pieces of one stability (the joints shared): solid stable, dashed not
  const out = [];
  for (let k = 0; k < b.p.length; k++) {
    const s = b.stability[k], last = out.at(-1);
    if (!last || last.s !== s) { out.push({s, x: last ? [last.x.at(-1)] : [], y: last ? [last.y.at(-1)] : []}); }
    out.at(-1).x.push(b.p[k]); out.at(-1).y.push(b.norm[k]);
  }
  return out;
}

async function bifurcation() {  // continuation of the equilibria over the moved slider's range (server)
  const body = collect(), param = X.moved, seq = (X.bifSeq = (X.bifSeq || 0) + 1);
  body.param = param;
  $("bif-text").textContent = `continuing the equilibria over ${param} (a few seconds)...`;
  const b = await api("continuation", body);
  if (seq !== X.bifSeq) return;  // a newer request was made meanwhile: drop this answer
  if (!b.ok) { $("bif-text").textContent = b.error; return; }
  X.continuation = b;
  const top = Math.max(1, ...b.branches.flatMap((br) => br.norm.filter((v) => v !== null)));
  const dash = {stable: "solid", unstable: "dash", neutral: "dot"};
  const tr = [];
  for (const br of b.branches) for (const r of runs(br)) tr.push({type: "scatter", mode: "lines", x: r.x, y: r.y,
    name: r.s, line: {color: r.s === "stable" ? "#1f77b4" : "#d62728", dash: dash[r.s] || "dot", width: 2}, hoverinfo: "x+y+name"});
  tr.push({type: "scatter", mode: "markers+text", name: "special points", x: b.special.map((q) => q.p),
           y: b.special.map((q) => q.norm), text: b.special.map((q) => q.kind), textposition: "top center",
           hovertext: b.special.map((q) => `${q.kind} at ${param} = ${q.p.toPrecision(8)}`), hoverinfo: "text",
           marker: {symbol: "diamond", size: 10, color: "#000"}});
  Plotly.react($("bif"), tr, {margin: {l: 40, r: 10, t: 26, b: 30}, showlegend: false,
    title: {text: `|x*| vs ${param}: solid stable, dashed unstable`, font: {size: 12}},
    xaxis: {title: {text: param}, range: b.range}, yaxis: {title: {text: "|x*|"}, range: [-0.05 * top, 1.1 * top]},
    shapes: [{type: "line", x0: b.current, x1: b.current, yref: "paper", y0: 0, y1: 1, line: {dash: "dot", color: "#888"}}]},
    SMALL_CFG);
  const sp = b.special.map((q) => `${q.kind} at ${param} = ${q.p.toPrecision(6)}`).join(", ") || "no special points";
  $("bif-text").textContent = `${b.note}; ${sp}`;
  X.bifDone = seq;
}

function planeClick(ev) {  // a click anywhere on the plot area -> plane coordinates
  const gd = $("plane"), fl = gd._fullLayout, drag = gd.querySelector(".nsewdrag");
  if (!fl || !drag) return;
  const bb = drag.getBoundingClientRect();
  const u = fl.xaxis.p2l(ev.clientX - bb.left), v = fl.yaxis.p2l(ev.clientY - bb.top);
  clickTrajectory([u, v]);
}

function download(format, save = true) {  // the whole view (canvas layers as Plotly traces) as one PNG/SVG figure
  if (!X.last) return null;
  const dash = (l) => (l.dash ? (l.dash[0] > 4 ? "dash" : "dot") : "solid");
  const data = [...X.layers.map((l) => ({type: "scatter", mode: "lines", name: l.name, x: l.x, y: l.y,
                                        line: {color: l.color, width: l.width, dash: dash(l)}})), ...plotlyTraces()];
  const layout = {...planeLayout(X.last), paper_bgcolor: "#fff", plot_bgcolor: "#fff", showlegend: true,
                  legend: {font: {size: 10}, bgcolor: "rgba(255,255,255,0.8)"}};
  return Plotly.toImage({data, layout}, {format, width: 900, height: 800}).then((url) => {
    if (save) { const a = document.createElement("a"); a.href = url; a.download = `fhrn-explore.${format}`; a.click(); }
    return url;
  });
}

function init() {
  buildSliders();
  api("defaults", {}).then((d) => {
    setValues(d.defaults);
    const q = Object.fromEntries(new URLSearchParams(location.search));
    setValues(q);
    if (q.wr && !["antisym", "sym", "mixed", "random"].includes(q.wr)) X.trainedNull = true;
    refresh(performance.now());
  });
  $("wr-kind").addEventListener("change", () => {
    const other = $("wr-kind").value === "other";
    $("wr-path").disabled = !other;
    if (!other) refresh(performance.now());
  });
  $("wr-path").addEventListener("change", () => { X.trainedNull = true; refresh(performance.now()); });
  for (const k of TEXT_KEYS) $(k).addEventListener("change", () => refresh(performance.now()));
  $("memory").addEventListener("change", () => refresh(performance.now()));
  $("plane").addEventListener("click", planeClick);
  let resizeTimer = null;  // Plotly resizes the plot with the window (responsive); the canvas follows it
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => X.layers && drawCanvas(X.layers), 150); });
  $("png").addEventListener("click", () => download("png"));
  $("svg").addEventListener("click", () => download("svg"));
  $("bif-btn").addEventListener("click", bifurcation);
  $("json-dl").addEventListener("click", () => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([$("params-json").textContent], {type: "application/json"}));
    a.download = "fhrn-explore.json"; a.click();
  });
}
window.__exploreDownload = download;  // the export, for the browser tests
window.addEventListener("error", (e) => X.errors.push(String(e.message)));
init();
