"""The page of ``--viz FILE.html``: its template, style and script, put inline by
:func:`poolcli.render.page.render_page` (the page fetches nothing)."""

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{TITLE}}</title>
<style>
{{STYLE}}
</style>
</head>
<body>
<h1 id="title"></h1>
<p class="help">Point at an output cell, or use the arrow keys (Home, End) to step through
the windows: the window's cells light up on the input and the arithmetic appears below.</p>
<div id="grids"></div>
<p id="arithmetic" aria-live="polite"></p>
<p class="legend"><span class="key hl"></span> a cell the window reads
<span class="key win"></span> the winner
<span class="key pad"></span> padding (holds no value)
<span class="key ceil"></span> only there through ceil mode (never counted)
<span class="key unused"></span> in no window (never read)</p>
<script type="application/json" id="data">{{DATA}}</script>
<script>
{{SCRIPT}}
</script>
</body>
</html>
"""

STYLE = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px; color: #141414; }
h1 { font-size: 18px; font-weight: normal; white-space: pre-line; }
.help, .legend { color: #6e6e6e; font-size: 14px; max-width: 60em; }
#grids { display: flex; gap: 48px; align-items: flex-start; flex-wrap: wrap; }
#grids figure { margin: 0; }
#grids figcaption { text-align: center; font-size: 14px; margin-bottom: 6px; }
#arithmetic { font-size: 20px; min-height: 1.5em; font-family: "DejaVu Sans Mono", monospace; }
svg text { font-size: 16px; pointer-events: none; }
rect.cell { stroke: #1e1e1e; stroke-width: 1; }
rect.ring { fill: #eeeeee; stroke: #c8c8c8; }
rect.ring.ceilcell { fill: #ffffff; stroke-dasharray: 2 3; }
rect.mark { fill: none; stroke-width: 4; pointer-events: none; }
rect.mark.hl { stroke: #ff00a0; }
rect.mark.win { stroke: #ff00a0; stroke-width: 8; }
rect.mark.pad { stroke: #ff8c00; stroke-dasharray: 6 4; }
rect.mark.ceil { stroke: #787878; stroke-dasharray: 2 3; }
rect.out { cursor: pointer; }
rect.mark.current { stroke: #ff00a0; stroke-width: 6; }
.key { display: inline-block; width: 14px; height: 14px; margin: 0 4px 0 16px;
       vertical-align: middle; border: 3px solid #ff00a0; }
.key.win { border-width: 5px; }
.key.pad { border: 3px dashed #ff8c00; }
.key.ceil { border: 3px dotted #787878; }
.key.unused { border: 1px solid #c8c8c8; background: #ffffff;
              background-image: repeating-linear-gradient(45deg, #c8c8c8 0 2px, #ffffff 2px 6px); }
rect.unused { fill: url(#unused-hatch); pointer-events: none; }
"""

SCRIPT = r"""
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("data").textContent);
  const NS = "http://www.w3.org/2000/svg";
  const CELL = 56;
  const ring = data.input.ring;  // padding cells: left, top, right, bottom
  let current = 0;
  document.getElementById("title").textContent = data.title;

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    if (parent) parent.appendChild(node);
    return node;
  }

  function figure(caption, cols, rows) {
    const fig = document.createElement("figure");
    const cap = document.createElement("figcaption");
    cap.textContent = caption;
    fig.appendChild(cap);
    const svg = el("svg", {width: cols * CELL + 2, height: rows * CELL + 2});
    fig.appendChild(svg);
    document.getElementById("grids").appendChild(fig);
    return svg;
  }

  function drawCells(svg, grid, dx, dy, kind) {
    const unused = new Set((grid.unused || []).map(([r, c]) => r + "," + c));
    for (const [r, c, text, fill, ink] of grid.cells) {
      const x = 1 + (c + dx) * CELL, y = 1 + (r + dy) * CELL;
      const rect = el("rect", {x: x, y: y, width: CELL, height: CELL, fill: fill,
                               "class": "cell " + kind, "data-r": r, "data-c": c}, svg);
      if (unused.has(r + "," + c)) {  // under the value, which stays legible
        el("rect", {x: x, y: y, width: CELL, height: CELL, "class": "unused",
                    "data-r": r, "data-c": c}, svg);
      }
      const label = el("text", {x: x + CELL / 2, y: y + CELL / 2 + 6, fill: ink,
                                "text-anchor": "middle"}, svg);
      label.textContent = text;
      if (unused.has(r + "," + c)) {  // a halo of the cell's colour keeps it off the stripes
        label.setAttribute("stroke", fill);
        label.setAttribute("stroke-width", 4);
        label.setAttribute("paint-order", "stroke");
      }
      if (kind === "out") {
        rect.addEventListener("mouseenter", () => show(indexOf(r, c)));
        rect.addEventListener("click", () => show(indexOf(r, c)));
      }
    }
  }

  function drawRing(svg) {
    const rows = data.input.rows + ring[1] + ring[3], cols = data.input.cols + ring[0] + ring[2];
    const lastRow = data.input.rows + ring[1] + ring[3] - data.ceil_rows;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const inside = r >= ring[1] && r < ring[1] + data.input.rows &&
                       c >= ring[0] && c < ring[0] + data.input.cols;
        if (inside) continue;
        const ceil = r >= lastRow || c >= cols - data.ceil_cols;
        el("rect", {x: 1 + c * CELL, y: 1 + r * CELL, width: CELL, height: CELL,
                    "class": "ring" + (ceil ? " ceilcell" : "")}, svg);
      }
    }
  }

  // Cells no window reads are veiled with white stripes (drawn with the cells).
  function hatchPattern(svg) {
    const defs = el("defs", {}, svg);
    const pattern = el("pattern", {id: "unused-hatch", width: 8, height: 8,
                                   patternUnits: "userSpaceOnUse",
                                   patternTransform: "rotate(45)"}, defs);
    el("rect", {width: 4, height: 8, fill: "#ffffff", "fill-opacity": 0.6}, pattern);
  }

  function indexOf(r, c) {
    return data.steps.findIndex((s) => s.pos[0] === r && s.pos[1] === c);
  }

  const rowsIn = data.input.rows + ring[1] + ring[3];
  const colsIn = data.input.cols + ring[0] + ring[2];
  const inputSvg = figure(data.input.caption, colsIn, rowsIn);
  inputSvg.id = "input";
  hatchPattern(inputSvg);
  drawRing(inputSvg);
  drawCells(inputSvg, data.input, ring[0], ring[1], "in");
  const outputSvg = figure(data.output.caption, data.output.cols, data.output.rows);
  outputSvg.id = "output";
  drawCells(outputSvg, data.output, 0, 0, "out");
  const marks = el("g", {id: "marks"}, inputSvg);
  const outMarks = el("g", {id: "out-marks"}, outputSvg);

  function mark(group, r, c, cls) {
    el("rect", {x: 3 + c * CELL, y: 3 + r * CELL, width: CELL - 4, height: CELL - 4,
                "class": "mark " + cls, "data-r": r, "data-c": c}, group);
  }

  function show(k) {
    if (k < 0 || k >= data.steps.length) return;
    current = k;
    const step = data.steps[k];
    marks.replaceChildren();
    outMarks.replaceChildren();
    for (const [r, c, kind] of step.cells) {
      const won = step.winner && step.winner[0] === r && step.winner[1] === c;
      const cls = kind === "in" ? (won ? "win" : "hl") : kind;
      mark(marks, r + ring[1], c + ring[0], cls);
    }
    mark(outMarks, step.pos[0], step.pos[1], "current");
    document.getElementById("arithmetic").textContent =
      "window " + (k + 1) + " of " + data.steps.length + ", " + step.caption;
  }

  document.addEventListener("keydown", (event) => {
    const cols = data.output.cols;
    const moves = {ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols};
    if (event.key in moves) {
      const next = current + moves[event.key];
      if (next >= 0 && next < data.steps.length) show(next);
      event.preventDefault();
    } else if (event.key === "Home") {
      show(0);
    } else if (event.key === "End") {
      show(data.steps.length - 1);
    }
  });
  show(0);
})();
"""
